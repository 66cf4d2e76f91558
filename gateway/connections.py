"""What stays the same for the whole life of a connection: its transport
(unix, http or https), the peer's uid on the unix socket (SO_PEERCRED, fixed
at connect), where it came from, and the client certificate of an HTTPS
connection (fixed at the handshake: the listener refuses renegotiation,
gateway/client_certs.py). They are read on the connection's first request
and kept on the connection: the request handler aiohttp makes for each
connection (gateway/serving.py gives it the slot), so later requests on a
kept-alive connection pay no system call for them.

`memo` is the gate's own (gateway/access.py): what the credentials sent
last on this connection resolved to.
"""

from __future__ import annotations

import ssl

from aiohttp import web

from gateway.listeners import peer_uid, transport_kind

SLOT = "shoal_connection"  # the attribute of the per-connection request handler that keeps it


class Connection:
    __slots__ = ("cert_pem", "memo", "origin", "transport", "uid")

    def __init__(self, transport: str, uid: int | None, origin: str, cert_pem: str):
        self.transport = transport  # "unix", "https" or "http"
        self.uid = uid  # the unix peer's uid, else None
        self.origin = origin  # the peer's IP, or "local" on the unix socket
        self.cert_pem = cert_pem  # the HTTPS client's certificate (PEM), or ""
        self.memo: object = None  # the gate's (gateway/access.py)


def _facts(request: web.Request) -> Connection:
    transport = transport_kind(request)
    cert_pem = ""
    if transport == "https" and request.transport is not None:
        ssl_object = request.transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        if der:
            cert_pem = ssl.DER_cert_to_PEM_cert(der)
    peer = request.transport.get_extra_info("peername") if request.transport else None
    origin = str(peer[0]) if isinstance(peer, tuple) and peer else "local"
    return Connection(transport, peer_uid(request) if transport == "unix" else None, origin, cert_pem)


def connection_of(request: web.Request) -> Connection:
    """The facts of `request`'s connection: kept on it after its first
    request, read afresh when the connection cannot keep them (a closed one,
    or a server other than the gateway's)."""
    protocol = request.protocol
    known = getattr(protocol, SLOT, None)
    if known is not None:
        return known
    facts = _facts(request)
    if request.transport is not None and not request.transport.is_closing():
        try:
            setattr(protocol, SLOT, facts)
        except AttributeError:
            pass  # a request handler without the slot: read each time
    return facts
