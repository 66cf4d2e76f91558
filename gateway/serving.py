"""How the gateway's listeners serve connections, whoever runs them
(`shoal gateway`, the in-process test harness): bounded in count and time.

- Every listener has a deep accept backlog (BACKLOG), so a burst of
  connections (2,000 long-polls at once) waits in the kernel's queue instead
  of being refused.
- A connection must send a complete request head within `header_timeout`
  seconds of connecting or of its previous answer (a slow or silent client,
  "slow-loris", is closed); a TLS handshake must finish within
  `tls_handshake_timeout` seconds (a half-open TLS connection is closed).
- Each connection keeps what stays the same for its life (its transport,
  peer uid, client certificate: gateway/connections.py), read on its first
  request.
- Every request passes the application's edge (`SERVER_EDGE`, set by
  gateway/observability.py: path cleaning, refusals' shapes, metrics)
  as the server's own handler around the application's, not as a
  middleware: aiohttp then runs no middleware chain per request.
- A request that is not HTTP (a bad request line, a header too long) is
  answered `400 Bad Request` without repeating anything it sent, and logged
  once per interval with a count, never with a traceback each.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import socket
import ssl
import time
from http import HTTPStatus
from pathlib import Path

from aiohttp import web, web_protocol
from aiohttp.http_exceptions import HttpProcessingError

from gateway.connections import SLOT
from gateway.sockets import BACKLOG

log = logging.getLogger("shoal.gateway")

# What the server's handler puts around the application's: (request, handler) → response.
SERVER_EDGE = web.AppKey("server_edge", object)

HEADER_TIMEOUT = 20.0  # above aiohttp clients' 15 s idle keep-alive, so the client closes first
TLS_HANDSHAKE_TIMEOUT = 10.0
MALFORMED_LOG_INTERVAL = 60.0


class MalformedLog:
    """One log line per interval for requests that were not HTTP."""

    def __init__(self, interval: float = MALFORMED_LOG_INTERVAL):
        self.interval = interval
        self._next = 0.0
        self._unlogged = 0

    def record(self, remote: str | None, reason: str) -> None:
        now = time.monotonic()
        if now < self._next:
            self._unlogged += 1
            return
        more = f" (and {self._unlogged} more since the last report)" if self._unlogged else ""
        log.warning("malformed request from %s: %s%s", remote or "the socket", reason, more)
        self._unlogged = 0
        self._next = now + self.interval


class _EdgeRequestHandler(web_protocol.RequestHandler):
    __slots__ = (SLOT,)  # the connection's facts, kept for its life (gateway/connections.py)

    def handle_error(self, request, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        if not isinstance(exc, HttpProcessingError):
            return super().handle_error(request, status, exc, message)
        # What aiohttp would say repeats the bad input; say only what it was.
        self._manager.malformed.record(request.remote, type(exc).__name__)
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            status, phrase = 400, "Bad Request"
        response = web.Response(status=status, text=f"{status} {phrase}\n")
        response.force_close()
        return response


class _EdgeServer(web.Server):
    malformed: MalformedLog

    def __call__(self) -> web_protocol.RequestHandler:
        return _EdgeRequestHandler(self, loop=self._loop, **self._kwargs)


class EdgeRunner(web.AppRunner):
    """An AppRunner whose connections close after `header_timeout` without a
    request, and whose malformed requests are answered and logged as above."""

    def __init__(self, app: web.Application, header_timeout: float = HEADER_TIMEOUT,
                 malformed: MalformedLog | None = None, **kwargs):
        super().__init__(app, keepalive_timeout=header_timeout, **kwargs)
        self.malformed = malformed or MalformedLog()

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = _EdgeServer  # adds behaviour only, no state of its own
        server.malformed = self.malformed
        edge = self._app.get(SERVER_EDGE)
        if edge is not None:
            server.request_handler = functools.partial(edge, handler=server.request_handler)
        return server


class TLSSite(web.TCPSite):
    """A TCP site with TLS whose handshakes must finish in time."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, ssl_context: ssl.SSLContext,
                 handshake_timeout: float = TLS_HANDSHAKE_TIMEOUT, **kwargs):
        super().__init__(runner, host, port, ssl_context=ssl_context, backlog=BACKLOG, **kwargs)
        self._handshake_timeout = handshake_timeout

    async def start(self) -> None:
        await web.BaseSite.start(self)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._runner.server, self._host, self._port, ssl=self._ssl_context, backlog=self._backlog,
            reuse_address=self._reuse_address, reuse_port=self._reuse_port,
            ssl_handshake_timeout=self._handshake_timeout,
        )
        self._bound_port = self._server.sockets[0].getsockname()[1] if self._server.sockets else self._port


class TLSSockSite(web.SockSite):
    """TLS on a listening socket this process was handed, whose handshakes
    must finish in time."""

    def __init__(self, runner: web.BaseRunner, sock: socket.socket, ssl_context: ssl.SSLContext,
                 handshake_timeout: float = TLS_HANDSHAKE_TIMEOUT, **kwargs):
        super().__init__(runner, sock, ssl_context=ssl_context, backlog=BACKLOG, **kwargs)
        self._handshake_timeout = handshake_timeout

    async def start(self) -> None:
        await web.BaseSite.start(self)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._runner.server, sock=self._sock, ssl=self._ssl_context, backlog=self._backlog,
            ssl_handshake_timeout=self._handshake_timeout,
        )


def sock_site(runner: web.BaseRunner, sock: socket.socket) -> web.SockSite:
    """A site on a listening socket this process was handed (gateway/sockets.py)."""
    return web.SockSite(runner, sock, backlog=BACKLOG)


def unix_site(runner: web.BaseRunner, path: Path) -> web.UnixSite:
    return web.UnixSite(runner, str(path), backlog=BACKLOG)


def tcp_site(runner: web.BaseRunner, host: str, port: int) -> web.TCPSite:
    return web.TCPSite(runner, host, port, backlog=BACKLOG)
