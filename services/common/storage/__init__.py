"""Storage for Shoal services: one async interface, SQLite or PostgreSQL.

    db = await open_database(settings.database_for("identity"), "identity", MIGRATIONS,
                             pool_min=settings.pool_min, pool_max=settings.pool_max)
    await db.execute("INSERT INTO users (id, name) VALUES ($1, $2)", uid, name)
    row = await db.fetchrow("SELECT name FROM users WHERE id = $1", uid)
    async with db.transaction() as tx:
        await tx.execute(...)
        await tx.execute(...)
    await db.close()

Which backend: a URL starting `postgresql://` or `postgres://` is PostgreSQL
(asyncpg); `sqlite:///abs/path` or any plain path is a SQLite file; any other
`scheme://` is refused rather than taken for a file name.

Writing SQL that runs on both
-----------------------------
Queries are written once, in PostgreSQL style, and are run unchanged on
PostgreSQL; SQLite only gets `$n` renamed to `?n`. So keep to what both
understand:

- Placeholders `$1`, `$2`, ... numbered from 1; one may repeat (`$1` twice).
  Never format values into SQL. One statement per call (no `a; b`).
- Column types: `BIGINT` / `INTEGER` (int), `TEXT` (str), `BOOLEAN` (bool),
  `DOUBLE PRECISION` (float), `BYTEA` (bytes). Store JSON as TEXT and times as
  DOUBLE PRECISION epoch seconds or ISO-8601 TEXT made by the application
  (no `now()`, TIMESTAMP, JSONB, arrays, enums, SERIAL).
- Pass Python values of the column's type: PostgreSQL is strict (a str for
  a BIGINT column is an error there), SQLite is not — tests on both catch it.
- Ids: prefer ids the application makes (uuid4, secrets.token_hex). Counters
  that must be sequential: `UPDATE counters SET value = value + 1
  WHERE name = $1 RETURNING value` (atomic on both). `INSERT ... RETURNING`
  and `UPDATE/DELETE ... RETURNING` work on both. There is no auto-increment
  column type common to both (SQLite `INTEGER PRIMARY KEY` vs PostgreSQL
  `GENERATED ... AS IDENTITY`), so do not use one.
- Upserts: `INSERT ... ON CONFLICT (col) DO UPDATE SET x = excluded.x` or
  `ON CONFLICT DO NOTHING` — both. (Not `MERGE`, not `INSERT OR REPLACE`.)
- Casts: `CAST(x AS BIGINT)`, never `x::bigint`. Booleans: `TRUE`/`FALSE`.
  Strings: `||` concatenates; `LIKE` is case-insensitive for ASCII on SQLite
  but case-sensitive on PostgreSQL — compare `lower(x)` when it matters; no
  `ILIKE`. `LIMIT n OFFSET m`, `COALESCE`, `COUNT/MAX/MIN/SUM`, `EXISTS`,
  `CASE`, `IN (...)` and CTEs are fine.
- A BOOLEAN column comes back as bool on both; an expression that computes a
  boolean (`SELECT a = b`) comes back as 0/1 on SQLite — compare truthily.
- DDL (in migrations): `CREATE TABLE`, `CREATE [UNIQUE] INDEX`,
  `ADD COLUMN`, `DROP TABLE/INDEX` and `REFERENCES ... ON DELETE CASCADE` work
  on both; most other `ALTER TABLE` forms do not exist in SQLite — create a
  new table, copy, drop, rename instead. DDL is transactional on both.
- Concurrency: SQLite runs one transaction at a time (serializable);
  PostgreSQL runs them concurrently at READ COMMITTED. For read-modify-write,
  use one atomic `UPDATE ... SET x = x + 1` or a conditional
  `UPDATE ... WHERE revision = $n` and check the rows affected (no
  `SELECT ... FOR UPDATE`: SQLite lacks it).

Durability: SQLite runs in WAL mode with `synchronous=FULL`, so a write is on
disk before its call returns (survives SIGKILL and power loss; see sqlite.py).
PostgreSQL commits are durable by the server's own settings.

SQLite runs every call on one worker thread, one at a time; a cancelled call
still finishes there (inside a transaction it is then rolled back).

Tests: `open_database(url, ..., schema="t_1234")` puts every PostgreSQL
connection's search_path on that schema (created if missing), so a test can
use a fresh schema and drop it afterwards (see tests/unit/test_storage.py).

Errors: `UniqueViolation` (and `ForeignKeyViolation`, `IntegrityError`, all
`StorageError`s) on both. A failed statement ends its transaction on both
backends (`TransactionAborted`); use `ON CONFLICT DO NOTHING` rather than
catching a violation mid-transaction.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from .base import Database, Migration, Row, Transaction
from .errors import (
    DatabaseFileError,
    ForeignKeyViolation,
    IntegrityError,
    SchemaTooNewError,
    StorageError,
    TransactionAborted,
    UniqueViolation,
)
from .migrations import apply_migrations
from .sqlite import SQLiteDatabase

__all__ = [
    "Database",
    "DatabaseFileError",
    "ForeignKeyViolation",
    "IntegrityError",
    "Migration",
    "Row",
    "SchemaTooNewError",
    "StorageError",
    "Transaction",
    "TransactionAborted",
    "UniqueViolation",
    "is_postgres_url",
    "open_database",
]

_PG_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(url_or_path: str | os.PathLike[str]) -> bool:
    """True when `url_or_path` names a PostgreSQL database."""
    return str(url_or_path).startswith(_PG_SCHEMES)


def _sqlite_path(url_or_path: str) -> str:
    if url_or_path.startswith("sqlite://"):
        return url_or_path[len("sqlite://"):]  # sqlite:///abs/path -> /abs/path
    if "://" in url_or_path:
        scheme = url_or_path.split("://", 1)[0]
        raise ValueError(
            f"unsupported database URL scheme {scheme!r}: use postgresql://... for "
            f"PostgreSQL, or a file path for SQLite"
        )
    return url_or_path


async def open_database(
    url_or_path: str | os.PathLike[str],
    service_name: str,
    migrations: Sequence[Migration],
    pool_min: int = 1,
    pool_max: int = 5,
    *,
    schema: str | None = None,
) -> Database:
    """Open `service_name`'s database and bring its schema up to date.

    `url_or_path`: `postgresql://…` / `postgres://…` → PostgreSQL with a pool
    of `pool_min`..`pool_max` connections (`schema` then selects, and creates
    if missing, the schema to use as search_path); otherwise a SQLite file
    (made on first use, mode 0600; `pool_*` and `schema` are ignored). A
    SQLite file is created only when it is absent: an existing file that is
    not a valid database (0 bytes, another kind of file, a damaged header)
    raises `DatabaseFileError` naming it, and is left untouched.

    Raises `SchemaTooNewError` when the database is at a newer version than
    the newest of `migrations`, and `StorageError` when it cannot be opened
    or a migration fails (the schema is then left as it was).
    """
    if not service_name:
        raise ValueError("service_name is required")
    target = os.fspath(url_or_path)
    db: Database
    if is_postgres_url(target):
        # Imported here, not at the top, on purpose: only a PostgreSQL user
        # loads asyncpg (about 3 MB), so a plan agent on SQLite never does.
        from .postgres import PostgresDatabase

        db = await PostgresDatabase.connect(target, service_name, pool_min, pool_max, schema)
    else:
        db = await SQLiteDatabase.connect(_sqlite_path(target), service_name)
    try:
        await apply_migrations(db, service_name, migrations)
    except BaseException:
        await db.close()
        raise
    return db
