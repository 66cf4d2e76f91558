"""The application service's tables: applications, their immutable
deployments, id counters, and a per-application lease so one action runs
at a time across every replica. Ids come from counters bumped inside the
transaction that inserts the row."""

from __future__ import annotations

import json
import time
import uuid

from services.application.model import NO_DEPLOYMENT, Deployment
from services.common.database import ServiceStore
from services.common.storage import Migration, Row

LEASE_SECONDS = 15.0  # renewed while the action runs (RENEW_EVERY); a killed holder's lapses
RENEW_EVERY = 5.0

MIGRATIONS = [
    Migration(
        1,
        [
            (
                "CREATE TABLE applications (id BIGINT PRIMARY KEY, name TEXT NOT NULL, "
                "instances TEXT NOT NULL, current_deployment BIGINT NOT NULL, "
                "busy_until DOUBLE PRECISION NOT NULL, busy_by TEXT NOT NULL, "
                "created_at DOUBLE PRECISION NOT NULL)"
            ),
            "CREATE UNIQUE INDEX applications_name ON applications (name)",
            (
                "CREATE TABLE deployments (id BIGINT PRIMARY KEY, "
                "app_id BIGINT NOT NULL REFERENCES applications (id) ON DELETE CASCADE, "
                "command TEXT NOT NULL, creator TEXT NOT NULL, date TEXT NOT NULL)"
            ),
            "CREATE INDEX deployments_app ON deployments (app_id, id)",
            "CREATE TABLE counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL)",
            "INSERT INTO counters (name, value) VALUES ('applications', 0), ('deployments', 0)",
        ],
    ),
    Migration(2, ["ALTER TABLE deployments ADD COLUMN outcome TEXT NOT NULL DEFAULT ''"]),
]


class NameTaken(Exception):
    pass


class Busy(Exception):
    """Another action holds the application's lease."""


def _now_text() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _deployment(row: Row) -> Deployment:
    return Deployment(
        row["id"], row["app_id"], json.loads(row["command"]), row["creator"], row["date"], row["outcome"]
    )


def instances_of(row: Row) -> list[str]:
    return json.loads(row["instances"])


async def _next_id(tx, counter: str) -> int:
    return int(await tx.fetchval("UPDATE counters SET value = value + 1 WHERE name = $1 RETURNING value", counter))


async def _insert_deployment(tx, app_id: int, command: dict, creator: str) -> int:
    deployment_id = await _next_id(tx, "deployments")
    await tx.execute(
        "INSERT INTO deployments (id, app_id, command, creator, date) VALUES ($1, $2, $3, $4, $5)",
        deployment_id, app_id, json.dumps(command, sort_keys=True), creator, _now_text(),
    )
    return deployment_id


class ApplicationStore(ServiceStore):
    SERVICE = "application"
    MIGRATIONS = MIGRATIONS

    # -- reads ----------------------------------------------------------------
    async def applications(self) -> list[Row]:
        return await self.db.fetch("SELECT * FROM applications ORDER BY id")

    async def application(self, ref: int | str) -> Row | None:
        if isinstance(ref, int):
            return await self.db.fetchrow("SELECT * FROM applications WHERE id = $1", ref)
        return await self.db.fetchrow("SELECT * FROM applications WHERE name = $1", ref)

    async def deployments(self, app_id: int) -> list[Deployment]:
        rows = await self.db.fetch("SELECT * FROM deployments WHERE app_id = $1 ORDER BY id", app_id)
        return [_deployment(r) for r in rows]

    async def deployment(self, deployment_id: int) -> Deployment | None:
        row = await self.db.fetchrow("SELECT * FROM deployments WHERE id = $1", deployment_id)
        return _deployment(row) if row else None

    # -- writes ---------------------------------------------------------------
    async def create(self, name: str, instances: list[str], command: dict, creator: str) -> tuple[int, int, str]:
        """A new application with its first deployment, leased to the caller:
        (application id, deployment id, lease)."""
        lease = uuid.uuid4().hex
        async with self.db.transaction() as tx:
            if await tx.fetchval("SELECT id FROM applications WHERE name = $1", name) is not None:
                raise NameTaken(name)
            app_id = await _next_id(tx, "applications")
            inserted = await tx.execute(
                "INSERT INTO applications (id, name, instances, current_deployment, busy_until, busy_by, "
                "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                app_id, name, json.dumps(instances), NO_DEPLOYMENT, time.time() + LEASE_SECONDS, lease, time.time(),
            )
            if not inserted:
                raise NameTaken(name)
            deployment_id = await _insert_deployment(tx, app_id, command, creator)
        return app_id, deployment_id, lease

    async def delete(self, app_id: int) -> None:
        async with self.db.transaction() as tx:
            await tx.execute("DELETE FROM deployments WHERE app_id = $1", app_id)
            await tx.execute("DELETE FROM applications WHERE id = $1", app_id)

    async def acquire(self, app_id: int) -> str:
        """The application's lease, or Busy while another action holds it."""
        lease = uuid.uuid4().hex
        now = time.time()
        taken = await self.db.execute(
            "UPDATE applications SET busy_until = $2, busy_by = $3 WHERE id = $1 AND busy_until < $4",
            app_id, now + LEASE_SECONDS, lease, now,
        )
        if not taken:
            raise Busy(app_id)
        return lease

    async def renew(self, app_id: int, lease: str) -> bool:
        """Extend a lease still held; False when it was lost."""
        return bool(await self.db.execute(
            "UPDATE applications SET busy_until = $2 WHERE id = $1 AND busy_by = $3",
            app_id, time.time() + LEASE_SECONDS, lease,
        ))

    async def release(self, app_id: int, lease: str) -> None:
        await self.db.execute(
            "UPDATE applications SET busy_until = 0, busy_by = '' WHERE id = $1 AND busy_by = $2", app_id, lease
        )

    async def add_deployment(self, app_id: int, command: dict, creator: str) -> int:
        async with self.db.transaction() as tx:
            return await _insert_deployment(tx, app_id, command, creator)

    async def set_outcome(self, deployment_id: int, outcome: str) -> None:
        """Record how a deployment's rollout ended."""
        await self.db.execute("UPDATE deployments SET outcome = $2 WHERE id = $1", deployment_id, outcome)

    async def set_current(self, app_id: int, deployment_id: int, lease: str) -> bool:
        return bool(await self.db.execute(
            "UPDATE applications SET current_deployment = $2 WHERE id = $1 AND busy_by = $3",
            app_id, deployment_id, lease,
        ))

    async def set_instances(self, app_id: int, instances: list[str], lease: str) -> bool:
        return bool(await self.db.execute(
            "UPDATE applications SET instances = $2 WHERE id = $1 AND busy_by = $3",
            app_id, json.dumps(instances), lease,
        ))
