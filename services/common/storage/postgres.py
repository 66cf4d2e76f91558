"""The PostgreSQL backend: an asyncpg pool.

Statements outside a transaction each borrow a pooled connection; a
transaction keeps one connection for its whole `async with` block. Pool
sizes come from `open_database(pool_min=, pool_max=)` (the service reads
SHOAL_DB_POOL_MIN/MAX).

`schema=`: when given, every pooled connection gets `search_path` set to
that one schema (through asyncpg's `server_settings`), and the schema is
created if it is missing. Tests use it to give each test a fresh schema;
deployments may use it to keep a service's tables apart. Without it the
server's own `search_path` applies (normally `public`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import asyncpg

from .base import Database, Kind, Transaction, lock_key
from .errors import ForeignKeyViolation, IntegrityError, StorageError, UniqueViolation

log = logging.getLogger("shoal.storage.postgres")

_SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


@contextmanager
def _translated() -> Iterator[None]:
    """Re-raise asyncpg and connection errors as storage errors."""
    try:
        yield
    except asyncpg.PostgresError as err:
        if isinstance(err, asyncpg.UniqueViolationError):
            cls: type[StorageError] = UniqueViolation
        elif isinstance(err, asyncpg.ForeignKeyViolationError):
            cls = ForeignKeyViolation
        elif isinstance(err, asyncpg.IntegrityConstraintViolationError):
            cls = IntegrityError
        else:
            cls = StorageError
        detail = getattr(err, "detail", None)
        raise cls(f"{err} ({detail})" if detail else str(err)) from err
    except (asyncpg.InterfaceError, OSError) as err:
        raise StorageError(f"PostgreSQL: {err}") from err


def _affected(status: str) -> int:
    """Rows affected, from a command tag such as 'INSERT 0 1' or 'UPDATE 3'."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


async def _run_on(conn: Any, kind: Kind, sql: str, args: tuple[Any, ...]) -> Any:
    """Run on a connection or on the pool (both have asyncpg's query methods)."""
    with _translated():
        if kind == "execute":
            return _affected(await conn.execute(sql, *args))
        if kind == "fetch":
            return [dict(record) for record in await conn.fetch(sql, *args)]
        if kind == "fetchrow":
            record = await conn.fetchrow(sql, *args)
            return None if record is None else dict(record)
        return await conn.fetchval(sql, *args)


class PostgresTransaction(Transaction):
    def __init__(self, db: PostgresDatabase, conn: asyncpg.Connection):
        super().__init__(db)
        self.conn = conn

    async def _run(self, kind: Kind, sql: str, args: tuple[Any, ...]) -> Any:
        return await _run_on(self.conn, kind, sql, args)


class PostgresDatabase(Database):
    """A PostgreSQL database. Use `open_database`, which also applies migrations."""

    backend = "postgresql"

    def __init__(self, pool: asyncpg.Pool, service: str, schema: str | None):
        super().__init__(service)
        self.schema = schema
        self._pool = pool

    @classmethod
    async def connect(
        cls, url: str, service: str, pool_min: int, pool_max: int, schema: str | None
    ) -> PostgresDatabase:
        if schema is not None and not _SCHEMA_NAME.fullmatch(schema):
            raise ValueError(f"schema {schema!r}: use letters, digits and _ only")
        settings = {"search_path": f'"{schema}"'} if schema else None
        try:
            with _translated():
                pool = await asyncpg.create_pool(
                    url, min_size=pool_min, max_size=pool_max, server_settings=settings
                )
        except StorageError as err:
            raise StorageError(f"cannot open the {service} database on PostgreSQL: {err}") from err
        db = cls(pool, service, schema)
        try:
            if schema:
                await db._create_schema(schema)
        except BaseException:
            await db.close()
            raise
        return db

    async def _create_schema(self, schema: str) -> None:
        async with self.transaction() as tx:
            await tx.execute("SELECT pg_advisory_xact_lock($1)", lock_key("shoal:create-schema"))
            exists = await tx.fetchval(
                "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema
            )
            if not exists:
                await tx.execute(f'CREATE SCHEMA "{schema}"')

    async def _run(self, kind: Kind, sql: str, args: tuple[Any, ...]) -> Any:
        return await _run_on(self._pool, kind, sql, args)

    @asynccontextmanager
    async def _begin(self) -> AsyncIterator[Transaction]:
        with _translated():
            conn = await self._pool.acquire()
        try:
            pg_tx = conn.transaction()
            with _translated():
                await pg_tx.start()
            try:
                yield PostgresTransaction(self, conn)
            except BaseException:
                try:
                    with _translated():
                        await pg_tx.rollback()
                except StorageError:
                    log.exception("rolling back a failed transaction failed")
                raise
            with _translated():
                await pg_tx.commit()
        finally:
            await self._pool.release(conn)

    async def _lock_for_migrations(self, tx: Transaction, name: str) -> None:
        """pg_advisory_xact_lock: held until `tx` commits or rolls back, so
        replicas starting together migrate one after the other."""
        await tx.execute("SELECT pg_advisory_xact_lock($1)", lock_key(name))

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        await self._pool.close()
