"""Reading credentials off an HTTP request, and the gateway's short cache of
what the identity service said about them.

The cache key is an HMAC of the credentials with a per-process key, so the
cache never holds a password or token in the clear. Entries live a second:
an identity change reaches every gateway replica within that time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from aiohttp import web

SESSION_COOKIE = "shoal_session"
SECURE_SESSION_COOKIE = "__Host-shoal_session"
CSRF_COOKIE = "shoal_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CACHE_TTL = 1.0
CACHE_MAX = 10_000
SEEN_TTL = 600.0


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


def read_credentials(request: web.Request, transport: str, uid: int | None) -> Credentials:
    basic = None
    token = request.headers.get("X-API-Token", "")
    authorization = request.headers.get("Authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "basic" and value:
        try:
            user, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            raise MalformedCredentials("malformed Basic credentials") from None
        if not sep:
            raise MalformedCredentials("malformed Basic credentials")
        basic = (user, password)
    elif scheme.lower() == "bearer" and value and not token:
        token = value.strip()
    session = request.cookies.get(SECURE_SESSION_COOKIE if transport == "https" else SESSION_COOKIE, "")
    cert_pem = ""
    if transport == "https" and request.transport is not None:
        ssl_object = request.transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        if der:
            import ssl

            cert_pem = ssl.DER_cert_to_PEM_cert(der)
    return Credentials(
        basic=basic, token=token, session=session, cert_pem=cert_pem, uid=uid, client_ip=client_origin(request)
    )


def client_origin(request: web.Request) -> str:
    """Where a request came from: the peer IP, or "local" on the unix socket."""
    peer = request.transport.get_extra_info("peername") if request.transport else None
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return "local"


def csrf_token(secret: bytes, session: str) -> str:
    """The CSRF token of a session: derived, so every gateway replica agrees
    and nothing more is stored."""
    return hmac.new(secret, b"shoal.csrf\x00" + session.encode(), hashlib.sha256).hexdigest()


def check_csrf(request: web.Request, secret: bytes, session: str) -> None:
    """A state-changing request authenticated by a session cookie must echo
    the session's CSRF token in X-CSRF-Token."""
    from gateway.errors import HTTPError

    sent = request.headers.get(CSRF_HEADER, "")
    if not sent or not hmac.compare_digest(sent.encode(), csrf_token(secret, session).encode()):
        raise HTTPError(403, "missing or invalid CSRF token (send the shoal_csrf cookie's value in X-CSRF-Token)",
                        "csrf_failure")


class CallerCache:
    def __init__(self, ttl: float = CACHE_TTL):
        self._key = secrets.token_bytes(32)
        self._ttl = ttl
        self._entries: dict[bytes, tuple[float, object]] = {}
        self._seen: dict[bytes, float] = {}

    def key(self, credentials: Credentials) -> bytes:
        parts = [
            "\x00".join(credentials.basic) if credentials.basic else "",
            credentials.token,
            credentials.session,
            hashlib.sha256(credentials.cert_pem.encode()).hexdigest() if credentials.cert_pem else "",
            "" if credentials.uid is None else str(credentials.uid),
        ]
        return hmac.new(self._key, "\x01".join(parts).encode(), hashlib.sha256).digest()

    def get(self, key: bytes):
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires < time.monotonic():
            del self._entries[key]
            return None
        return value

    def put(self, key: bytes, value) -> None:
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
    identity service lets an already verified password through a lock. Entries last `ttl` seconds
    only, so a lockout reset reaches every gateway replica within that time.
    """

    def __init__(self, ttl: float = 2.0, max_entries: int = CACHE_MAX):
        self._ttl = ttl
        self._max = max_entries
        self._until: dict[str, tuple[float, object]] = {}

    def remember(self, credentials: Credentials, refusal, locked_by) -> None:
        """`locked_by`: which of "user" and "address" the service said are locked."""
        if len(self._until) >= self._max:
            self._until.clear()
        expires = time.monotonic() + self._ttl
        if credentials.basic and "user" in locked_by:
            self._until["user:" + credentials.basic[0]] = (expires, refusal)
        if credentials.client_ip and "address" in locked_by:
            self._until["ip:" + credentials.client_ip] = (expires, refusal)

    def refusal(self, credentials: Credentials):
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
