"""Each service's database, from its settings: a SQLite file in
`$SHOAL_HOME` by default, or — with `SHOAL_DATABASE_URL` — PostgreSQL, where
every service keeps its tables in its own schema (`shoal_identity`, …; the
prefix is `SHOAL_DATABASE_SCHEMA_PREFIX`), so services sharing one database
never see each other's tables and replicas of one service share theirs."""

from __future__ import annotations

from typing import ClassVar

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


class ServiceStore:
    """A service's tables over its own database; a subclass names the
    service and its migrations and adds the queries."""

    SERVICE: ClassVar[str]
    MIGRATIONS: ClassVar[list[Migration]]

    def __init__(self, db: Database):
        self.db = db

    @classmethod
    async def open(cls, settings: Settings):
        return cls(await open_service_database(settings, cls.SERVICE, cls.MIGRATIONS))

    async def close(self) -> None:
        await self.db.close()
