"""Versioned schema migrations, recorded per service in `schema_migrations`.

Several services may share one PostgreSQL database (several replicas too), so
the table is keyed by service. Applying is:

1. create `schema_migrations` if missing (its own short transaction, under a
   database-wide advisory lock on PostgreSQL so two services bootstrapping
   an empty database do not race on CREATE TABLE);
2. in ONE transaction, under an advisory lock keyed by the service name on
   PostgreSQL (SQLite's BEGIN IMMEDIATE already excludes other writers):
   read the service's version; if it is newer than the newest migration the
   code knows, raise `SchemaTooNewError` (nothing is changed); otherwise run
   every newer migration in order and record each.

A replica that waited on the lock then finds the work done and does nothing.
A failing statement rolls the whole step 2 back: the schema stays as it was.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from .base import Database, Migration
from .errors import SchemaTooNewError

log = logging.getLogger("shoal.storage.migrations")

TABLE = "schema_migrations"

_CREATE_TABLE = f"""CREATE TABLE IF NOT EXISTS {TABLE} (
    service TEXT NOT NULL,
    version INTEGER NOT NULL,
    applied_at TEXT NOT NULL,
    PRIMARY KEY (service, version)
)"""


def check_migrations(migrations: Sequence[Migration]) -> None:
    """Raise ValueError unless versions are positive and strictly increasing
    (TypeError for something that is not a list of Migration)."""
    previous = 0
    for migration in migrations:
        if not isinstance(migration, Migration):
            raise TypeError(f"expected Migration, got {migration!r}")
        if not isinstance(migration.version, int) or migration.version <= previous:
            raise ValueError(
                f"migration versions must be positive and strictly increasing: "
                f"{migration.version!r} after {previous}"
            )
        if isinstance(migration.statements, str):
            raise TypeError(f"migration {migration.version}: statements must be a list of str")
        previous = migration.version


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


async def apply_migrations(db: Database, service: str, migrations: Sequence[Migration]) -> int:
    """Bring `service`'s schema to the newest of `migrations`; return that version."""
    check_migrations(migrations)
    known = migrations[-1].version if migrations else 0

    async with db.transaction() as tx:
        await db._lock_for_migrations(tx, f"shoal:{TABLE}")
        await tx.execute(_CREATE_TABLE)

    async with db.transaction() as tx:
        await db._lock_for_migrations(tx, f"shoal:migrate:{service}")
        current = await tx.fetchval(
            f"SELECT MAX(version) FROM {TABLE} WHERE service = $1", service
        )
        current = int(current or 0)
        if current > known:
            raise SchemaTooNewError(service, current, known)
        for migration in migrations:
            if migration.version <= current:
                continue
            for statement in migration.statements:
                await tx.execute(statement)
            await tx.execute(
                f"INSERT INTO {TABLE} (service, version, applied_at) VALUES ($1, $2, $3)",
                service,
                migration.version,
                _now(),
            )
            log.info("%s: applied schema migration %d", service, migration.version)
    return known
