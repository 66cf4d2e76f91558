"""Client certificates on the HTTPS listener.

Pebble asks every TLS client for a certificate and compares it with its
`cert` identities. Python's ssl module cannot ask for a certificate without
verifying it, so the listener verifies client certificates against exactly
the certificates of the `cert` identities: the listener's own context asks
(CERT_OPTIONAL), and a callback early in each handshake points the
connection at a context whose trust store is the current set, refreshed from
the identity service every few seconds. A client without a certificate is
unaffected; one whose certificate no identity holds fails the handshake
(where Pebble would answer 401); a known one reaches the gateway, which
resolves it to its identity like any credential.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from pathlib import Path

import grpc
from google.protobuf import empty_pb2

from gateway.calls import ServiceCalls
from shoal.descriptors import methods_by_path

log = logging.getLogger("shoal.gateway.tls")

REFRESH_EVERY = 2.0


def _context(cert: Path, key: Path, client_pems: list[str]) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    ctx.verify_mode = ssl.CERT_OPTIONAL
    # A connection's certificate is the one of its handshake, for its whole life (the gateway keeps
    # it per connection, gateway/connections.py): no renegotiation may bring another.
    ctx.options |= ssl.OP_NO_RENEGOTIATION
    ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN  # a client's own certificate is its trust anchor
    if client_pems:
        ctx.load_verify_locations(cadata="\n".join(client_pems))
    return ctx


class ClientCertificates:
    def __init__(self, cert: Path, key: Path):
        self.cert, self.key = cert, key
        self.pems: list[str] = []
        self.current = _context(cert, key, [])
        self.listener = _context(cert, key, [])
        self.listener.sni_callback = self._choose
        self._task: asyncio.Task | None = None

    def _choose(self, ssl_object, server_name, listener_context) -> None:
        ssl_object.context = self.current  # verification uses this context's trust store

    def update(self, pems: list[str]) -> None:
        pems = sorted(set(pems))
        if pems != self.pems:
            try:
                self.current = _context(self.cert, self.key, pems)
                self.pems = pems
                log.info("HTTPS trusts %d client certificate(s)", len(pems))
            except ssl.SSLError as error:
                log.warning("cannot load the cert identities' certificates: %s", error)

    def start(self, calls: ServiceCalls) -> None:
        self._task = asyncio.get_running_loop().create_task(self._refresh_forever(calls))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _refresh_forever(self, calls: ServiceCalls) -> None:
        call = calls.callable(methods_by_path()["/shoal.v1.Identity/ListClientCertificates"])
        while True:
            try:
                answer = await call(empty_pb2.Empty(), timeout=5, metadata=calls.as_service())
                self.update(list(answer.pem))
            except grpc.aio.AioRpcError as error:
                log.debug("client certificates not refreshed: %s", error.details())
            await asyncio.sleep(REFRESH_EVERY)
