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
- The file is created mode 0600 (SQLite gives its -wal/-shm files the same),
  and only when it is absent: it is made beside its final name as a valid,
  empty WAL database and hard-linked into place, so no process ever opens a
  half-made file. An existing file must be a SQLite database: a 0-byte file,
  any other kind of file or a damaged header is a `DatabaseFileError` naming
  it (SQLite itself would take a 0-byte file for an empty database, and the
  service would go on with every row lost).

Columns declared BOOLEAN come back as Python bools, as on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from services.common.fsutil import fsync_directory

from .base import Database, Kind, Row, Transaction
from .errors import (
    DatabaseFileError,
    ForeignKeyViolation,
    IntegrityError,
    StorageError,
    UniqueViolation,
)
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


HEADER = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite database file
HEADER_SIZE = 100
_NOT_A_DATABASE = ("SQLITE_NOTADB", "SQLITE_CORRUPT")  # what SQLite says of a damaged file


def _check_existing(path: str) -> None:
    """Raise FileNotFoundError when `path` is absent, DatabaseFileError when
    it exists but does not start as a SQLite database does."""
    with open(path, "rb") as f:
        head = f.read(HEADER_SIZE)
    if not head:
        raise DatabaseFileError(path, "the database file is empty (0 bytes), not a SQLite database")
    if not head.startswith(HEADER):
        raise DatabaseFileError(path, "not a SQLite database (the file does not start with the SQLite header)")
    if len(head) < HEADER_SIZE:
        raise DatabaseFileError(path, f"not a SQLite database (the file is only {len(head)} bytes long)")


def _create(path: str) -> None:
    """A new, valid, empty database at `path` (mode 0600), unless another
    process made one first: built under a temporary name in the same
    directory and hard-linked into place, which never replaces a file."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.new")
    os.close(os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = WAL")  # writes the header (page 1) into the file
        finally:
            conn.close()  # the last connection: the -wal and -shm files go
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, target)
        except FileExistsError:
            return  # another process created it first: that one is used
        fsync_directory(target.parent)
    finally:
        for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            leftover.unlink(missing_ok=True)


def _connect(path: str) -> sqlite3.Connection:
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            _check_existing(path)
        except FileNotFoundError:
            _create(path)
            _check_existing(path)
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
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # reads the header and the schema
    except sqlite3.DatabaseError as error:
        conn.close()
        if getattr(error, "sqlite_errorname", "").startswith(_NOT_A_DATABASE):
            raise DatabaseFileError(path, f"not a usable SQLite database ({error})") from error
        raise _translate(error) from error
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
                    await self._settle(_rollback)
                except StorageError:
                    log.exception("rolling back a failed transaction failed")
                raise
            await self._settle(_commit)

    async def _settle(self, fn: Callable[[sqlite3.Connection], None]) -> None:
        """Run the COMMIT or ROLLBACK that ends a transaction even when the
        caller is cancelled while it waits: a cancelled wait would take a
        statement the worker has not picked up yet off its queue, leaving the
        transaction open on the connection for whoever begins next. The
        worker runs it before anything queued after it."""
        if self._conn is None:
            raise StorageError(f"the {self.service} database is closed")
        await asyncio.shield(asyncio.wrap_future(self._worker.submit(fn, self._conn)))

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        async with self._lock:  # let a running statement or transaction finish
            conn, self._conn = self._conn, None
            if conn is not None:
                await self._in_worker(conn.close)
        self._worker.shutdown(wait=False)  # idle now: the thread exits by itself
