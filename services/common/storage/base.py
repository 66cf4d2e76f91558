"""The storage interface both backends implement: `Database` and `Transaction`.

The query methods are the same on a database (each call is its own
transaction, committed when it returns) and on a transaction (inside
`async with db.transaction() as tx:`, committed when the block ends normally,
rolled back when it raises).
"""

from __future__ import annotations

import contextvars
import hashlib
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import StorageError, TransactionAborted

Row = dict[str, Any]
Kind = Literal["execute", "fetch", "fetchrow", "fetchval"]


@dataclass(frozen=True)
class Migration:
    """One schema version: the statements that take the schema from the
    previous version to `version`, applied in one transaction together with
    its row in `schema_migrations`. One statement per string (no `;`-joined
    scripts). Versions are positive and strictly increasing in a list;
    once released, a migration is never edited — add a new one instead."""

    version: int
    statements: Sequence[str] = field(default_factory=list)


class Queries(ABC):
    """`execute`, `fetch`, `fetchrow`, `fetchval`: SQL in PostgreSQL style,
    arguments bound to `$1`, `$2`, ... (never formatted into the SQL)."""

    async def execute(self, sql: str, *args: Any) -> int:
        """Run one statement; return how many rows it inserted, updated or
        deleted (for a SELECT: how many rows it returned; DDL: 0)."""
        return await self._query("execute", sql, args)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        """Run one query; return all its rows, each a dict keyed by column name."""
        return await self._query("fetch", sql, args)

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        """The query's first row, or None when it returned none."""
        return await self._query("fetchrow", sql, args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        """The first column of the query's first row, or None when it returned none."""
        return await self._query("fetchval", sql, args)

    @abstractmethod
    async def _query(self, kind: Kind, sql: str, args: tuple[Any, ...]) -> Any:
        """Run `sql` for `kind` of result (backends implement this)."""


# The transaction the current task is inside, so a stray `db.execute` inside
# `async with db.transaction()` is an error rather than a deadlock (SQLite) or
# a write that silently escapes the transaction (PostgreSQL).
_ACTIVE: contextvars.ContextVar[Transaction | None] = contextvars.ContextVar(
    "shoal_storage_transaction", default=None
)


class Transaction(Queries):
    """The query methods, inside one transaction. Only valid inside its
    `async with` block. After a statement in it fails, the transaction is
    dead on both backends: see `TransactionAborted`."""

    def __init__(self, db: Database):
        self.db = db
        self.failed = False
        self.closed = False

    async def _query(self, kind: Kind, sql: str, args: tuple[Any, ...]) -> Any:
        if self.closed:
            raise StorageError("this transaction has ended; use it only inside its `async with`")
        if self.failed:
            raise TransactionAborted(
                "an earlier statement in this transaction failed, so it was rolled back; "
                "leave the `async with db.transaction()` block and start a new one"
            )
        try:
            return await self._run(kind, sql, args)
        except BaseException:
            self.failed = True
            raise

    @abstractmethod
    async def _run(self, kind: Kind, sql: str, args: tuple[Any, ...]) -> Any:
        """Run `sql` on this transaction's connection."""


class Database(Queries):
    """A service's database. Made by `open_database`; `close()` when done."""

    backend: str  # "sqlite" or "postgresql"

    def __init__(self, service: str):
        self.service = service
        self.closed = False

    async def _query(self, kind: Kind, sql: str, args: tuple[Any, ...]) -> Any:
        self._check_usable()
        return await self._run(kind, sql, args)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """`async with db.transaction() as tx:` — the statements run through
        `tx` commit together when the block ends, or not at all if it raises.
        Transactions do not nest. SQLite: BEGIN IMMEDIATE (takes the write
        lock at once, so transactions in this process run one at a time).
        PostgreSQL: a transaction on one pooled connection, READ COMMITTED."""
        self._check_usable()
        async with self._begin() as tx:
            token = _ACTIVE.set(tx)
            try:
                yield tx
                if tx.failed:
                    raise TransactionAborted(
                        "a statement in this transaction failed (and its error was caught), "
                        "so the whole transaction was rolled back"
                    )
            finally:
                tx.closed = True
                _ACTIVE.reset(token)

    def _check_usable(self) -> None:
        if self.closed:
            raise StorageError(f"the {self.service} database is closed")
        active = _ACTIVE.get()
        if active is not None and active.db is self and not active.closed:
            raise StorageError(
                "called the database directly inside `async with db.transaction() as tx`; "
                "use tx.execute/tx.fetch/... so the statement is part of the transaction"
            )

    @abstractmethod
    def _begin(self) -> Any:
        """An async context manager yielding a new `Transaction`: commits when
        its block ends normally, rolls back when it raises."""

    @abstractmethod
    async def _run(self, kind: Kind, sql: str, args: tuple[Any, ...]) -> Any:
        """Run `sql` as a statement of its own (autocommit)."""

    async def _lock_for_migrations(self, tx: Transaction, name: str) -> None:
        """Serialize migrations across processes until `tx` ends. The default
        does nothing: a SQLite transaction already holds the write lock."""

    @abstractmethod
    async def close(self) -> None:
        """Release the connection(s); the database cannot be used afterwards."""


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for `name`, for PostgreSQL advisory locks."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
