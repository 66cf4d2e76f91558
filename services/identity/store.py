"""The identity service's tables. Everything lives in the database (SQLite in
$SHOAL_HOME, or PostgreSQL shared by replicas), so replicas always agree:
identities, Lighthouse users, API tokens, sessions, lockout counters,
recovery tokens and the audit log. Secrets are stored only as hashes.

Each write that must not race (identity actions, user updates, lockout
counts) is one transaction that re-reads what it changes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from services.common.database import ServiceStore
from services.common.storage import Migration, Row
from services.common.storage.base import lock_key
from services.identity import audit
from services.identity.identities import Identity, parse_identity
from services.identity.lockout import LockRecord
from services.identity.recovery import RecoveryToken
from services.identity.tokens import TokenRecord
from services.identity.userlevels import KINDS, LighthouseUser, set_resource_level

MIGRATIONS = [
    Migration(
        1,
        [
            "CREATE TABLE identities (name TEXT PRIMARY KEY, data TEXT NOT NULL, revision BIGINT NOT NULL)",
            (
                "CREATE TABLE users (email TEXT PRIMARY KEY, password TEXT NOT NULL, "
                "auth_level BIGINT NOT NULL, permissions TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL)"
            ),
            (
                "CREATE TABLE tokens (id TEXT PRIMARY KEY, name TEXT NOT NULL, hash TEXT NOT NULL UNIQUE, "
                "prefix TEXT NOT NULL, suffix TEXT NOT NULL, scopes TEXT NOT NULL, "
                "created_at DOUBLE PRECISION NOT NULL, last_used_at DOUBLE PRECISION, "
                "expires_at DOUBLE PRECISION)"
            ),
            (
                "CREATE TABLE sessions (hash TEXT PRIMARY KEY, kind TEXT NOT NULL, subject TEXT NOT NULL, "
                "origin TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL, "
                "expires_at DOUBLE PRECISION NOT NULL)"
            ),
            "CREATE INDEX sessions_subject ON sessions (kind, subject)",
            (
                "CREATE TABLE lockouts (key TEXT PRIMARY KEY, failures BIGINT NOT NULL, "
                "locked_until DOUBLE PRECISION, last_attempt DOUBLE PRECISION)"
            ),
            (
                "CREATE TABLE recovery_tokens (hash TEXT PRIMARY KEY, ip TEXT NOT NULL, "
                "created_at DOUBLE PRECISION NOT NULL, expires_at DOUBLE PRECISION NOT NULL, "
                "used_at DOUBLE PRECISION)"
            ),
            (
                "CREATE TABLE audit_events (id TEXT PRIMARY KEY, seq BIGINT NOT NULL, "
                "timestamp DOUBLE PRECISION NOT NULL, event TEXT NOT NULL, username TEXT NOT NULL, "
                "ip TEXT NOT NULL, path TEXT NOT NULL, success BOOLEAN NOT NULL, details TEXT NOT NULL, "
                "signature TEXT NOT NULL)"
            ),
            "CREATE INDEX audit_events_time ON audit_events (timestamp)",
        ],
    )
]


def _ts(when: datetime | None) -> float | None:
    return None if when is None else when.timestamp()


def _dt(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


@dataclass(frozen=True)
class StoredIdentity:
    identity: Identity
    revision: int


@dataclass(frozen=True)
class StoredUser:
    user: LighthouseUser
    password_hash: str


@dataclass(frozen=True)
class Session:
    kind: str  # "identity" or "user"
    subject: str
    origin: str
    expires_at: datetime


@dataclass(frozen=True)
class AuditQuery:
    limit: int = 100
    offset: int = 0
    event: str = ""
    user: str = ""
    success: bool | None = None
    start: datetime | None = None
    end: datetime | None = None


def _token(row: Row) -> TokenRecord:
    return TokenRecord(
        id=row["id"],
        name=row["name"],
        hash=row["hash"],
        prefix=row["prefix"],
        suffix=row["suffix"],
        created_at=_dt(row["created_at"]),
        scopes=tuple(json.loads(row["scopes"])),
        last_used_at=_dt(row["last_used_at"]),
        expires_at=_dt(row["expires_at"]),
    )


def _user(row: Row) -> StoredUser:
    permissions = json.loads(row["permissions"])
    for kind in KINDS:
        permissions.setdefault(kind, {})
    return StoredUser(LighthouseUser(row["email"], int(row["auth_level"]), permissions), row["password"])


def _audit(row: Row) -> audit.AuditEvent:
    return audit.AuditEvent(
        id=row["id"],
        timestamp=_dt(row["timestamp"]),
        event=row["event"],
        user=row["username"],
        ip=row["ip"],
        path=row["path"],
        success=bool(row["success"]),
        details=row["details"],
        signature=row["signature"],
    )


class IdentityStore(ServiceStore):
    SERVICE = "identity"
    MIGRATIONS = MIGRATIONS

    # -- identities -----------------------------------------------------------
    async def identities(self) -> dict[str, StoredIdentity]:
        rows = await self.db.fetch("SELECT name, data, revision FROM identities ORDER BY name")
        return {r["name"]: StoredIdentity(parse_identity(r["name"], json.loads(r["data"])), r["revision"]) for r in rows}

    async def identity(self, name: str) -> StoredIdentity | None:
        row = await self.db.fetchrow("SELECT data, revision FROM identities WHERE name = $1", name)
        return None if row is None else StoredIdentity(parse_identity(name, json.loads(row["data"])), row["revision"])

    async def identity_by_uid(self, uid: int) -> tuple[str, Identity] | None:
        # Few identities: filtering in Python keeps the JSON out of SQL.
        for name, stored in (await self.identities()).items():
            if stored.identity.local is not None and stored.identity.local.user_id == uid:
                return name, stored.identity
        return None

    async def change_identities(
        self, change: Callable[[dict[str, Identity]], dict[str, Identity]]
    ) -> tuple[dict[str, Identity], dict[str, Identity]]:
        """Apply `change` to the current identities in one transaction;
        (before, after). `change` raises to refuse, leaving everything as it was."""
        async with self.db.transaction() as tx:
            await _lock(tx, "identities")
            rows = await tx.fetch("SELECT name, data, revision FROM identities")
            before = {r["name"]: parse_identity(r["name"], json.loads(r["data"])) for r in rows}
            revisions = {r["name"]: r["revision"] for r in rows}
            after = change(dict(before))
            for name in before.keys() - after.keys():
                await tx.execute("DELETE FROM identities WHERE name = $1", name)
            for name, identity in after.items():
                if name in before and before[name] == identity:
                    continue
                data = json.dumps(identity.to_dict())
                if name in before:
                    await tx.execute(
                        "UPDATE identities SET data = $2, revision = $3 WHERE name = $1",
                        name, data, revisions[name] + 1,
                    )
                else:
                    await tx.execute(
                        "INSERT INTO identities (name, data, revision) VALUES ($1, $2, 1)", name, data
                    )
            return before, after

    # -- Lighthouse users -----------------------------------------------------
    async def user(self, email: str) -> StoredUser | None:
        row = await self.db.fetchrow("SELECT * FROM users WHERE email = $1", email)
        return None if row is None else _user(row)

    async def users(self) -> list[LighthouseUser]:
        return [_user(r).user for r in await self.db.fetch("SELECT * FROM users ORDER BY email")]

    async def lighthouse_user(self, email: str) -> LighthouseUser | None:
        stored = await self.user(email)
        return None if stored is None else stored.user

    async def create_user(self, email: str, password_hash: str, auth_level: int = 0) -> bool:
        permissions = json.dumps({kind: {} for kind in KINDS})
        return bool(
            await self.db.execute(
                "INSERT INTO users (email, password, auth_level, permissions, created_at) "
                "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                email, password_hash, auth_level, permissions, datetime.now(UTC).timestamp(),
            )
        )

    async def update_user(
        self, email: str, change: Callable[[LighthouseUser], LighthouseUser], password_hash: str | None = None
    ) -> LighthouseUser | None:
        async with self.db.transaction() as tx:
            await _lock(tx, "user:" + email)
            row = await tx.fetchrow("SELECT * FROM users WHERE email = $1", email)
            if row is None:
                return None
            stored = _user(row)
            user = change(stored.user)
            await tx.execute(
                "UPDATE users SET auth_level = $2, permissions = $3, password = $4 WHERE email = $1",
                email, user.auth_level, json.dumps({k: dict(v) for k, v in user.permissions.items()}),
                password_hash or stored.password_hash,
            )
            return user

    async def set_resource_level(self, email: str, kind: str, resource: str, level: int) -> LighthouseUser | None:
        return await self.update_user(
            email, lambda u: replace(u, permissions=set_resource_level(u.permissions, kind, resource, level))
        )

    async def count(self, table: str) -> int:
        assert table in ("identities", "users", "tokens")
        return int(await self.db.fetchval(f"SELECT COUNT(*) FROM {table}"))

    # -- tokens -----------------------------------------------------------------
    async def tokens(self) -> list[TokenRecord]:
        return [_token(r) for r in await self.db.fetch("SELECT * FROM tokens ORDER BY created_at DESC")]

    async def token(self, token_id: str) -> TokenRecord | None:
        row = await self.db.fetchrow("SELECT * FROM tokens WHERE id = $1", token_id)
        return None if row is None else _token(row)

    async def token_by_hash(self, token_hash: str) -> TokenRecord | None:
        row = await self.db.fetchrow("SELECT * FROM tokens WHERE hash = $1", token_hash)
        return None if row is None else _token(row)

    async def add_token(self, record: TokenRecord) -> None:
        await self.db.execute(
            "INSERT INTO tokens (id, name, hash, prefix, suffix, scopes, created_at, last_used_at, expires_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            record.id, record.name, record.hash, record.prefix, record.suffix, json.dumps(list(record.scopes)),
            _ts(record.created_at), _ts(record.last_used_at), _ts(record.expires_at),
        )

    async def save_token(self, record: TokenRecord, expected_hash: str) -> bool:
        """Replace a token's record, only if its secret is still `expected_hash`."""
        return bool(
            await self.db.execute(
                "UPDATE tokens SET name = $2, hash = $3, prefix = $4, suffix = $5, scopes = $6, "
                "last_used_at = $7 WHERE id = $1 AND hash = $8",
                record.id, record.name, record.hash, record.prefix, record.suffix,
                json.dumps(list(record.scopes)), _ts(record.last_used_at), expected_hash,
            )
        )

    async def touch_token(self, token_id: str, when: datetime) -> None:
        await self.db.execute("UPDATE tokens SET last_used_at = $2 WHERE id = $1", token_id, _ts(when))

    async def delete_token(self, token_id: str) -> bool:
        return bool(await self.db.execute("DELETE FROM tokens WHERE id = $1", token_id))

    # -- sessions ---------------------------------------------------------------
    async def add_session(self, token_hash: str, session: Session, now: datetime) -> None:
        await self.db.execute(
            "INSERT INTO sessions (hash, kind, subject, origin, created_at, expires_at) "
            "VALUES ($1, $2, $3, $4, $5, $6)",
            token_hash, session.kind, session.subject, session.origin, _ts(now), _ts(session.expires_at),
        )

    async def session(self, token_hash: str, now: datetime) -> Session | None:
        row = await self.db.fetchrow(
            "SELECT kind, subject, origin, expires_at FROM sessions WHERE hash = $1 AND expires_at > $2",
            token_hash, _ts(now),
        )
        return None if row is None else Session(row["kind"], row["subject"], row["origin"], _dt(row["expires_at"]))

    async def delete_session(self, token_hash: str) -> Session | None:
        async with self.db.transaction() as tx:
            row = await tx.fetchrow("SELECT kind, subject, origin, expires_at FROM sessions WHERE hash = $1", token_hash)
            await tx.execute("DELETE FROM sessions WHERE hash = $1 OR expires_at < $2", token_hash,
                             datetime.now(UTC).timestamp())
        return None if row is None else Session(row["kind"], row["subject"], row["origin"], _dt(row["expires_at"]))

    # -- lockout ----------------------------------------------------------------
    async def lock_records(self, keys: list[str]) -> dict[str, LockRecord | None]:
        result: dict[str, LockRecord | None] = {}
        for key in keys:
            row = await self.db.fetchrow("SELECT * FROM lockouts WHERE key = $1", key)
            result[key] = None if row is None else LockRecord(
                int(row["failures"]), _dt(row["locked_until"]), _dt(row["last_attempt"])
            )
        return result

    async def update_lock_records(
        self, keys: list[str], change: Callable[[dict[str, LockRecord | None]], Mapping[str, LockRecord]]
    ):
        """Read, change and write the lockout records of `keys` atomically;
        returns what `change` returned alongside (it may return (records, extra))."""
        async with self.db.transaction() as tx:
            for key in sorted(keys):
                await _lock(tx, "lock:" + key)
            current: dict[str, LockRecord | None] = {}
            for key in keys:
                row = await tx.fetchrow("SELECT * FROM lockouts WHERE key = $1", key)
                current[key] = None if row is None else LockRecord(
                    int(row["failures"]), _dt(row["locked_until"]), _dt(row["last_attempt"])
                )
            records, extra = change(current)
            for key, record in records.items():
                if record.failures == 0 and record.locked_until is None:
                    await tx.execute("DELETE FROM lockouts WHERE key = $1", key)
                    continue
                await tx.execute(
                    "INSERT INTO lockouts (key, failures, locked_until, last_attempt) VALUES ($1, $2, $3, $4) "
                    "ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, "
                    "locked_until = excluded.locked_until, last_attempt = excluded.last_attempt",
                    key, record.failures, _ts(record.locked_until), _ts(record.last_attempt),
                )
            return extra

    async def reset_lockouts(self, keys: list[str]) -> int:
        removed = 0
        for key in keys:
            removed += await self.db.execute("DELETE FROM lockouts WHERE key = $1", key)
        return removed

    async def reset_all_lockouts(self) -> int:
        return await self.db.execute("DELETE FROM lockouts")

    # -- recovery tokens ----------------------------------------------------------
    async def add_recovery_token(self, record: RecoveryToken) -> None:
        await self.db.execute(
            "INSERT INTO recovery_tokens (hash, ip, created_at, expires_at, used_at) VALUES ($1, $2, $3, $4, NULL)",
            record.hash, record.ip, _ts(record.created_at), _ts(record.expires_at),
        )

    async def consume_recovery_token(self, token_hash: str, ip: str, now: datetime) -> bool:
        """Mark the token used, once, only from its own address and before expiry."""
        used = await self.db.execute(
            "UPDATE recovery_tokens SET used_at = $4 WHERE hash = $1 AND ip = $2 AND used_at IS NULL "
            "AND expires_at > $3",
            token_hash, ip, _ts(now), _ts(now),
        )
        await self.db.execute(
            "DELETE FROM recovery_tokens WHERE expires_at < $1 OR used_at < $2",
            _ts(now) - 86400, _ts(now) - 86400,
        )
        return bool(used)

    # -- audit ------------------------------------------------------------------
    async def add_audit(self, event: audit.AuditEvent) -> None:
        async with self.db.transaction() as tx:
            await _lock(tx, "audit")
            seq = await tx.fetchval("SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_events")
            await tx.execute(
                "INSERT INTO audit_events (id, seq, timestamp, event, username, ip, path, success, details, "
                "signature) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                event.id, seq, _ts(event.timestamp), event.event, event.user, event.ip, event.path,
                event.success, event.details, event.signature,
            )

    async def audit_event(self, event_id: str) -> audit.AuditEvent | None:
        row = await self.db.fetchrow("SELECT * FROM audit_events WHERE id = $1", event_id)
        return None if row is None else _audit(row)

    async def audit_events(self, query: AuditQuery) -> tuple[list[audit.AuditEvent], int]:
        where, args = [], []
        for column, value in (("event", query.event), ("username", query.user)):
            if value:
                args.append(value)
                where.append(f"{column} = ${len(args)}")
        if query.success is not None:
            args.append(query.success)
            where.append(f"success = ${len(args)}")
        if query.start is not None:
            args.append(_ts(query.start))
            where.append(f"timestamp >= ${len(args)}")
        if query.end is not None:
            args.append(_ts(query.end))
            where.append(f"timestamp <= ${len(args)}")
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        total = await self.db.fetchval(f"SELECT COUNT(*) FROM audit_events{clause}", *args)
        rows = await self.db.fetch(
            f"SELECT * FROM audit_events{clause} ORDER BY seq DESC LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}",
            *args, query.limit, query.offset,
        )
        return [_audit(r) for r in rows], int(total)


async def _lock(tx, name: str) -> None:
    """Serialise writers of `name` across replicas (PostgreSQL: a transaction
    advisory lock; SQLite: its single writer already does)."""
    if tx.db.backend == "postgresql":
        await tx.execute("SELECT pg_advisory_xact_lock($1)", lock_key("identity:" + name))
