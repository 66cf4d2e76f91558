"""Pulse's set-up and posture routes: the bootstrap token and quick-setup
(rules in bootstrap.py), who-am-i, the security status, health and version.
"""

from __future__ import annotations

import json
import logging
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

from google.protobuf import empty_pb2

from services.common import errors
from services.common.errors import Failure
from services.common.interceptor import current_caller
from services.identity import audit, bootstrap, lockout
from services.identity.core import IdentityCore, refusal
from services.identity.identities import ADMIN, BasicIdentity, Identity, parse_identity
from services.identity.privileges import holding
from services.identity.times import format_rfc3339
from services.identity.tokens import ALL, PRIMARY_ID, TokenRecord, hash_token
from shoal import __version__
from shoal.descriptors import all_methods
from shoal.v1 import identity_pb2

log = logging.getLogger("shoal.identity")

INVALID_BOOTSTRAP = {"error": "invalid_bootstrap_token",
                     "message": "missing, invalid or already used bootstrap token (send it in X-Setup-Token)"}
SETUP_PATH = "/api/security/quick-setup"


def http_credential_routes() -> list[str]:
    """What plain HTTP carries beside open routes: the metrics-level routes
    (Pebble's /v1/metrics), for a metrics credential only."""
    return sorted({m.http_path for m in all_methods() if m.http_method and m.access == "metrics"
                   and m.transports == "any"})


def build_time() -> str:
    """When the installed Shoal was built: its package metadata's time, or
    "development" for a source checkout (as Pulse says of its own)."""
    from importlib import metadata  # with zipfile, csv and email: only when asked

    try:
        dist = metadata.distribution("shoal")
    except metadata.PackageNotFoundError:
        return "development"
    try:
        direct = json.loads(dist.read_text("direct_url.json") or "{}")
    except ValueError:
        direct = {}
    if direct.get("dir_info", {}).get("editable"):
        return "development"
    try:
        stamp = Path(str(dist.locate_file(f"shoal-{dist.version}.dist-info/METADATA"))).stat().st_mtime
    except OSError:
        return "development"
    return format_rfc3339(datetime.fromtimestamp(stamp, UTC).replace(microsecond=0))


class SetupRPC(IdentityCore):
    async def ensure_bootstrap_token(self) -> None:
        """At start: make and print the bootstrap token once, if no admin
        can log in from elsewhere and none was ever made (by any replica)."""
        pending, admin_exists = await self.store.bootstrap_state()
        if admin_exists or pending is not None:
            return
        raw = bootstrap.new_token()
        event = self.event(audit.BOOTSTRAP_TOKEN_CREATED, details="printed once to the identity service's log")
        if await self.store.create_bootstrap_token(bootstrap.hash_token(raw), self.now(), event):
            log.warning("%s", bootstrap.announcement(raw))

    async def _setup_attempt_failed(self, origin: str) -> None:
        key = ["setup:" + (origin or "unknown")]
        now = self.now()
        await self.store.update_lock_records(key, lambda current: ({key[0]: lockout.register_failure(
            current[key[0]], now)}, None))

    async def _setup_rate_limit(self, origin: str) -> None:
        """Guesses at the bootstrap token: 5 wrong ones from an address wait 15 minutes."""
        record = (await self.store.lock_records(["setup:" + (origin or "unknown")]))["setup:" + (origin or "unknown")]
        if lockout.is_locked(record, self.now()):
            raise errors.DomainError("too many wrong bootstrap tokens from this address; try again later",
                                     Failure.RATE_LIMITED, kind="rate_limit")

    async def ValidateBootstrapToken(self, request, context):
        caller = current_caller()
        await self._setup_rate_limit(caller.origin)
        pending, admin_exists = await self.store.bootstrap_state()
        if pending is None or admin_exists or not bootstrap.matches(request.token, pending):
            await self._setup_attempt_failed(caller.origin)
            raise refusal(Failure.UNAUTHENTICATED, INVALID_BOOTSTRAP)
        return empty_pb2.Empty()

    async def QuickSetup(self, request, context):
        caller = current_caller()
        await self._setup_rate_limit(caller.origin)
        if not request.setup_token:
            raise refusal(Failure.UNAUTHENTICATED, INVALID_BOOTSTRAP)
        name = request.username.strip()
        if not name:
            raise errors.invalid("username is required", kind="missing_username")
        parse_identity(name, {"access": ADMIN, "local": {"user-id": 0}}, new=True)  # the name rule, Pebble's words
        password = request.password
        if len(password) < bootstrap.MIN_PASSWORD or len(password) > 1024 or "\x00" in password:
            raise errors.invalid(f"password must be {bootstrap.MIN_PASSWORD} to 1024 characters, without NUL",
                                 kind="invalid_password")
        token = None
        if request.api_token:
            if not bootstrap.is_api_token(request.api_token):
                raise errors.invalid("apiToken must be 64 lower-case hex characters", kind="invalid_api_token")
            raw = request.api_token
            token = TokenRecord(id=PRIMARY_ID, name="primary API token", hash=hash_token(raw), prefix=raw[:6],
                                suffix=raw[-4:], created_at=self.now(), scopes=(ALL,))
        identity = Identity(access=ADMIN, basic=BasicIdentity(await self.hasher.hash(password)))
        event = self.event(audit.QUICK_SETUP, caller, path=SETUP_PATH,
                           details=f"admin identity {name}" + (" and the primary API token" if token else ""))
        outcome = await self.store.quick_setup(lambda stored: bootstrap.matches(request.setup_token, stored),
                                               self.now(), name, identity, token, event)
        if outcome == "invalid_token":
            await self._setup_attempt_failed(caller.origin)
            await self.record(audit.QUICK_SETUP, user=caller.identity, ip=caller.origin, path=SETUP_PATH,
                              success=False, details="invalid bootstrap token")
            raise refusal(Failure.UNAUTHENTICATED, INVALID_BOOTSTRAP)
        if outcome == "already_set_up":
            raise errors.conflict("Shoal is already set up: an admin can log in from elsewhere "
                                  "(quick-setup never replaces one, force or not)", kind="already_set_up")
        if outcome == "name_taken":
            raise errors.conflict(f'the name "{name}" is taken by an identity or a user', kind="name_taken")
        return identity_pb2.QuickSetupResponse(
            success=True, username=name,
            message=f'Set-up done: "{name}" is an admin; log in over HTTPS. The bootstrap token is used up.')

    async def WhoAmI(self, request, context):
        caller = current_caller()
        answer = identity_pb2.WhoAmIResponse(name=caller.identity, access=holding(caller).level,
                                             scopes=caller.scopes, method=caller.method)
        if caller.uid is not None:
            answer.uid = caller.uid
        return answer

    async def GetSecurityStatus(self, request, context):
        identities = await self.store.count("identities")
        tokens = await self.store.count("tokens")
        users = await self.store.count("users")
        pending, admin_exists = await self.store.bootstrap_state()
        credential_routes = http_credential_routes()
        return identity_pb2.SecurityStatus(
            has_authentication=bool(identities or tokens or users),
            api_token_count=tokens, identity_count=identities, user_count=users,
            unix_socket=True,
            http_listener=bool(self.settings.http_address),
            https_listener=bool(self.settings.https_address),
            http_open_routes_only=not credential_routes,
            http_credential_routes=credential_routes,
            bootstrap_token_pending=pending is not None and not admin_exists,
            remote_admin_configured=admin_exists,
            auth_can_be_disabled=False,
        )

    async def GetApiHealth(self, request, context):
        return identity_pb2.ApiHealth(status="healthy", timestamp=int(time.time()),
                                      uptime=round(time.monotonic() - self.started, 3))

    async def GetApiVersion(self, request, context):
        built = build_time()
        return identity_pb2.ApiVersion(version=__version__.lstrip("v"), build_time=built,
                                       build="development" if built == "development" else "release",
                                       runtime=f"python {platform.python_version()}")
