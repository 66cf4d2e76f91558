"""Who is calling (Authenticate, for the gateway), logins and sessions,
lockout reset and recovery.

Authenticate tries, first match wins: a client certificate equal to a
`cert` identity's; Basic credentials of a `basic` identity; an API token
(an unknown or expired one is refused at once); a session; the unix peer
uid of a `local` identity. On the unix socket a refused Basic password or a
stale session falls back to the peer's uid, as Pebble does. Refused
credentials (a bad token, a wrong password, a lockout, an expired session)
are a gRPC error whose kind and fields travel in trailing metadata, as for
any other RPC; the gateway answers them in the route's family shape.
"""

from __future__ import annotations

import hashlib
import secrets
import ssl
from datetime import timedelta

from google.protobuf import empty_pb2

from services.common import errors
from services.common.errors import Failure
from services.common.interceptor import current_caller
from services.identity import audit, auth_metrics, lockout
from services.identity.core import IdentityCore, refusal
from services.identity.privileges import is_socket_admin
from services.identity.recovery import RecoveryTokens, hash_recovery_token
from services.identity.store import Session
from services.identity.tokens import hash_token
from shoal.v1 import identity_pb2

SESSION_HOURS = 24
REMEMBER_DAYS = 30
TOUCH_EVERY = timedelta(minutes=1)
RECOVERY_PATH = "/api/security/recovery"
RECOVERY_ONLY_HERE = ("Recovery tokens are made only for an admin on the unix socket (root or the daemon's own "
                      "user) or by `shoal recovery-token` on this machine, never for a TCP caller")
AUTH_ALWAYS_ON = ("Shoal never turns authentication off, not even for one local browser: a session without "
                  "credentials is what an attacker on this machine or behind a local proxy would use. To get back "
                  "in, clear lockouts with a recovery token (`shoal recovery-token`, or generate_token as root on "
                  "the unix socket, then reset_lockout), or act as root on the unix socket")
INVALID_TOKEN = {"error": "invalid_token", "message": "Invalid API token"}
SESSION_EXPIRED = {"error": "session_expired", "message": "session expired or invalid; log in again"}


def session_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def _matched(name: str, access: str, method: str, scopes=()) -> identity_pb2.AuthenticateResponse:
    return identity_pb2.AuthenticateResponse(matched=True, name=name, access=access, method=method, scopes=scopes)


def _cert_der(pem: str) -> bytes | None:
    try:
        return ssl.PEM_cert_to_DER_cert(pem)
    except ValueError:
        return None


class AuthRPC(IdentityCore):
    async def Authenticate(self, request, context):
        on_socket = request.HasField("peer_uid")
        origin = request.client_ip
        if request.cert_pem:
            answer = await self._by_certificate(request.cert_pem)
            if answer is not None:
                return answer
        if request.basic_username:
            answer = await self._by_password(request, origin, on_socket)
            if answer is not None:
                return answer
        if request.token:
            return await self._by_token(request.token)
        if request.session_token:
            answer = await self._by_session(request.session_token)
            if answer is not None:
                auth_metrics.attempt("session", "accepted")
                return answer
            auth_metrics.attempt("session", "refused")
            if not on_socket:
                raise refusal(Failure.UNAUTHENTICATED, SESSION_EXPIRED)
        if on_socket:
            found = await self.store.identity_by_uid(request.peer_uid)
            if found is not None:
                auth_metrics.attempt("local", "accepted")
                return _matched(found[0], found[1].access, "local")
            auth_metrics.attempt("peer", "accepted")  # the gateway applies the uid's default
        return identity_pb2.AuthenticateResponse(matched=False)

    async def ListClientCertificates(self, request, context):
        identities = (await self.store.identities()).values()
        return identity_pb2.ClientCertificates(
            pem=sorted(s.identity.cert.pem for s in identities if s.identity.cert is not None))

    async def _by_certificate(self, pem: str):
        der = _cert_der(pem)
        if der is None:
            return None
        for name, stored in (await self.store.identities()).items():
            cert = stored.identity.cert
            if cert is not None and _cert_der(cert.pem) == der:
                auth_metrics.attempt("cert", "accepted")
                return _matched(name, stored.identity.access, "cert")
        return None

    async def _by_password(self, request, origin: str, on_socket: bool):
        name = request.basic_username
        stored = await self.store.identity(name)
        basic = stored.identity.basic if stored is not None else None
        check = await self.check_password(
            name, request.basic_password, basic.password if basic else None,
            ("identity", stored.revision) if stored else None, origin, request.path, "basic",
        )
        if check.ok:
            return _matched(name, stored.identity.access, "basic")
        if on_socket:
            return None
        raise check.refusal()

    async def _by_token(self, raw: str):
        record = await self.store.token_by_hash(hash_token(raw))
        now = self.now()
        if record is None or not record.matches(raw, now):
            auth_metrics.attempt("token", "refused")
            raise refusal(Failure.UNAUTHENTICATED, INVALID_TOKEN)
        if record.last_used_at is None or now - record.last_used_at > TOUCH_EVERY:
            await self.store.touch_token(record.id, now)
        auth_metrics.attempt("token", "accepted")
        return _matched(f"token:{record.name}", record.access_level(), "token", record.scopes)

    async def _by_session(self, raw: str):
        session = await self.store.session(session_hash(raw), self.now())
        if session is None:
            return None
        if session.kind == "user":
            if await self.store.user(session.subject) is None:
                return None
            return _matched(session.subject, "read", "session")
        stored = await self.store.identity(session.subject)
        if stored is None:
            return None
        return _matched(session.subject, stored.identity.access, "session")

    # -- logins -------------------------------------------------------------------
    async def Login(self, request, context):
        return await self._login(context, request.username, request.password, request.remember_me,
                                 "/api/login", identities=True)

    async def LighthouseLogin(self, request, context):
        return await self._login(context, request.email, request.password, False,
                                 "/api/v0.2/login", identities=False)

    async def _login(self, context, name: str, password: str, remember: bool, path: str, identities: bool):
        origin = current_caller().origin
        if not name or not password:
            raise errors.invalid("username and password are required")
        kind, hashed, version = "user", None, None
        stored = await self.store.identity(name) if identities else None
        if stored is not None and stored.identity.basic is not None:
            kind, hashed, version = "identity", stored.identity.basic.password, ("identity", stored.revision)
        else:
            user = await self.store.user(name)
            if user is not None:  # found ignoring case: the session is in the user's own spelling
                name, hashed, version = user.user.email, user.password_hash, ("user", user.password_hash)
        check = await self.check_password(name, password, hashed, version, origin, path, "login")
        if not check.ok:
            if not identities and check.failure is Failure.UNAUTHENTICATED:
                raise errors.unauthenticated("email or password incorrect", kind="auth")
            raise check.refusal()
        raw = secrets.token_urlsafe(32)
        lifetime = timedelta(days=REMEMBER_DAYS) if remember else timedelta(hours=SESSION_HOURS)
        now = self.now()
        await self.store.add_session(session_hash(raw), Session(kind, name, origin, now + lifetime), now)
        await self.record(audit.LOGIN, user=name, ip=origin, path=path, details=f"session ({kind})")
        return identity_pb2.LoginResponse(
            success=True, message="Successfully logged in", session_token=raw,
            max_age_seconds=int(lifetime.total_seconds()),
        )

    async def Logout(self, request, context):
        return await self._logout(context, request.session_token, "/api/logout")

    async def LighthouseLogout(self, request, context):
        return await self._logout(context, request.session_token, "/api/v0.2/logout")

    async def _logout(self, context, raw: str, path: str):
        if raw:
            session = await self.store.delete_session(session_hash(raw))
            if session is not None:
                await self.record(audit.LOGOUT, user=session.subject, ip=current_caller().origin, path=path)
        return empty_pb2.Empty()

    # -- lockout and recovery ---------------------------------------------------------
    async def ResetLockout(self, request, context):
        identifier = request.identifier.strip()
        if not identifier:
            raise errors.invalid("identifier is required", kind="missing_identifier")
        caller = current_caller()
        await self.store.reset_lockouts(lockout.reset_keys(identifier))
        await self.record(audit.LOCKOUT_RESET, user=caller.identity, ip=caller.origin,
                          path="/api/security/reset-lockout", details=f"reset {identifier}")
        return identity_pb2.ResetLockoutResponse(success=True, message=f"Lockout reset for {identifier}")

    async def Recovery(self, request, context):
        caller = current_caller()
        origin = caller.origin
        if request.action == "generate_token":
            return await self._recovery_token(caller, request.duration or None)
        if request.action == "reset_lockout":
            if not request.token or not await self.store.consume_recovery_token(
                hash_recovery_token(request.token), self.now()
            ):
                await self.record(audit.LOCKOUT_RESET, ip=origin, path=RECOVERY_PATH, success=False,
                                  details="recovery token refused")
                raise errors.denied("Recovery requires a valid recovery token (once, before it expires)",
                                    kind="forbidden")
            if request.identifier:
                await self.store.reset_lockouts(lockout.reset_keys(request.identifier))
                what = request.identifier
            else:
                await self.store.reset_all_lockouts()
                what = "every account and address"
            await self.record(audit.LOCKOUT_RESET, ip=origin, path=RECOVERY_PATH, details=f"recovery: reset {what}")
            return identity_pb2.RecoveryResponse(success=True, message=f"Lockout reset for {what}")
        if request.action in ("disable_auth", "enable_auth"):
            raise errors.denied(AUTH_ALWAYS_ON, kind="auth_always_on", extra={"success": False})
        # Pulse answers 200 with success false; bad input is a 400 here (same body fields).
        raise errors.invalid("Invalid action. Use 'generate_token' or 'reset_lockout'",
                             kind="invalid_action", extra={"success": False})

    async def _recovery_token(self, caller, duration):
        """A recovery token, only for an admin peer on the unix socket or a
        Shoal service (`shoal recovery-token`, which writes it to a file)."""
        if not (caller.is_service or is_socket_admin(caller)):
            await self.record(audit.RECOVERY_TOKEN_CREATED, user=caller.identity, ip=caller.origin,
                              path=RECOVERY_PATH, success=False, details="refused: not an admin on the unix socket")
            raise errors.denied(RECOVERY_ONLY_HERE, kind="forbidden")
        raw, record = RecoveryTokens().create(caller.origin or caller.identity, self.now(), duration)
        await self.store.add_recovery_token(record)
        minutes = int((record.expires_at - record.created_at).total_seconds() // 60)
        await self.record(audit.RECOVERY_TOKEN_CREATED, user=caller.identity, ip=caller.origin, path=RECOVERY_PATH)
        return identity_pb2.RecoveryResponse(
            success=True, token=raw, expires_in_minutes=minutes,
            message=f"Recovery token valid for {minutes} minutes, once: reset_lockout with it over HTTPS or the "
                    "unix socket",
        )

    async def GetRecoveryStatus(self, request, context):
        return identity_pb2.RecoveryStatus(
            recovery_mode=False, pending_tokens=await self.store.count_recovery_tokens(self.now()),
            message="Authentication is always on; a recovery token clears lockouts (reset_lockout), once",
        )
