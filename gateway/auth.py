"""Who is calling, and whether that caller may use a route over this transport.

Resolution (first match wins, DESIGN.md): client certificate, Basic, API
token, session cookie, then unix peer credentials. Until the identity service
knows a caller, peer credentials decide: uid 0 or the gateway's own uid →
admin, any other uid → read; nothing → untrusted.

Transports as Pebble: the unix socket and HTTPS are concealed. Plain HTTP
reaches open routes only, plus /v1/metrics for a metrics-level credential.
"""

from __future__ import annotations

import os
from services.common.signing import Caller
from shoal.descriptors import ACCESS_RANK, Method

ANONYMOUS = Caller(identity="", access="untrusted")


def default_caller(uid: int | None, daemon_uid: int | None = None) -> Caller:
    """The caller a unix peer uid stands for when no identity matches it."""
    if uid is None:
        return ANONYMOUS
    daemon_uid = os.getuid() if daemon_uid is None else daemon_uid
    access = "admin" if uid in (0, daemon_uid) else "read"
    return Caller(identity=f"uid:{uid}", access=access, uid=uid)


def may_call(method: Method, caller: Caller, transport: str) -> bool:
    """Whether `caller` over `transport` reaches `method` (Pebble §5.4)."""
    if method.access == "untrusted":
        return True
    if transport == "http":
        return method.access == "metrics" and caller.access == "metrics"
    return ACCESS_RANK.get(caller.access, 0) >= ACCESS_RANK[method.access]
