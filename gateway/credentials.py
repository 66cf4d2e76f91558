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
CACHE_TTL = 1.0
CACHE_MAX = 10_000


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
    peer = request.transport.get_extra_info("peername") if request.transport else None
    client_ip = peer[0] if isinstance(peer, tuple) and peer else ("local" if transport == "unix" else "")
    return Credentials(basic=basic, token=token, session=session, cert_pem=cert_pem, uid=uid, client_ip=client_ip)


class CallerCache:
    def __init__(self, ttl: float = CACHE_TTL):
        self._key = secrets.token_bytes(32)
        self._ttl = ttl
        self._entries: dict[bytes, tuple[float, object]] = {}

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
        self._entries[key] = (time.monotonic() + self._ttl, value)
