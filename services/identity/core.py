"""What every identity RPC shares: the store, the password hasher and its
verified-credential cache, the audit log, who is calling, and the one
password check that honours lockout.

Lockout (lockout.py) counts failures per username and per client address,
across logins and Basic credentials. A password this process already
verified (a hit in the verified-credential cache) is not a guess, so it is
let in while only its *address* is locked: a flood of wrong passwords from
one address cannot lock out the good clients behind it. A locked *user*
stays locked for every password, verified before or not. Attempts refused
while locked are counted and recorded in aggregate (`LockedRefusals`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from services.common.config import Settings
from services.common.errors import DomainError, Failure
from services.common.signing import Caller
from services.identity import audit, auth_metrics, lockout
from services.identity.passwords import BoundedHasher, HasherBusy, VerifiedCache
from services.identity.privileges import holding, operator_resources
from services.identity.store import IdentityStore
from services.identity.times import utcnow
from services.identity.userlevels import LighthouseUser

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


lock_keys = lockout.lock_keys


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
        self.audit_key = store.audit_key
        self.locked_refusals = lockout.LockedRefusals()
        self.started = time.monotonic()

    async def lighthouse_caller(self, caller: Caller, requested: dict | None = None) -> LighthouseUser:
        """The caller as a Lighthouse user: its own user record (a user logs
        in with a session only); an admin that is no user, the operator,
        stands above everyone and owns every resource in `requested` (kind →
        keys) that it may own (privileges.operator_resources); anyone else
        is a level-0 user with no resources."""
        user = await self.store.lighthouse_user(caller.identity) if caller.method == "session" else None
        if user is not None:
            return user
        held = holding(caller)
        if held.level == "admin":
            owned = {kind: {key: 2 for key in (requested or {}).get(kind, {})} for kind in operator_resources(held)}
            return LighthouseUser(caller.identity, OPERATOR_LEVEL, owned)
        return LighthouseUser(caller.identity, 0)

    @staticmethod
    def event(event: str, caller: Caller | None = None, **fields) -> audit.AuditEvent:
        """An audit event (unsigned: the store chains and signs it), by `caller`."""
        if caller is not None:
            fields.setdefault("user", caller.identity)
            fields.setdefault("ip", caller.origin)
        return audit.AuditEvent.new(event, **fields)

    async def record(self, event: str, *, user: str = "", ip: str = "", path: str = "",
                     success: bool = True, details: str = "") -> None:
        await self.store.add_audit(self.event(event, user=user, ip=ip, path=path, success=success, details=details))

    async def check_password(
        self, name: str, password: str, hashed: str | None, version, origin: str, path: str, how: str
    ) -> PasswordCheck:
        """Verify `name`'s password with lockout and audit. `hashed` None:
        no such account (the same cost is paid). Counted in the metrics as
        `how` ("basic" or "login")."""
        check = await self._check_password(name, password, hashed, version, origin, path, how)
        if check.ok:
            auth_metrics.attempt(how, "accepted")
        else:
            outcome = {lockout.LOCKED: "locked", Failure.UNAVAILABLE: "busy"}.get(check.failure, "refused")
            auth_metrics.attempt(how, outcome)
            if (check.body or {}).get("locked"):
                auth_metrics.LOCKOUTS.inc()
        return check

    async def _check_password(
        self, name: str, password: str, hashed: str | None, version, origin: str, path: str, how: str
    ) -> PasswordCheck:
        cache = self.hasher.cache
        keys = lock_keys(name, origin)
        now = utcnow()
        verified = hashed is not None and cache is not None and cache.check(name, password, version)
        records = await self.store.lock_records(keys[:1] if verified else keys)
        user_record, ip_record = records.get(keys[0]), records.get(keys[1])
        if verified and not lockout.is_locked(user_record, now):
            return PasswordCheck(True)
        refused = lockout.check_login(user_record, ip_record, now)
        if refused is not None:
            failure, body = refused
            locked = [(kind, key) for kind, key in (("user", keys[0]), ("address", keys[1]))
                      if lockout.is_locked(records.get(key), now)]
            body["lockedBy"] = [kind for kind, _ in locked]
            await self._refused_while_locked(locked[0][1], name, origin, path)
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
            self.store.callers_changed()  # a locked user stays locked for every password, verified before or not
            await self.record(audit.ACCOUNT_LOCKED, user=name, ip=origin, path=path, success=False,
                              details=f"locked after {lockout.THRESHOLD} failed attempts")
        return PasswordCheck(False, failure, body)

    # -- refusals while locked, in aggregate ------------------------------------------
    async def _refused_while_locked(self, key: str, name: str, origin: str, path: str) -> None:
        report = self.locked_refusals.note(key, name, origin, time.monotonic())
        if report is not None:
            await self._record_refusals(report, path)

    async def _record_refusals(self, report: lockout.RefusalReport, path: str = "") -> None:
        what = "other locked keys" if report.key == lockout.OTHER_KEYS else report.key
        await self.record(audit.LOGIN_REFUSED_LOCKED, user=report.user, ip=report.ip, path=path, success=False,
                          details=f"{report.count} login attempt(s) refused while {what} is locked")

    async def report_locked_refusals(self, interval: float | None = None) -> None:
        """Record the counts that are due, every `interval` seconds, until
        cancelled; then whatever is still counted."""
        every = interval or self.locked_refusals.interval
        try:
            while True:
                await asyncio.sleep(every)
                for report in self.locked_refusals.due(time.monotonic()):
                    await self._record_refusals(report)
        finally:
            for report in self.locked_refusals.drain():
                with contextlib.suppress(Exception):  # stopping: a failed write must not hide the stop
                    await self._record_refusals(report)

    def now(self) -> datetime:
        return utcnow()
