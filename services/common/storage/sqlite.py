"""The SQLite backend: one file per service, one connection, one worker thread.

Every sqlite3 call runs on a single dedicated thread (a one-worker executor),
so the event loop never blocks on disk I/O or on SQLite's busy wait, and the
connection is only ever touched by the thread that made it. Jobs run in the
order they are submitted; an asyncio lock lets one transaction at a time own
the connection (a statement outside a transaction waits for it too, so it can
never slip into someone else's transaction).

Settings (see `_connect`):
- `journal_mode=WAL`: readers and the writer do not block each other, and a
  commit is one append to the `-wal` file.
- `synchronous=FULL`: the WAL is fsync'ed at every commit before the commit
  returns. A commit acknowledged to a caller is therefore on stable storage:
  it survives a SIGKILL of the process and also an OS crash or power cut.
  (`NORMAL` would already survive a SIGKILL in WAL mode — the frames are in
  the kernel's page cache once write() returns — but a power cut could lose
  the last commits, and a control plane that has said "done" must not forget
  it. The price is one fsync per commit; batch writes into one transaction
  where that matters.)
- `foreign_keys=ON` (SQLite's default is off; PostgreSQL always enforces them).
- `busy_timeout=15000`: another process holding the write lock (a second
  replica on the same file, a CLI) makes us wait up to 5 s, not fail at once.
- The file is created mode 0600 (SQLite gives its -wal/-shm files the same).

Columns declared BOOLEAN come back as Python bools, as on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from .base import Database, Kind, Row, Transaction
from .errors import ForeignKeyViolation, IntegrityError, StorageError, UniqueViolation
from .placeholders import to_sqlite

log = logging.getLogger("shoal.storage.sqlite")

T = TypeVar("T")

BUSY_TIMEOUT_MS = 15000
SYNCHRONOUS = "FULL"

sqlite3.register_converter("BOOLEAN", lambda raw: float(raw) != 0)


def _dict_row(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> Row:
    return {column[0]: value for column, value in zip(cursor.description, row)}


def _translate(err: sqlite3.Error) -> StorageError:
    name = getattr(err, "sqlite_errorname", "")
    if name in ("SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"):
        cls: type[StorageError] = UniqueViolation
    elif name == "SQLITE_CONSTRAINT_FOREIGNKEY":
        cls = ForeignKeyViolation
    elif isinstance(err, sqlite3.IntegrityError):
        cls = IntegrityError
    else:
        cls = StorageError
    translated = cls(str(err))
    translated.__cause__ = err
    return translated


def _connect(path: str) -> sqlite3.Connection:
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    conn = sqlite3.connect(
        path,
        isolation_level=None,  # autocommit; transactions are explicit BEGIN IMMEDIATE
        detect_types=sqlite3.PARSE_DECLTYPES,
        timeout=BUSY_TIMEOUT_MS / 1000,
        check_same_thread=True,  # only the worker thread touches it
    )
    try:
        conn.row_factory = _dict_row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = _enter_wal(conn)
        if path != ":memory:" and mode and next(iter(mode.values())) != "wal":
            log.warning("SQLite at %s is not in WAL mode (got %s)", path, mode)
        conn.execute(f"PRAGMA synchronous = {SYNCHRONOUS}")
        conn.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        conn.close()
        raise
    return conn


def _enter_wal(conn: sqlite3.Connection):
    """Switch to WAL. The switch needs the database to itself and SQLite
    reports "locked" at once, without its busy handler, while another
    connection opening the same new file holds it: retry for the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            return conn.execute("PRAGMA journal_mode = WAL").fetchone()
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _run_statement(conn: sqlite3.Connection, kind: Kind, sql: str, args: tuple[Any, ...]) -> Any:
    try:
        cursor = conn.cursor()
        if kind == "fetchval":
            cursor.row_factory = None  # a plain tuple: column 0 even if names repeat
        try:
            cursor.execute(to_sqlite(sql), args)
            if kind == "fetchrow":
                return cursor.fetchone()
            if kind == "fetchval":
                row = cursor.fetchone()
                return None if row is None else row[0]
            rows = cursor.fetchall()  # also steps DML ... RETURNING to the end
            if kind == "fetch":
                return rows
            return cursor.rowcount if cursor.rowcount >= 0 else len(rows)
        finally:
            cursor.close()
    except sqlite3.Error as err:
        raise _translate(err) from err


def _begin(conn: sqlite3.Connection) -> None:
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as err:
        raise _translate(err) from err


def _commit(conn: sqlite3.Connection) -> None:
    try:
        conn.execute("COMMIT")
    except sqlite3.Error as err:
        _rollback(conn)  # e.g. a deferred constraint failed: leave no transaction open
        raise _translate(err) from err


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error as err:
            raise _translate(err) from err


class SQLiteTransaction(Transaction):
    db: SQLiteDatabase

    async def _run(self, kind: Kind, sql: str, args: tuple[Any, ...]) -> Any:
        return await self.db._call(_run_statement, kind, sql, args)


class SQLiteDatabase(Database):
    """A SQLite file. Use `open_database`, which also applies migrations."""

    backend = "sqlite"

    def __init__(self, path: str, service: str):
        super().__init__(service)
        self.path = path
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"sqlite-{service}")
        self._conn: sqlite3.Connection | None = None
        self._lock = asyncio.Lock()  # who owns the connection: one transaction, or one statement

    @classmethod
    async def connect(cls, path: str, service: str) -> SQLiteDatabase:
        db = cls(path, service)
        try:
            db._conn = await db._in_worker(_connect, path)
        except BaseException:
            db._worker.shutdown(wait=False)
            raise
        return db

    async def _in_worker(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._worker, fn, *args)

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run fn(connection, *args) on the worker thread."""
        if self._conn is None:
            raise StorageError(f"the {self.service} database is closed")
        return await self._in_worker(fn, self._conn, *args)

    async def _run(self, kind: Kind, sql: str, args: tuple[Any, ...]) -> Any:
        async with self._lock:
            return await self._call(_run_statement, kind, sql, args)

    @asynccontextmanager
    async def _begin(self) -> AsyncIterator[Transaction]:
        async with self._lock:
            try:
                await self._call(_begin)
            except asyncio.CancelledError:
                # BEGIN may still run on the worker: queue a ROLLBACK behind it.
                if self._conn is not None:
                    self._worker.submit(_rollback, self._conn)
                raise
            tx = SQLiteTransaction(self)
            try:
                yield tx
            except BaseException:
                try:
                    await self._call(_rollback)
                except StorageError:
                    log.exception("rolling back a failed transaction failed")
                raise
            await self._call(_commit)

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        async with self._lock:  # let a running statement or transaction finish
            conn, self._conn = self._conn, None
            if conn is not None:
                await self._in_worker(conn.close)
        self._worker.shutdown(wait=False)  # idle now: the thread exits by itself
