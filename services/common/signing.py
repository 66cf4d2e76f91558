"""The caller, signed into gRPC metadata.

The gateway (and each service calling another) puts the authenticated caller
in metadata: `shoal-identity`, `shoal-access`, `shoal-uid`, `shoal-scopes`,
`shoal-origin` (the client's address: an IP, or "local" for the unix socket),
`shoal-method` (how it was recognised: cert, basic, token, session, local, or
peer for a unix uid's default) and `shoal-caller`, which is `v1.<expiry>.<hex HMAC-SHA256>` over a domain string
and the length-prefixed values with the cluster secret. A service trusts no
caller value it cannot verify this way.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
import time
from dataclasses import dataclass, field

from shoal.descriptors import ACCESS_RANK

IDENTITY = "shoal-identity"
ACCESS = "shoal-access"
UID = "shoal-uid"
SCOPES = "shoal-scopes"
ORIGIN = "shoal-origin"
METHOD = "shoal-method"
SIGNATURE = "shoal-caller"
CALLER_KEYS = (IDENTITY, ACCESS, UID, SCOPES, ORIGIN, METHOD, SIGNATURE)

DEFAULT_TTL = 60.0
_DOMAIN = b"shoal.caller\x00v1\x00"


@dataclass(frozen=True)
class Caller:
    """Who is calling, as the gateway resolved it."""

    identity: str
    access: str  # untrusted | metrics | read | admin | internal
    uid: int | None = None
    scopes: tuple[str, ...] = field(default_factory=tuple)
    origin: str = ""  # the client's IP, "local" (unix socket), or "" (a service)
    # How the gateway recognised it: cert | basic | token | session | local
    # (a local identity) | peer (a unix uid's default) | "" (nobody, a service)
    method: str = ""

    def at_least(self, access: str) -> bool:
        return ACCESS_RANK.get(self.access, 0) >= ACCESS_RANK[access]

    @property
    def is_service(self) -> bool:
        return self.access == "internal"


class CallerError(Exception):
    """The caller metadata is missing, expired or forged."""


def _mac(secret: bytes, caller: Caller, expiry: int) -> str:
    parts = [
        caller.identity,
        caller.access,
        "" if caller.uid is None else str(caller.uid),
        ",".join(caller.scopes),
        caller.origin,
        caller.method,
        str(expiry),
    ]
    message = bytearray(_DOMAIN)
    for part in parts:
        raw = part.encode()
        message += struct.pack(">Q", len(raw)) + raw
    return hmac.new(secret, bytes(message), hashlib.sha256).hexdigest()


def sign(secret: bytes, caller: Caller, ttl: float = DEFAULT_TTL) -> tuple[tuple[str, str], ...]:
    """The metadata pairs that carry `caller`, valid for `ttl` seconds."""
    expiry = int(time.time() + ttl)
    return (
        (IDENTITY, caller.identity),
        (ACCESS, caller.access),
        (UID, "" if caller.uid is None else str(caller.uid)),
        (SCOPES, ",".join(caller.scopes)),
        (ORIGIN, caller.origin),
        (METHOD, caller.method),
        (SIGNATURE, f"v1.{expiry}.{_mac(secret, caller, expiry)}"),
    )


def verify(secret: bytes, metadata) -> Caller:
    """The caller in `metadata` (pairs), or CallerError if it cannot be trusted."""
    values: dict[str, str] = {}
    for key, value in metadata or ():
        if key in CALLER_KEYS:
            if key in values:
                raise CallerError(f"duplicate {key} metadata")
            values[key] = value if isinstance(value, str) else value.decode()
    signature = values.get(SIGNATURE)
    if not signature or IDENTITY not in values or ACCESS not in values:
        raise CallerError("missing caller metadata")
    try:
        version, expiry_text, mac = signature.split(".")
        expiry = int(expiry_text)
    except ValueError:
        raise CallerError("malformed caller signature") from None
    if version != "v1":
        raise CallerError("unknown caller signature version")
    uid_text = values.get(UID, "")
    try:
        caller = Caller(
            identity=values[IDENTITY],
            access=values[ACCESS],
            uid=int(uid_text) if uid_text else None,
            scopes=tuple(s for s in values.get(SCOPES, "").split(",") if s),
            origin=values.get(ORIGIN, ""),
            method=values.get(METHOD, ""),
        )
    except ValueError:
        raise CallerError("malformed caller uid") from None
    if not hmac.compare_digest(mac, _mac(secret, caller, expiry)):
        raise CallerError("caller signature does not verify")
    if expiry < time.time():
        raise CallerError("caller signature expired")
    if caller.access not in ACCESS_RANK:
        raise CallerError(f"unknown access level {caller.access!r}")
    return caller


def service_caller(service: str) -> Caller:
    """The identity a Shoal service uses when it calls another."""
    return Caller(identity=f"service:{service}", access="internal")
