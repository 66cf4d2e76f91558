"""Each service's database, from its settings: a SQLite file in
`$SHOAL_HOME` by default, or — with `SHOAL_DATABASE_URL` — PostgreSQL, where
every service keeps its tables in its own schema (`shoal_identity`, …; the
prefix is `SHOAL_DATABASE_SCHEMA_PREFIX`), so services sharing one database
never see each other's tables and replicas of one service share theirs."""

from __future__ import annotations

from services.common.config import Settings
from services.common.storage import Database, Migration, open_database


def schema_for(settings: Settings, service: str) -> str | None:
    return f"{settings.schema_prefix}{service}" if settings.database_url else None


async def open_service_database(settings: Settings, service: str, migrations: list[Migration]) -> Database:
    return await open_database(
        settings.database_for(service),
        service,
        migrations,
        pool_min=settings.pool_min,
        pool_max=settings.pool_max,
        schema=schema_for(settings, service),
    )
