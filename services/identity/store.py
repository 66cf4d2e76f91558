"""The identity service's tables. Everything lives in the database (SQLite in
$SHOAL_HOME, or PostgreSQL shared by replicas), so replicas always agree:
identities, Lighthouse users, API tokens, sessions, lockout counters,
recovery tokens and the audit log. Secrets are stored only as hashes.

Each write that must not race (identity actions, user updates, lockout
counts) is one transaction that re-reads what it changes. A change and its
audit event commit together: a create, change or removal of an identity,
user or token that fails leaves neither behind. Audit events are appended
to one chain (sequence, previous signature, a signed head), under one lock.

Lighthouse user names are compared ignoring case (`name_key`): "Boss" and
"boss" are one user, who keeps the spelling given at creation. A user name
and an identity name never coincide, ignoring case (either creation is
refused), so a name always says which of the two a caller is.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from services.common.database import ServiceStore, open_service_database
from services.common.storage import Migration, Row
from services.common.storage.base import lock_key
from services.identity import audit
from services.identity.identities import Identity, IdentityError, parse_identity
from services.identity.lockout import LockRecord
from services.identity.recovery import RecoveryToken
from services.identity.tokens import TokenRecord
from services.identity.userlevels import KINDS, LighthouseUser, name_key, set_resource_level

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
    ),
    Migration(
        2,
        [
            # Users by name ignoring case; filled in by IdentityStore.open for older rows.
            "ALTER TABLE users ADD COLUMN email_key TEXT",
            "CREATE UNIQUE INDEX users_email_key ON users (email_key)",
            # The audit chain: each event names the signature before it (NULL: from before chaining).
            "ALTER TABLE audit_events ADD COLUMN prev_signature TEXT",
            "CREATE UNIQUE INDEX audit_events_seq ON audit_events (seq)",
            (
                "CREATE TABLE audit_head (id INTEGER PRIMARY KEY, seq BIGINT NOT NULL, "
                "signature TEXT NOT NULL, mac TEXT NOT NULL)"
            ),
            # The one bootstrap token for remote set-up, as its SHA-256 only.
            (
                "CREATE TABLE bootstrap_tokens (id INTEGER PRIMARY KEY, hash TEXT NOT NULL, "
                "created_at DOUBLE PRECISION NOT NULL, used_at DOUBLE PRECISION)"
            ),
        ],
    ),
]


class NameTaken(IdentityError):
    """A user or identity name that the other kind already has."""


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
        seq=int(row["seq"]),
        previous=row["prev_signature"],
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


def _changes_callers(write):
    """Marks a write after which (done or not: it may have been) who a caller
    is may have changed: the store's `callers_changed` runs once it returns."""

    @functools.wraps(write)
    async def run(self, *args, **kwargs):
        try:
            return await write(self, *args, **kwargs)
        finally:
            self.callers_changed()

    return run


class IdentityStore(ServiceStore):
    SERVICE = "identity"
    MIGRATIONS = MIGRATIONS

    def __init__(self, db, audit_key: bytes = b""):
        super().__init__(db)
        self.audit_key = audit_key  # signs every appended audit event
        # Run after every write that can change who a caller is (the service
        # raises its generation: services/common/generation.py).
        self.callers_changed: Callable[[], None] = lambda: None

    @classmethod
    async def open(cls, settings, audit_key: bytes = b"") -> IdentityStore:
        store = cls(await open_service_database(settings, cls.SERVICE, cls.MIGRATIONS), audit_key)
        try:
            await store.fill_name_keys()
        except BaseException:
            await store.close()
            raise
        return store

    async def fill_name_keys(self) -> None:
        """Give users from before migration 2 their name key. Two users that
        differ only by case cannot both keep theirs: a start-up error that
        names them (nothing is changed)."""
        async with self.db.transaction() as tx:
            rows = await tx.fetch("SELECT email FROM users WHERE email_key IS NULL")
            taken: dict[str, str] = {
                r["email_key"]: r["email"]
                for r in await tx.fetch("SELECT email, email_key FROM users WHERE email_key IS NOT NULL")
            }
            for row in rows:
                key = name_key(row["email"])
                if key in taken:
                    raise RuntimeError(
                        f"identity database: users {taken[key]!r} and {row['email']!r} differ only by case; "
                        "remove one of them to start"
                    )
                taken[key] = row["email"]
                await tx.execute("UPDATE users SET email_key = $2 WHERE email = $1", row["email"], key)

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

    @_changes_callers
    async def change_identities(
        self,
        change: Callable[[dict[str, Identity]], dict[str, Identity]],
        event: Callable[[dict[str, Identity], dict[str, Identity]], audit.AuditEvent | None] | None = None,
    ) -> tuple[dict[str, Identity], dict[str, Identity]]:
        """Apply `change` to the current identities in one transaction, with
        the audit event `event(before, after)` gives; (before, after).
        `change` raises to refuse, leaving everything as it was; so does a
        new name that a Lighthouse user has (NameTaken)."""
        async with self.db.transaction() as tx:
            await _lock(tx, "identities")
            rows = await tx.fetch("SELECT name, data, revision FROM identities")
            before = {r["name"]: parse_identity(r["name"], json.loads(r["data"])) for r in rows}
            revisions = {r["name"]: r["revision"] for r in rows}
            after = change(dict(before))
            for name in sorted(after.keys() - before.keys()):
                if await tx.fetchval("SELECT email FROM users WHERE email_key = $1", name_key(name)):
                    raise NameTaken(f'identity name "{name}" is a Lighthouse user\'s name')
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
            entry = event(before, after) if event is not None else None
            if entry is not None:
                await self._append_audit(tx, entry)
            return before, after

    # -- Lighthouse users -----------------------------------------------------
    async def user(self, email: str) -> StoredUser | None:
        """The user named `email`, ignoring case."""
        row = await self.db.fetchrow("SELECT * FROM users WHERE email_key = $1", name_key(email))
        return None if row is None else _user(row)

    async def users(self) -> list[LighthouseUser]:
        return [_user(r).user for r in await self.db.fetch("SELECT * FROM users ORDER BY email")]

    async def lighthouse_user(self, email: str) -> LighthouseUser | None:
        stored = await self.user(email)
        return None if stored is None else stored.user

    @_changes_callers
    async def create_user(
        self, email: str, password_hash: str, auth_level: int = 0, event: audit.AuditEvent | None = None
    ) -> bool:
        """Create a user with its audit event, in one transaction; False when
        the name is taken (by a user, ignoring case). An identity's name is
        NameTaken."""
        permissions = json.dumps({kind: {} for kind in KINDS})
        async with self.db.transaction() as tx:
            await _lock(tx, "identities")
            names = [r["name"] for r in await tx.fetch("SELECT name FROM identities")]
            if any(name_key(n) == name_key(email) for n in names):
                raise NameTaken(f'user name "{email}" is a Pebble identity\'s name')
            created = await tx.execute(
                "INSERT INTO users (email, email_key, password, auth_level, permissions, created_at) "
                "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                email, name_key(email), password_hash, auth_level, permissions, datetime.now(UTC).timestamp(),
            )
            if created and event is not None:
                await self._append_audit(tx, event)
            return bool(created)

    @_changes_callers
    async def update_user(
        self,
        email: str,
        change: Callable[[LighthouseUser], LighthouseUser],
        password_hash: str | None = None,
        event: Callable[[LighthouseUser], audit.AuditEvent] | None = None,
        *,
        resource_lock: str = "",
    ) -> LighthouseUser | None:
        """Change the user named `email` (ignoring case) and record
        `event(new user)` in one transaction; None when there is none.
        `resource_lock` is taken first (see forget_resource)."""
        async with self.db.transaction() as tx:
            if resource_lock:
                await _lock(tx, resource_lock)
            await _lock(tx, "user:" + name_key(email))
            row = await tx.fetchrow("SELECT * FROM users WHERE email_key = $1", name_key(email))
            if row is None:
                return None
            stored = _user(row)
            user = change(stored.user)
            await tx.execute(
                "UPDATE users SET auth_level = $2, permissions = $3, password = $4 WHERE email = $1",
                row["email"], user.auth_level, json.dumps({k: dict(v) for k, v in user.permissions.items()}),
                password_hash or stored.password_hash,
            )
            if event is not None:
                await self._append_audit(tx, event(user))
            return user

    async def set_resource_level(self, email: str, kind: str, resource: str, level: int) -> LighthouseUser | None:
        return await self.update_user(
            email, lambda u: replace(u, permissions=set_resource_level(u.permissions, kind, resource, level)),
            resource_lock=_resource_lock(kind, resource),
        )

    async def forget_resource(self, kind: str, resource: str, event: audit.AuditEvent) -> int:
        """Remove every user's level on `resource` and record `event`, in one
        transaction; how many users held one."""
        async with self.db.transaction() as tx:
            # Grants on the resource take this lock too, before their user's: one
            # made meanwhile is either committed (and so seen below) or waits.
            await _lock(tx, _resource_lock(kind, resource))
            rows = await tx.fetch("SELECT email_key, permissions FROM users")
            holders = sorted(r["email_key"] for r in rows if resource in json.loads(r["permissions"]).get(kind, {}))
            for key in holders:  # in one order, so two writers never wait on each other
                await _lock(tx, "user:" + key)
            forgotten = 0
            for key in holders:
                row = await tx.fetchrow("SELECT * FROM users WHERE email_key = $1", key)
                user = None if row is None else _user(row).user
                if user is None or resource not in user.permissions.get(kind, {}):
                    continue  # changed meanwhile
                permissions = set_resource_level(user.permissions, kind, resource, -1)
                await tx.execute("UPDATE users SET permissions = $2 WHERE email = $1", row["email"],
                                 json.dumps(permissions))
                forgotten += 1
            await self._append_audit(tx, event)
            return forgotten

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

    async def add_token(self, record: TokenRecord, event: audit.AuditEvent | None = None, tx=None) -> None:
        """Store a new token with its audit event, in one transaction."""
        if tx is None:
            async with self.db.transaction() as own:
                return await self.add_token(record, event, own)
        await tx.execute(
            "INSERT INTO tokens (id, name, hash, prefix, suffix, scopes, created_at, last_used_at, expires_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            record.id, record.name, record.hash, record.prefix, record.suffix, json.dumps(list(record.scopes)),
            _ts(record.created_at), _ts(record.last_used_at), _ts(record.expires_at),
        )
        if event is not None:
            await self._append_audit(tx, event)

    @_changes_callers
    async def save_token(self, record: TokenRecord, expected_hash: str, event: audit.AuditEvent | None = None) -> bool:
        """Replace a token's record, only if its secret is still
        `expected_hash`, with its audit event, in one transaction."""
        async with self.db.transaction() as tx:
            saved = await tx.execute(
                "UPDATE tokens SET name = $2, hash = $3, prefix = $4, suffix = $5, scopes = $6, "
                "last_used_at = $7 WHERE id = $1 AND hash = $8",
                record.id, record.name, record.hash, record.prefix, record.suffix,
                json.dumps(list(record.scopes)), _ts(record.last_used_at), expected_hash,
            )
            if saved and event is not None:
                await self._append_audit(tx, event)
            return bool(saved)

    async def touch_token(self, token_id: str, when: datetime) -> None:
        await self.db.execute("UPDATE tokens SET last_used_at = $2 WHERE id = $1", token_id, _ts(when))

    @_changes_callers
    async def delete_token(self, token_id: str, event: audit.AuditEvent | None = None) -> bool:
        async with self.db.transaction() as tx:
            deleted = await tx.execute("DELETE FROM tokens WHERE id = $1", token_id)
            if deleted and event is not None:
                await self._append_audit(tx, event)
            return bool(deleted)

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

    @_changes_callers
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

    @_changes_callers
    async def reset_lockouts(self, keys: list[str]) -> int:
        removed = 0
        for key in keys:
            removed += await self.db.execute("DELETE FROM lockouts WHERE key = $1", key)
        return removed

    @_changes_callers
    async def reset_all_lockouts(self) -> int:
        return await self.db.execute("DELETE FROM lockouts")

    # -- recovery tokens ----------------------------------------------------------
    async def add_recovery_token(self, record: RecoveryToken) -> None:
        await self.db.execute(
            "INSERT INTO recovery_tokens (hash, ip, created_at, expires_at, used_at) VALUES ($1, $2, $3, $4, NULL)",
            record.hash, record.ip, _ts(record.created_at), _ts(record.expires_at),
        )

    async def consume_recovery_token(self, token_hash: str, now: datetime) -> bool:
        """Mark the token used, once, before it expires (from wherever it is
        presented: it was made only for a caller on this machine)."""
        used = await self.db.execute(
            "UPDATE recovery_tokens SET used_at = $2 WHERE hash = $1 AND used_at IS NULL AND expires_at > $3",
            token_hash, _ts(now), _ts(now),
        )
        await self.db.execute(
            "DELETE FROM recovery_tokens WHERE expires_at < $1 OR used_at < $2",
            _ts(now) - 86400, _ts(now) - 86400,
        )
        return bool(used)

    async def count_recovery_tokens(self, now: datetime) -> int:
        """Recovery tokens not used yet and not expired."""
        return int(await self.db.fetchval(
            "SELECT COUNT(*) FROM recovery_tokens WHERE used_at IS NULL AND expires_at > $1", _ts(now)))

    # -- bootstrap (remote set-up) -------------------------------------------------
    async def create_bootstrap_token(self, token_hash: str, now: datetime, event: audit.AuditEvent) -> bool:
        """Keep the one bootstrap token's hash, unless one was ever made (by
        another replica too): True when this call made it."""
        async with self.db.transaction() as tx:
            await _lock(tx, "bootstrap")
            made = await tx.execute(
                "INSERT INTO bootstrap_tokens (id, hash, created_at, used_at) VALUES (1, $1, $2, NULL) "
                "ON CONFLICT DO NOTHING",
                token_hash, _ts(now),
            )
            if made:
                await self._append_audit(tx, event)
            return bool(made)

    async def bootstrap_state(self) -> tuple[str | None, bool]:
        """(the unused bootstrap token's hash or None, whether an admin that
        can log in from elsewhere exists: set-up is then done)."""
        async with self.db.transaction() as tx:
            row = await tx.fetchrow("SELECT hash FROM bootstrap_tokens WHERE id = 1 AND used_at IS NULL")
            return (None if row is None else row["hash"]), await _remote_admin_exists(tx)

    @_changes_callers
    async def quick_setup(
        self,
        matches: Callable[[str], bool],
        now: datetime,
        name: str,
        identity: Identity,
        token: TokenRecord | None,
        event: audit.AuditEvent,
    ) -> str:
        """Remote set-up, in one transaction: when the unused bootstrap
        token's hash `matches`, and no admin that can log in from elsewhere
        exists yet, add the admin identity (and the token), use the
        bootstrap token up and record `event`. What happened: "done",
        "invalid_token", "already_set_up" or "name_taken"."""
        async with self.db.transaction() as tx:
            await _lock(tx, "bootstrap")
            await _lock(tx, "identities")
            row = await tx.fetchrow("SELECT hash FROM bootstrap_tokens WHERE id = 1 AND used_at IS NULL")
            if row is None or not matches(row["hash"]):
                return "invalid_token"
            if await _remote_admin_exists(tx):
                await tx.execute("UPDATE bootstrap_tokens SET used_at = $1 WHERE id = 1", _ts(now))
                return "already_set_up"
            names = {r["name"] for r in await tx.fetch("SELECT name FROM identities")}
            if name in names or await tx.fetchval("SELECT email FROM users WHERE email_key = $1", name_key(name)):
                return "name_taken"
            await tx.execute("INSERT INTO identities (name, data, revision) VALUES ($1, $2, 1)",
                             name, json.dumps(identity.to_dict()))
            if token is not None:
                await self.add_token(token, None, tx)
            await tx.execute("UPDATE bootstrap_tokens SET used_at = $1 WHERE id = 1", _ts(now))
            await self._append_audit(tx, event)
            return "done"

    # -- audit ------------------------------------------------------------------
    async def add_audit(self, event: audit.AuditEvent) -> audit.AuditEvent:
        """Append `event` (unsigned) to the chain, signed; in a transaction of its own."""
        async with self.db.transaction() as tx:
            return await self._append_audit(tx, event)

    async def _append_audit(self, tx, event: audit.AuditEvent) -> audit.AuditEvent:
        """Inside `tx`: `event` as the next of the chain (after the last
        event's signature), signed, and the signed head moved to it."""
        await _lock(tx, "audit")
        last = await tx.fetchrow("SELECT seq, signature FROM audit_events ORDER BY seq DESC LIMIT 1")
        seq, previous = (1, "") if last is None else (int(last["seq"]) + 1, last["signature"])
        entry = audit.chained(self.audit_key, event, seq, previous)
        await tx.execute(
            "INSERT INTO audit_events (id, seq, timestamp, event, username, ip, path, success, details, "
            "signature, prev_signature) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            entry.id, seq, _ts(entry.timestamp), entry.event, entry.user, entry.ip, entry.path,
            entry.success, entry.details, entry.signature, entry.previous,
        )
        head = audit.new_head(self.audit_key, entry)
        await tx.execute(
            "INSERT INTO audit_head (id, seq, signature, mac) VALUES (1, $1, $2, $3) "
            "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, signature = excluded.signature, mac = excluded.mac",
            head.seq, head.signature, head.mac,
        )
        return entry

    async def audit_event(self, event_id: str) -> audit.AuditEvent | None:
        row = await self.db.fetchrow("SELECT * FROM audit_events WHERE id = $1", event_id)
        return None if row is None else _audit(row)

    async def audit_neighbours(
        self, event: audit.AuditEvent
    ) -> tuple[audit.AuditEvent | None, audit.AuditEvent | None, audit.Head | None]:
        """The event numbered just before `event`, the first one after it, and the head."""
        before = await self.db.fetchrow("SELECT * FROM audit_events WHERE seq = $1", event.seq - 1)
        after = await self.db.fetchrow(
            "SELECT * FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT 1", event.seq)
        head = await self.db.fetchrow("SELECT seq, signature, mac FROM audit_head WHERE id = 1")
        return (
            None if before is None else _audit(before),
            None if after is None else _audit(after),
            None if head is None else audit.Head(int(head["seq"]), head["signature"], head["mac"]),
        )

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


async def _remote_admin_exists(tx) -> bool:
    """Whether someone can administer Shoal from another machine: an admin
    identity with a password or a certificate, or a "*" token."""
    for row in await tx.fetch("SELECT name, data FROM identities"):
        identity = parse_identity(row["name"], json.loads(row["data"]))
        if identity.access == "admin" and (identity.basic is not None or identity.cert is not None):
            return True
    return any("*" in json.loads(r["scopes"]) for r in await tx.fetch("SELECT scopes FROM tokens"))


def _resource_lock(kind: str, resource: str) -> str:
    return f"resource:{kind}:{resource}"


async def _lock(tx, name: str) -> None:
    """Serialise writers of `name` across replicas (PostgreSQL: a transaction
    advisory lock; SQLite: its single writer already does)."""
    if tx.db.backend == "postgresql":
        await tx.execute("SELECT pg_advisory_xact_lock($1)", lock_key("identity:" + name))
