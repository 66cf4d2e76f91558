"""The beacon service's tables: beacons (address, encrypted token), the
instances each reported, and aliases. Everything lives in the database, so
replicas sharing one PostgreSQL always agree."""

from __future__ import annotations

import time
from collections.abc import Sequence

from services.beacon.addresses import instance_alias
from services.beacon.agents import Reported
from services.common.database import ServiceStore
from services.common.storage import Migration, Row

BEACON = "beacon"
INSTANCE = "instance"

MIGRATIONS = [
    Migration(
        1,
        [
            (
                "CREATE TABLE beacons (address TEXT PRIMARY KEY, token BYTEA NOT NULL, "
                "creator TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL)"
            ),
            (
                "CREATE TABLE instances (instance_address TEXT PRIMARY KEY, name TEXT NOT NULL, "
                "can_access BOOLEAN NOT NULL, version TEXT NOT NULL, "
                "beacon_address TEXT NOT NULL REFERENCES beacons (address) ON DELETE CASCADE)"
            ),
            "CREATE INDEX instances_beacon ON instances (beacon_address)",
            # An address has at most one alias of each kind; an alias names one address.
            "CREATE TABLE aliases (alias TEXT PRIMARY KEY, address TEXT NOT NULL, kind TEXT NOT NULL)",
            "CREATE UNIQUE INDEX aliases_address_kind ON aliases (address, kind)",
        ],
    )
]


class DuplicateBeacon(Exception):
    pass


class AliasTaken(Exception):
    def __init__(self, alias: str):
        super().__init__(f'alias "{alias}" is already used by another address')
        self.alias = alias


_INSTANCE_COLUMNS = (
    "SELECT i.instance_address, i.name, i.can_access, i.version, i.beacon_address, "
    "COALESCE(a.alias, '') AS alias FROM instances i "
    "LEFT JOIN aliases a ON a.address = i.instance_address AND a.kind = 'instance' "
)


async def _set_alias(tx, address: str, kind: str, alias: str) -> None:
    owner = await tx.fetchrow("SELECT address, kind FROM aliases WHERE alias = $1", alias)
    if owner is not None:
        if owner["address"] == address and owner["kind"] == kind:
            return
        raise AliasTaken(alias)
    await tx.execute("DELETE FROM aliases WHERE address = $1 AND kind = $2", address, kind)
    if not await tx.execute(
        "INSERT INTO aliases (alias, address, kind) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        alias, address, kind,
    ):
        raise AliasTaken(alias)


async def _record(tx, beacon_address: str, reported: Sequence[Reported]) -> None:
    for item in reported:
        # An instance already reported by another beacon stays with that one.
        await tx.execute(
            "INSERT INTO instances (instance_address, name, can_access, version, beacon_address) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (instance_address) DO UPDATE SET "
            "name = excluded.name, can_access = excluded.can_access, version = excluded.version "
            "WHERE instances.beacon_address = excluded.beacon_address",
            item.address, item.name, item.can_access, item.version, beacon_address,
        )
    seen = [item.address for item in reported]
    placeholders = ", ".join(f"${n}" for n in range(2, len(seen) + 2))
    vanished = f" AND instance_address NOT IN ({placeholders})" if seen else ""
    await tx.execute(
        f"UPDATE instances SET can_access = FALSE WHERE beacon_address = $1{vanished}", beacon_address, *seen
    )
    beacon_alias = await tx.fetchval(
        "SELECT alias FROM aliases WHERE address = $1 AND kind = 'beacon'", beacon_address
    )
    if not beacon_alias:
        return
    for item in reported:
        alias = instance_alias(beacon_alias, item.name)
        if alias is None:
            continue
        # Only a first alias: one a user set since is kept; a taken one is skipped.
        await tx.execute(
            "INSERT INTO aliases (alias, address, kind) "
            "SELECT $1, $2, 'instance' WHERE EXISTS "
            "(SELECT 1 FROM instances WHERE instance_address = $2 AND beacon_address = $3) "
            "ON CONFLICT DO NOTHING",
            alias, item.address, beacon_address,
        )


class BeaconStore(ServiceStore):
    SERVICE = "beacon"
    MIGRATIONS = MIGRATIONS

    # -- reads ----------------------------------------------------------------
    async def resolve(self, host: str) -> str:
        """The address an alias stands for, or `host` itself."""
        address = await self.db.fetchval("SELECT address FROM aliases WHERE alias = $1", host)
        return address or host

    async def beacon(self, address: str) -> Row | None:
        return await self.db.fetchrow(
            "SELECT b.address, b.token, COALESCE(a.alias, '') AS alias FROM beacons b "
            "LEFT JOIN aliases a ON a.address = b.address AND a.kind = 'beacon' WHERE b.address = $1",
            address,
        )

    async def beacons(self) -> list[Row]:
        return await self.db.fetch(
            "SELECT b.address, COALESCE(a.alias, '') AS alias FROM beacons b "
            "LEFT JOIN aliases a ON a.address = b.address AND a.kind = 'beacon' ORDER BY b.address"
        )

    async def instances(self, beacon_address: str) -> list[Row]:
        return await self.db.fetch(
            _INSTANCE_COLUMNS + "WHERE i.beacon_address = $1 ORDER BY i.instance_address", beacon_address
        )

    async def instance(self, address: str) -> Row | None:
        return await self.db.fetchrow(_INSTANCE_COLUMNS + "WHERE i.instance_address = $1", address)

    async def beacon_of(self, address: str) -> tuple[str, str] | None:
        """(kind, beacon address) for a beacon or instance address."""
        if await self.db.fetchval("SELECT address FROM beacons WHERE address = $1", address):
            return BEACON, address
        owner = await self.db.fetchval(
            "SELECT beacon_address FROM instances WHERE instance_address = $1", address
        )
        return (INSTANCE, owner) if owner else None

    # -- writes ---------------------------------------------------------------
    async def add_beacon(
        self, address: str, token: bytes, alias: str, creator: str, reported: Sequence[Reported]
    ) -> None:
        """The beacon, its alias and what it reported, all or nothing."""
        async with self.db.transaction() as tx:
            if not await tx.execute(
                "INSERT INTO beacons (address, token, creator, created_at) VALUES ($1, $2, $3, $4) "
                "ON CONFLICT DO NOTHING",
                address, token, creator, time.time(),
            ):
                raise DuplicateBeacon(address)
            await _set_alias(tx, address, BEACON, alias)
            await _record(tx, address, reported)

    async def remove_beacon(self, address: str) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "DELETE FROM aliases WHERE address = $1 OR address IN "
                "(SELECT instance_address FROM instances WHERE beacon_address = $1)",
                address,
            )
            await tx.execute("DELETE FROM beacons WHERE address = $1", address)

    async def record_poll(self, beacon_address: str, reported: Sequence[Reported]) -> None:
        async with self.db.transaction() as tx:
            await _record(tx, beacon_address, reported)

    async def mark_unreachable(self, beacon_address: str) -> None:
        await self.db.execute("UPDATE instances SET can_access = FALSE WHERE beacon_address = $1", beacon_address)

    async def set_token(self, address: str, token: bytes) -> bool:
        return bool(await self.db.execute("UPDATE beacons SET token = $2 WHERE address = $1", address, token))

    async def set_alias(self, address: str, kind: str, alias: str) -> None:
        async with self.db.transaction() as tx:
            await _set_alias(tx, address, kind, alias)
