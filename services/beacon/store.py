"""The beacon service's tables: beacons (address, encrypted token), the
instances each reported, and aliases. Everything lives in the database, so
replicas sharing one PostgreSQL always agree.

Ownership rules kept here, inside the transaction that writes:
- An instance address belongs to at most one beacon, and a beacon's own
  address to no other beacon (`InstanceTaken` names the holder).
- An alias names one thing (`AliasTaken`); a dotted alias is reserved for
  the instance it would name (`AliasReserved`, see addresses.py). Each alias
  row records the beacon it belongs to, so resolving it never leads out of
  that beacon.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from services.beacon.addresses import instance_alias, reserved_for
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
    ),
    Migration(
        2,
        [
            # The beacon an alias belongs to: the beacon itself, or the beacon of its instance.
            "ALTER TABLE aliases ADD COLUMN beacon_address TEXT NOT NULL DEFAULT ''",
            "UPDATE aliases SET beacon_address = address WHERE kind = 'beacon'",
            (
                "UPDATE aliases SET beacon_address = COALESCE((SELECT i.beacon_address FROM instances i "
                "WHERE i.instance_address = aliases.address), '') WHERE kind = 'instance'"
            ),
            "DELETE FROM aliases WHERE beacon_address = ''",
            "CREATE INDEX aliases_beacon ON aliases (beacon_address)",
        ],
    ),
]


class DuplicateBeacon(Exception):
    pass


class AliasTaken(Exception):
    def __init__(self, alias: str, detail: str = "it names another address"):
        super().__init__(f'alias "{alias}" is already in use: {detail}')
        self.alias = alias


class AliasReserved(Exception):
    def __init__(self, alias: str, beacon: str, name: str):
        super().__init__(
            f'alias "{alias}" is reserved: it is the name of instance "{name}" behind the beacon aliased "{beacon}"'
        )
        self.alias = alias


class InstanceTaken(Exception):
    """An address reported (or registered) belongs to another beacon."""

    def __init__(self, address: str, owner: str):
        super().__init__(f"instance address {address} already belongs to beacon {owner}")
        self.address = address
        self.owner = owner


_INSTANCE_COLUMNS = (
    "SELECT i.instance_address, i.name, i.can_access, i.version, i.beacon_address, "
    "COALESCE(a.alias, '') AS alias FROM instances i "
    "LEFT JOIN aliases a ON a.address = i.instance_address AND a.kind = 'instance' "
)
# A dotted alias under a beacon alias: "prod.%" without LIKE's wildcards.
_UNDER = "substr(alias, 1, length(CAST($1 AS TEXT)) + 1) = CAST($1 AS TEXT) || '.'"


async def _beacon_alias(tx, beacon_address: str) -> str:
    return await tx.fetchval(
        "SELECT alias FROM aliases WHERE address = $1 AND kind = 'beacon'", beacon_address
    ) or ""


async def _check_alias_free(tx, address: str, kind: str, alias: str, beacon_address: str) -> bool:
    """Raise unless (address, kind) may take `alias`; True when it has it already."""
    owner = await tx.fetchrow("SELECT address, kind FROM aliases WHERE alias = $1", alias)
    if owner is not None:
        if owner["address"] == address and owner["kind"] == kind:
            return True
        raise AliasTaken(alias)
    reserved = reserved_for(alias)
    if reserved is not None:
        beacon, name = reserved
        own = kind == INSTANCE and await tx.fetchval(
            "SELECT name FROM instances WHERE instance_address = $1 AND beacon_address = $2", address, beacon_address
        ) == name and await _beacon_alias(tx, beacon_address) == beacon
        if not own:
            raise AliasReserved(alias, beacon, name)
    if kind == BEACON:
        other = await tx.fetchval(
            f"SELECT alias FROM aliases WHERE {_UNDER} AND beacon_address <> $2 LIMIT 1", alias, beacon_address
        )
        if other:
            raise AliasTaken(alias, f'"{other}" names an instance of another beacon')
    return False


async def _set_alias(tx, address: str, kind: str, alias: str, beacon_address: str) -> None:
    if await _check_alias_free(tx, address, kind, alias, beacon_address):
        return
    old = await tx.fetchval("SELECT alias FROM aliases WHERE address = $1 AND kind = $2", address, kind)
    await tx.execute("DELETE FROM aliases WHERE address = $1 AND kind = $2", address, kind)
    if not await tx.execute(
        "INSERT INTO aliases (alias, address, kind, beacon_address) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        alias, address, kind, beacon_address,
    ):
        raise AliasTaken(alias)
    if kind == BEACON and old:
        # The instances' names follow their beacon's new alias, so the old
        # names are not left for a later beacon aliased `old` to collide with.
        await tx.execute(
            f"UPDATE aliases SET alias = CAST($3 AS TEXT) || substr(alias, length(CAST($1 AS TEXT)) + 1) "
            f"WHERE {_UNDER} AND beacon_address = $2 AND kind = 'instance'",
            old, beacon_address, alias,
        )


async def _holder(tx, address: str, beacon_address: str) -> str | None:
    """The other beacon `address` belongs to (as its instance, or as its own address), if any."""
    owner = await tx.fetchval("SELECT beacon_address FROM instances WHERE instance_address = $1", address)
    if owner and owner != beacon_address:
        return owner
    if address != beacon_address and await tx.fetchval("SELECT address FROM beacons WHERE address = $1", address):
        return address
    return None


async def _record(tx, beacon_address: str, reported: Sequence[Reported]) -> None:
    for item in reported:
        holder = await _holder(tx, item.address, beacon_address)
        if holder is not None:
            raise InstanceTaken(item.address, holder)
        updated = await tx.execute(
            "INSERT INTO instances (instance_address, name, can_access, version, beacon_address) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (instance_address) DO UPDATE SET "
            "name = excluded.name, can_access = excluded.can_access, version = excluded.version "
            "WHERE instances.beacon_address = excluded.beacon_address",
            item.address, item.name, item.can_access, item.version, beacon_address,
        )
        if not updated:  # another beacon's poll took it in between (PostgreSQL)
            raise InstanceTaken(item.address, await _holder(tx, item.address, beacon_address) or "another")
    seen = [item.address for item in reported]
    placeholders = ", ".join(f"${n}" for n in range(2, len(seen) + 2))
    vanished = f" AND instance_address NOT IN ({placeholders})" if seen else ""
    await tx.execute(
        f"UPDATE instances SET can_access = FALSE WHERE beacon_address = $1{vanished}", beacon_address, *seen
    )
    beacon_alias = await _beacon_alias(tx, beacon_address)
    if not beacon_alias:
        return
    for item in reported:
        alias = instance_alias(beacon_alias, item.name)
        if alias is None:
            continue
        # Only a first alias: one a user set since is kept; a taken one is skipped.
        await tx.execute(
            "INSERT INTO aliases (alias, address, kind, beacon_address) "
            "SELECT $1, $2, 'instance', $3 WHERE EXISTS "
            "(SELECT 1 FROM instances WHERE instance_address = $2 AND beacon_address = $3) "
            "ON CONFLICT DO NOTHING",
            alias, item.address, beacon_address,
        )


class BeaconStore(ServiceStore):
    SERVICE = "beacon"
    MIGRATIONS = MIGRATIONS

    # -- reads ----------------------------------------------------------------
    async def alias(self, alias: str) -> Row | None:
        """What `alias` names: its address, kind and the beacon it belongs to."""
        return await self.db.fetchrow(
            "SELECT alias, address, kind, beacon_address FROM aliases WHERE alias = $1", alias
        )

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

    async def holder(self, address: str, beacon_address: str) -> str | None:
        """The beacon other than `beacon_address` that `address` belongs to, if any."""
        async with self.db.transaction() as tx:
            return await _holder(tx, address, beacon_address)

    async def check_alias(self, address: str, kind: str, alias: str, beacon_address: str) -> None:
        """Raise AliasTaken or AliasReserved unless (address, kind) may take `alias`."""
        async with self.db.transaction() as tx:
            await _check_alias_free(tx, address, kind, alias, beacon_address)

    # -- writes ---------------------------------------------------------------
    async def add_beacon(
        self, address: str, token: bytes, alias: str, creator: str, reported: Sequence[Reported]
    ) -> None:
        """The beacon, its alias and what it reported, all or nothing."""
        async with self.db.transaction() as tx:
            holder = await _holder(tx, address, address)
            if holder is not None:
                raise InstanceTaken(address, holder)
            if not await tx.execute(
                "INSERT INTO beacons (address, token, creator, created_at) VALUES ($1, $2, $3, $4) "
                "ON CONFLICT DO NOTHING",
                address, token, creator, time.time(),
            ):
                raise DuplicateBeacon(address)
            await _set_alias(tx, address, BEACON, alias, address)
            await _record(tx, address, reported)

    async def remove_beacon(self, address: str) -> int:
        """The beacon, its instances and every alias of theirs; how many instances went."""
        async with self.db.transaction() as tx:
            count = await tx.fetchval("SELECT COUNT(*) FROM instances WHERE beacon_address = $1", address)
            await tx.execute(
                "DELETE FROM aliases WHERE beacon_address = $1 OR address = $1 OR address IN "
                "(SELECT instance_address FROM instances WHERE beacon_address = $1)",
                address,
            )
            await tx.execute("DELETE FROM beacons WHERE address = $1", address)
            return int(count or 0)

    async def record_poll(self, beacon_address: str, reported: Sequence[Reported]) -> None:
        """What a poll reported, all or nothing (InstanceTaken when an address
        belongs to another beacon)."""
        async with self.db.transaction() as tx:
            await _record(tx, beacon_address, reported)

    async def mark_unreachable(self, beacon_address: str) -> None:
        await self.db.execute("UPDATE instances SET can_access = FALSE WHERE beacon_address = $1", beacon_address)

    async def set_token(self, address: str, token: bytes) -> bool:
        return bool(await self.db.execute("UPDATE beacons SET token = $2 WHERE address = $1", address, token))

    async def set_alias(self, address: str, kind: str, alias: str, beacon_address: str) -> None:
        async with self.db.transaction() as tx:
            await _set_alias(tx, address, kind, alias, beacon_address)
