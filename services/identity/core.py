"""What every identity RPC shares: the store, the password hasher and its
verified-credential cache, the audit signer, who is calling, and the one
password check that honours lockout.

Lockout (lockout.py) counts failures per username and per client address,
across logins and Basic credentials. A password this process already
verified (a hit in the verified-credential cache) is not a guess, so it is
let in even while its address is locked: a flood of wrong passwords from one
address cannot lock out the good clients behind it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from services.common.config import Settings
from services.common.errors import DomainError, Failure
from services.common.signing import Caller
from services.identity import audit, lockout
from services.identity.passwords import BoundedHasher, HasherBusy, VerifiedCache
from services.identity.store import IdentityStore
from services.identity.times import utcnow
from services.identity.userlevels import KINDS, OWNER, LighthouseUser

# An admin caller that is not a Lighthouse user (the machine's operator)
# stands above every user.
OPERATOR_LEVEL = 2**31 - 1


def audit_key_path(settings: Settings) -> Path:
    return Path(settings.audit_key_file or settings.home / "audit-signing.key")


def refusal(failure: Failure, body: dict) -> DomainError:
    """A refusal whose JSON body is `body` ({"error", "message", ...})."""
    body = dict(body)
    message = body.pop("message", "")
    kind = body.pop("error", "")
    return DomainError(message, failure, kind=kind, extra=body)


def lock_keys(name: str, origin: str) -> list[str]:
    return ["user:" + name, "ip:" + (origin or "unknown")]


@dataclass(frozen=True)
class PasswordCheck:
    ok: bool
    # When refused: UNAUTHENTICATED (bad credentials), FORBIDDEN (locked) or
    # UNAVAILABLE (busy), and the body that says so.
    failure: Failure | None = None
    body: dict | None = None

    def refusal(self) -> DomainError:
        return refusal(self.failure, self.body or {})


class IdentityCore:
    def __init__(self, settings: Settings, store: IdentityStore):
        self.settings = settings
        self.store = store
        self.hasher = BoundedHasher(
            max_concurrency=settings.hash_concurrency, max_pending=settings.hash_pending,
            cache=VerifiedCache(os.urandom(32), ttl=3600),
        )
        self.audit_key = audit.load_or_create_key(audit_key_path(settings))

    async def lighthouse_caller(self, caller: Caller, requested: dict | None = None) -> LighthouseUser:
        """The caller as a Lighthouse user: its own user record; an admin
        operator stands above everyone and owns every resource in `requested`
        (kind → keys); anyone else is a level-0 user with no resources."""
        user = await self.store.lighthouse_user(caller.identity) if "@" in caller.identity else None
        if user is not None:
            return user
        if caller.at_least("admin"):
            owned = {kind: {key: OWNER for key in (requested or {}).get(kind, {})} for kind in KINDS}
            return LighthouseUser(caller.identity, OPERATOR_LEVEL, owned)
        return LighthouseUser(caller.identity, 0)

    async def record(self, event: str, *, user: str = "", ip: str = "", path: str = "",
                     success: bool = True, details: str = "") -> None:
        entry = audit.AuditEvent.new(event, user=user, ip=ip, path=path, success=success, details=details)
        await self.store.add_audit(audit.signed(self.audit_key, entry))

    async def check_password(
        self, name: str, password: str, hashed: str | None, version, origin: str, path: str, how: str
    ) -> PasswordCheck:
        """Verify `name`'s password with lockout and audit. `hashed` None:
        no such account (the same cost is paid)."""
        cache = self.hasher.cache
        if hashed is not None and cache is not None and cache.check(name, password, version):
            return PasswordCheck(True)
        keys = lock_keys(name, origin)
        now = utcnow()
        records = await self.store.lock_records(keys)
        refused = lockout.check_login(records[keys[0]], records[keys[1]], now)
        if refused is not None:
            failure, body = refused
            body["lockedBy"] = [kind for kind, key in (("user", keys[0]), ("address", keys[1]))
                                if lockout.is_locked(records[key], now)]
            return PasswordCheck(False, failure, body)
        try:
            ok = await self.hasher.verify_identity(name, password, hashed, version)
        except HasherBusy as busy:
            return PasswordCheck(False, busy.failure, {"error": busy.kind, "message": busy.message})
        if ok:
            if any(records.values()):
                await self.store.reset_lockouts(keys)
            return PasswordCheck(True)

        def count(current):
            user, ip, failure, body = lockout.login_failed(current[keys[0]], current[keys[1]], now)
            return {keys[0]: user, keys[1]: ip}, (failure, body)

        failure, body = await self.store.update_lock_records(keys, count)
        await self.record(audit.LOGIN, user=name, ip=origin, path=path, success=False,
                          details=f"{how}: invalid credentials")
        if body.get("locked"):
            await self.record(audit.ACCOUNT_LOCKED, user=name, ip=origin, path=path, success=False,
                              details=f"locked after {lockout.THRESHOLD} failed attempts")
        return PasswordCheck(False, failure, body)

    def now(self) -> datetime:
        return utcnow()
