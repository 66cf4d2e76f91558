"""Who is calling, and whether that caller may use a route: authentication,
authorization and CSRF, in one place.

Resolution (first match wins, DESIGN.md): client certificate, Basic, API
token, session cookie, then unix peer credentials. The identity service
decides (`Identity.Authenticate`); until it knows a caller, peer credentials
do: uid 0 or the gateway's own uid → admin, any other uid → read; nothing →
untrusted. Refused credentials come back as a gRPC error, answered after a
pause.

Transports as Pebble: the unix socket and HTTPS are concealed. Plain HTTP
reaches open routes only, plus /v1/metrics for a metrics-level credential.
A route whose `transports` option is "concealed" (it carries a password or
a one-time token) or "unix" answers nowhere else, whoever calls. An open
route with `resolve_caller` still has its caller resolved and signed.

An API token reaches exactly the routes whose `scopes` option names one of
its scopes (`*` reaches every route); the call is signed with the higher of
the route's level and the scope's own (shoal.access.SCOPE_ACCESS), so the
service sees a caller entitled to that route and no other. Sessions and
identities are not scoped: their access level decides.

A state-changing request authenticated by a session cookie must echo the
session's CSRF token in X-CSRF-Token; so must a websocket upgrade whose
Origin is not the gateway's own (or that has none): a cookie alone opens no
cross-site websocket.

On Pebble's `/v1`, as Pebble answers: every caller below a route's level
gets 401 `access denied` (kind login-required), whatever it is, and refused
credentials (a wrong password, a lockout, an unknown token) are that same
401; a `Basic` header that does not decode is no credential at all, so the
socket's uid decides. The other families say what was refused (401 for no
or bad credentials, 403 for too low).

What the identity service said about some credentials is kept a second
(keyed by an HMAC of them under a per-process key, so no password or token
is held in the clear). A write through this gateway to the identity service
drops every kept answer at once (`callers_changed`), so an identity change
made here applies to the very next request. So does one made through any
other gateway worker on this machine: the identity service raises its
generation (services/common/generation.py) before it answers such a write,
and each request compares it with the one this gateway last saw. A gateway
replica on another machine sees a change within that second.

What a connection's transport, peer uid, origin and client certificate are
is read once per connection (gateway/connections.py). A request that sends
the same credential headers (Authorization, X-API-Token, Cookie) as the
previous request on its connection, compared in constant time, skips
reading them and their HMAC: its cache key is the previous one, and the
cache still decides what it stands for (expired, dropped, forgotten: asked
again). Those headers stay on the connection only as long as it is open,
as the request does. A token's caller, signed for a route, is made once per
resolved answer and route.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass, field, replace
from typing import Protocol

import grpc
from aiohttp import web
from multidict import istr

from gateway.calls import DEFAULT_DEADLINE, ServiceCalls
from gateway.connections import Connection, connection_of
from gateway.errors import HTTPError, from_rpc_error
from services.common.config import Settings
from services.common.generation import GenerationReader, generation_path
from services.common.signing import Caller
from shoal import access
from shoal.descriptors import Method, methods_by_path
from shoal.v1 import identity_pb2

SESSION_COOKIE = "shoal_session"
SECURE_SESSION_COOKIE = "__Host-shoal_session"
CSRF_COOKIE = "shoal_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CACHE_TTL = 1.0
CACHE_MAX = 10_000
SEEN_TTL = 600.0
LOCKOUT_TTL = 2.0
REFUSAL_DELAY = 1.0  # seconds before refusing credentials
ACCESS_DENIED = "access denied"  # Pebble's one refusal on /v1

ANONYMOUS = Caller(identity="", access="untrusted")


# -- credentials on the request ------------------------------------------------------
@dataclass(frozen=True)
class Credentials:
    basic: tuple[str, str] | None = None
    token: str = ""
    session: str = ""
    cert_pem: str = ""
    uid: int | None = None
    client_ip: str = ""

    @property
    def empty(self) -> bool:
        return not (self.basic or self.token or self.session or self.cert_pem) and self.uid is None


class MalformedCredentials(Exception):
    pass


def session_cookie_name(request: web.Request) -> str:
    return SECURE_SESSION_COOKIE if connection_of(request).transport == "https" else SESSION_COOKIE


def _basic(value: str) -> tuple[str, str] | None:
    """The (user, password) of a Basic header's value; None when it does not decode."""
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


def read_credentials(request: web.Request, lenient: bool = False) -> Credentials:
    """Every credential `request` carries, with its connection's peer uid
    and certificate. A Basic header that does not decode is refused
    (MalformedCredentials), or with `lenient` (Pebble's rule on /v1) ignored."""
    connection = connection_of(request)
    basic = None
    token = request.headers.get("X-API-Token", "")
    authorization = request.headers.get("Authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "basic" and value:
        basic = _basic(value)
        if basic is None and not lenient:
            raise MalformedCredentials("malformed Basic credentials")
    elif scheme.lower() == "bearer" and value and not token:
        token = value.strip()
    cookie = SECURE_SESSION_COOKIE if connection.transport == "https" else SESSION_COOKIE
    session = request.cookies.get(cookie, "") if request.headers.get("Cookie") else ""
    return Credentials(basic=basic, token=token, session=session, cert_pem=connection.cert_pem,
                       uid=connection.uid, client_ip=connection.origin)


def _undecodable_basic(request: web.Request, credentials: Credentials) -> bool:
    """Whether `request` sent a Basic header that did not decode (ignored by a lenient read)."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "basic" and bool(value) and credentials.basic is None


def client_origin(request: web.Request) -> str:
    """Where a request came from: the peer IP, or "local" on the unix socket."""
    return connection_of(request).origin


class _Memo:
    """What the gate keeps on one connection (gateway/connections.py): its
    anonymous caller, and the credential headers sent last on it with the
    CallerCache key they give. A later request that sends the same headers
    (compared in constant time) on that connection has the same credentials
    (the rest of them are the connection's), so its key is that one, with no
    parsing and no HMAC; what the key stands for is still the CallerCache's
    to say (its expiry, a drop, a forgotten session)."""

    __slots__ = ("anonymous", "key", "sent")

    def __init__(self, origin: str):
        self.anonymous = Authenticated(replace(ANONYMOUS, origin=origin))
        self.sent = ""  # the headers, joined
        self.key: bytes | None = None  # their key; EMPTY: no credentials at all

    def key_for(self, sent: str) -> bytes | None:
        if self.key is None or not sent.isascii():
            return None
        return self.key if hmac.compare_digest(sent, self.sent) else None

    def remember(self, sent: str, key: bytes) -> None:
        if sent.isascii():
            self.sent, self.key = sent, key


EMPTY = b""  # the memo's key for a connection's requests without credentials


def _memo(connection: Connection) -> _Memo:
    memo = connection.memo
    if memo is None:
        memo = connection.memo = _Memo(connection.origin)
    return memo


_AUTHORIZATION, _TOKEN, _COOKIE = istr("Authorization"), istr("X-API-Token"), istr("Cookie")  # looked up unfolded


def anonymous(request: web.Request) -> Caller:
    """The caller of an open route: nobody, from where the request came."""
    return _memo(connection_of(request)).anonymous.caller


# -- CSRF --------------------------------------------------------------------------
def csrf_token(secret: bytes, session: str) -> str:
    """The CSRF token of a session: derived, so every gateway replica agrees
    and nothing more is stored."""
    return hmac.new(secret, b"shoal.csrf\x00" + session.encode(), hashlib.sha256).hexdigest()


def is_websocket_upgrade(request: web.Request) -> bool:
    return (request.headers.get("Upgrade", "").lower() == "websocket"
            and "upgrade" in request.headers.get("Connection", "").lower())


def same_origin(request: web.Request) -> bool:
    """Whether the request's Origin is this gateway as the client addressed it."""
    origin = request.headers.get("Origin", "")
    scheme = "https" if connection_of(request).transport == "https" else "http"
    return bool(origin) and origin.rstrip("/").lower() == f"{scheme}://{request.host}".lower()


def check_csrf(request: web.Request, secret: bytes, session: str) -> None:
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent or not hmac.compare_digest(sent.encode(), csrf_token(secret, session).encode()):
        raise HTTPError(403, "missing or invalid CSRF token (send the shoal_csrf cookie's value in X-CSRF-Token)",
                        "csrf_failure")


# -- access rules ------------------------------------------------------------------
def default_caller(uid: int | None, daemon_uid: int | None = None) -> Caller:
    """The caller a unix peer uid stands for when no identity matches it."""
    if uid is None:
        return ANONYMOUS
    daemon_uid = os.getuid() if daemon_uid is None else daemon_uid
    level = "admin" if uid in (0, daemon_uid) else "read"
    return Caller(identity=f"uid:{uid}", access=level, uid=uid, method="peer")


_WHERE = {
    "concealed": (("unix", "https"), ("this route answers only over the unix socket or HTTPS: "
                                     "what it carries never crosses plain HTTP")),
    "unix": (("unix",), "this route answers only over the unix socket"),
}


def transport_refusal(method: Method, transport: str) -> HTTPError | None:
    """The refusal of a route on a transport its `transports` option excludes."""
    if method.transports not in _WHERE:
        return None
    allowed, message = _WHERE[method.transports]
    return None if transport in allowed else HTTPError(403, message, "insecure_transport")


def may_call(method: Method, caller: Caller, transport: str) -> bool:
    """Whether `caller` over `transport` reaches `method` (Pebble §5.4)."""
    if method.access == "untrusted":
        return True
    if transport == "http":
        return method.access == "metrics" and caller.access == "metrics"
    return access.at_least(caller.access, method.access)


def required_scopes(method: Method) -> tuple[str, ...]:
    """The token scopes that reach `method` (the `scopes` option; none: `*` only)."""
    return method.scopes or ("*",)


def scope_for(method: Method, scopes: tuple[str, ...]) -> str | None:
    """The scope of `scopes` that reaches `method`, or None."""
    if "*" in scopes:
        return "*"
    return next((scope for scope in method.scopes if scope in scopes), None)


def signed_access(method: Method, scope: str) -> str:
    """The access level signed for one call to `method` that `scope` allowed."""
    return access.higher(method.access, access.SCOPE_ACCESS.get(scope, "untrusted"))


# -- what the identity service said ----------------------------------------------------
@dataclass(frozen=True)
class Authenticated:
    """A resolved caller, how it was recognised, and its session if any."""

    caller: Caller
    method: str = ""  # cert | basic | token | session | local | "" (peer defaults, anonymous)
    session: str = ""
    # A token's caller as signed for each route its scopes reach (by RPC path), made once.
    scoped: dict[str, Caller] = field(default_factory=dict, compare=False, repr=False)


class CallerCache:
    """Resolved callers for `ttl` seconds. `generation` counts the times
    everything kept was dropped; an answer asked for before a drop is not
    kept (it may predate the change that caused the drop)."""

    def __init__(self, ttl: float = CACHE_TTL):
        self._key = secrets.token_bytes(32)
        self._ttl = ttl
        self._entries: dict[bytes, tuple[float, Authenticated]] = {}
        self._seen: dict[bytes, float] = {}
        self.generation = 0

    def key(self, credentials: Credentials) -> bytes:
        parts = [
            "\x00".join(credentials.basic) if credentials.basic else "",
            credentials.token,
            credentials.session,
            hashlib.sha256(credentials.cert_pem.encode()).hexdigest() if credentials.cert_pem else "",
            "" if credentials.uid is None else str(credentials.uid),
        ]
        return hmac.new(self._key, "\x01".join(parts).encode(), hashlib.sha256).digest()

    def get(self, key: bytes) -> Authenticated | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires < time.monotonic():
            del self._entries[key]
            return None
        return value

    def put(self, key: bytes, value: Authenticated, generation: int | None = None) -> None:
        """Keep `value`, unless everything was dropped since `generation`."""
        if generation is not None and generation != self.generation:
            return
        if len(self._entries) >= CACHE_MAX:
            self._entries.clear()
        if len(self._seen) >= CACHE_MAX:
            self._seen.clear()
        now = time.monotonic()
        self._entries[key] = (now + self._ttl, value)
        self._seen[key] = now + SEEN_TTL

    def forget(self, key: bytes) -> None:
        """Drop an answer at once (its session just ended here)."""
        self._entries.pop(key, None)

    def drop_all(self) -> None:
        """Drop every answer at once (who a caller is may have changed)."""
        self._entries.clear()
        self.generation += 1

    def seen(self, key: bytes) -> bool:
        """These credentials let their caller in within the last SEEN_TTL
        seconds (their answer may have expired since; it is asked again)."""
        expires = self._seen.get(key)
        return expires is not None and expires > time.monotonic()


class LockoutMemory:
    """Usernames and addresses the identity service just reported locked.

    A Basic request with credentials this gateway has not seen let in
    lately, naming a remembered user or coming from a remembered address, is
    refused here without a call (a wrong-password flood then costs the
    gateway little); credentials seen good are still asked about, and the
    identity service lets an already verified password through a lock.
    Entries last `ttl` seconds only, so a lockout reset reaches every
    gateway replica within that time.
    """

    def __init__(self, ttl: float = LOCKOUT_TTL, max_entries: int = CACHE_MAX):
        self._ttl = ttl
        self._max = max_entries
        self._until: dict[str, tuple[float, HTTPError]] = {}

    def remember(self, credentials: Credentials, refusal: HTTPError) -> None:
        """Remember what the refusal's `lockedBy` says is locked: "user", "address"."""
        locked_by = refusal.extra.get("lockedBy", ())
        if len(self._until) >= self._max:
            self._until.clear()
        expires = time.monotonic() + self._ttl
        if credentials.basic and "user" in locked_by:
            self._until["user:" + credentials.basic[0]] = (expires, refusal)
        if credentials.client_ip and "address" in locked_by:
            self._until["ip:" + credentials.client_ip] = (expires, refusal)

    def clear(self) -> None:
        self._until.clear()

    def refusal(self, credentials: Credentials) -> HTTPError | None:
        """The remembered refusal for these Basic credentials, or None."""
        if not credentials.basic:
            return None
        now = time.monotonic()
        for key in ("user:" + credentials.basic[0], "ip:" + credentials.client_ip):
            entry = self._until.get(key)
            if entry is not None:
                if entry[0] > now:
                    return entry[1]
                del self._until[key]
        return None


# -- the gate ------------------------------------------------------------------------
def _refused(pebble: bool, error: HTTPError) -> HTTPError:
    """What refused credentials answer: on /v1, Pebble's words (a lockout included)."""
    return HTTPError(401, ACCESS_DENIED) if pebble and error.status in (401, 403) else error

class Authorizer(Protocol):
    """What a route handler asks before calling: the caller to sign (or an
    HTTPError refusing the request); to forget credentials whose session
    ended; and to drop every resolved caller after a write that may change
    who callers are."""

    async def authorize(self, request: web.Request, method: Method) -> Caller: ...

    def admitted(self, request: web.Request, method: Method) -> Caller | None:
        """`authorize`'s answer when it needs no coroutine, else None."""

    def forget(self, request: web.Request) -> None: ...

    def callers_changed(self) -> None: ...


class Gatekeeper:
    """Authenticates requests through the identity service and applies the
    access rules of each route."""

    def __init__(self, settings: Settings, calls: ServiceCalls, daemon_uid: int | None = None,
                 refusal_delay: float = REFUSAL_DELAY):
        self.secret: bytes = settings.secret
        self.daemon_uid = daemon_uid
        self.refusal_delay = refusal_delay
        self.calls = calls
        self.callers = CallerCache(settings.gateway_cache_seconds)
        self.lockouts = LockoutMemory(2 * settings.gateway_cache_seconds)
        self._identity_generation = GenerationReader(generation_path(settings.home))
        self._seen_generation: int | None = None
        self._asking: dict[bytes, tuple[int, asyncio.Future]] = {}  # credentials being asked about, by key
        self._authenticate = calls.callable(methods_by_path()["/shoal.v1.Identity/Authenticate"])

    def _kept(self, request: web.Request, memo: _Memo,
              lenient: bool) -> tuple[bytes, Authenticated | None, Credentials | None]:
        """The cache key of who sent `request`, what is kept for it (None:
        the identity service must be asked), and its credentials when they
        had to be read; `lenient` ignores a Basic header that does not decode
        (as Pebble). No credentials at all: the connection's anonymous caller."""
        headers = request.headers  # those credentials come in, as one string (a header value has no newline)
        sent = "\n".join((headers.get(_AUTHORIZATION, ""), headers.get(_TOKEN, ""), headers.get(_COOKIE, "")))
        key = memo.key_for(sent)
        credentials = None
        if key is None:
            credentials = self._read(request, lenient)
            key = EMPTY if credentials.empty else self.callers.key(credentials)
            if not _undecodable_basic(request, credentials):  # a strict read refuses those
                memo.remember(sent, key)
        if not key:
            return key, memo.anonymous, credentials
        self._follow_identity()
        return key, self.callers.get(key), credentials

    async def _ask(self, request: web.Request, key: bytes, credentials: Credentials | None,
                   lenient: bool) -> Authenticated:
        """What the identity service says about `request`'s credentials (cached when it lets them in)."""
        if credentials is None:
            credentials = self._read(request, lenient)
        refused = None if self.callers.seen(key) else self.lockouts.refusal(credentials)
        if refused is not None:
            await asyncio.sleep(self.refusal_delay)
            raise refused
        generation = self.callers.generation
        try:
            known = await self._ask_once(key, generation, credentials, request.path)
        except HTTPError as error:
            if error.kind == "account_locked":
                self.lockouts.remember(credentials, error)
            if error.status in (401, 403):
                # Refused credentials answer after a pause: a guessing client
                # (or a flood on a kept-alive connection) waits instead of
                # taking the gateway's time from everyone else.
                await asyncio.sleep(self.refusal_delay)
            raise
        self._follow_identity()  # a change made while it was asked: the answer may predate it
        self.callers.put(key, known, generation)  # only answers that let the caller in are cached
        return known

    async def _ask_once(self, key: bytes, generation: int, credentials: Credentials, path: str) -> Authenticated:
        """What the identity service says about `credentials`. Requests that
        send the same ones while it is being asked (and before anything
        was dropped) wait for that answer and share it when it lets the
        caller in, as they would share it once kept; when it refuses them,
        each asks for itself, so that each refusal counts as it always did."""
        flight = self._asking.get(key)
        if flight is not None and flight[0] == generation:
            answer = await asyncio.shield(flight[1])
            if answer is not None and self.callers.generation == generation:
                return answer
            return await self._ask_identity(credentials, path)
        future = asyncio.get_running_loop().create_future()
        flight = self._asking[key] = (generation, future)
        answer = None
        try:
            answer = await self._ask_identity(credentials, path)
            return answer
        finally:
            if not future.done():
                future.set_result(answer)
            if self._asking.get(key) is flight:
                del self._asking[key]

    @staticmethod
    def _read(request: web.Request, lenient: bool) -> Credentials:
        try:
            return read_credentials(request, lenient)
        except MalformedCredentials as error:
            raise HTTPError(401, str(error)) from None

    async def _ask_identity(self, credentials: Credentials, path: str) -> Authenticated:
        request = identity_pb2.AuthenticateRequest(
            token=credentials.token,
            session_token=credentials.session,
            cert_pem=credentials.cert_pem,
            client_ip=credentials.client_ip,
            path=path,
        )
        if credentials.basic:
            request.basic_username, request.basic_password = credentials.basic
        if credentials.uid is not None:
            request.peer_uid = credentials.uid
        try:
            answer = await self._authenticate(request, metadata=self.calls.as_service(), timeout=DEFAULT_DEADLINE)
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error, "identity", "security") from None
        if answer.matched:
            uid = credentials.uid if answer.method == "local" else None
            caller = Caller(answer.name, answer.access, uid=uid, scopes=tuple(answer.scopes),
                            origin=credentials.client_ip, method=answer.method)
            session = credentials.session if answer.method == "session" else ""
            return Authenticated(caller, answer.method, session)
        return Authenticated(replace(default_caller(credentials.uid, self.daemon_uid), origin=credentials.client_ip))

    def admitted(self, request: web.Request, method: Method) -> Caller | None:
        """The caller to sign when what is kept decides (a refusal raised as
        an HTTPError), with no coroutine; None when the identity service
        must be asked (`authorize`)."""
        connection = connection_of(request)
        if method.transports in _WHERE:  # a route that answers on some transports only
            refused = transport_refusal(method, connection.transport)
            if refused is not None:
                raise refused
        memo = connection.memo or _memo(connection)
        if method.access == "untrusted" and not method.resolve_caller:
            return memo.anonymous.caller  # open routes resolve no caller (as Pebble)
        pebble = method.family == "pebble"
        try:
            known = self._kept(request, memo, pebble)[1]
        except HTTPError as error:
            raise _refused(pebble, error) from None
        return None if known is None else self._decide(request, method, known, connection.transport)

    async def authorize(self, request: web.Request, method: Method) -> Caller:
        caller = self.admitted(request, method)
        if caller is not None:
            return caller
        connection = connection_of(request)
        pebble = method.family == "pebble"
        try:
            key, known, credentials = self._kept(request, _memo(connection), pebble)
            if known is None:
                known = await self._ask(request, key, credentials, pebble)
        except HTTPError as error:
            raise _refused(pebble, error) from None
        return self._decide(request, method, known, connection.transport)

    def _decide(self, request: web.Request, method: Method, known: Authenticated, transport: str) -> Caller:
        """Whether `known` over `transport` reaches `method`: the caller to sign, or the HTTPError refusing it."""
        pebble = method.family == "pebble"
        caller = known.caller
        if known.method == "session" and (request.method not in SAFE_METHODS
                                          or (is_websocket_upgrade(request) and not same_origin(request))):
            check_csrf(request, self.secret, known.session)
        if known.method == "token" and transport != "http" and method.access != "untrusted":
            scoped = known.scoped.get(method.full_path)
            if scoped is not None:
                return scoped
            scope = scope_for(method, caller.scopes)
            if scope is None:
                needed = required_scopes(method)
                extra = {"requiredScope": needed[0]} if len(needed) == 1 else {"requiredScopes": list(needed)}
                raise HTTPError(403, "this token lacks the scope the route needs", "missing_scope", extra)
            scoped = known.scoped[method.full_path] = replace(caller, access=signed_access(method, scope))
            return scoped
        if may_call(method, caller, transport):
            return caller
        if pebble:
            raise HTTPError(401, ACCESS_DENIED)  # as Pebble, whoever the caller is
        if caller.access == "untrusted" or transport == "http":
            raise HTTPError(401, "authentication required")
        raise HTTPError(403, f"{method.access} access required")

    def forget(self, request: web.Request) -> None:
        """Stop honouring the request's credentials at once (its session ended)."""
        for lenient in (False, True):
            try:
                credentials = read_credentials(request, lenient)
            except MalformedCredentials:
                continue
            self.callers.forget(self.callers.key(credentials))
            return

    def _follow_identity(self) -> None:
        """Drop what was kept when the identity service's generation moved
        (a write through any gateway worker on this machine)."""
        now = self._identity_generation.read()
        if now != self._seen_generation:
            if self._seen_generation is not None:
                self.callers_changed()
            self._seen_generation = now

    def callers_changed(self) -> None:
        """Who callers are may have changed (an identity, token, session or
        lockout written through this gateway): ask again from the next request."""
        self.callers.drop_all()
        self.lockouts.clear()
