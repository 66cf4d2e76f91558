"""Run the gateway: the unix socket always, plain HTTP and HTTPS on request."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path

from aiohttp import web

from gateway.access import REFUSAL_DELAY
from gateway.app import CALLS, build_app
from gateway.client_certs import ClientCertificates
from gateway.heap import HeapReturner
from gateway.listeners import fingerprint, self_signed, split_address
from gateway.serving import EdgeRunner, TLSSite, TLSSockSite, sock_site, tcp_site, unix_site
from gateway.sockets import SOCKET_NAME, inherited
from services.common.config import Settings
from services.common.memory import return_freed
from services.common.readiness import notify_ready

log = logging.getLogger("shoal.gateway")


async def run_gateway(
    settings: Settings,
    http: str = "",
    https: str = "",
    tls_cert: str = "",
    tls_key: str = "",
    socket_path: str = "",
    listen_fds: str = "",
) -> None:
    """Serve until SIGTERM/SIGINT on the unix socket and the listeners asked
    for, or on the listening sockets `listen_fds` hands over (one of several
    workers: `shoal run` made them, and removes the socket itself)."""
    handed = inherited(listen_fds) if listen_fds else {}
    refusal_delay = float(os.environ.get("SHOAL_REFUSAL_DELAY", REFUSAL_DELAY))  # seconds before refusing credentials
    app = build_app(settings, refusal_delay=refusal_delay)
    runner = EdgeRunner(app, handle_signals=False, access_log=None, shutdown_timeout=settings.grace)
    await runner.setup()
    path = Path(socket_path or settings.home / SOCKET_NAME)
    if handed:
        sites: list[web.BaseSite] = [sock_site(runner, handed["unix"])]
        if "http" in handed:
            sites.append(sock_site(runner, handed["http"]))
    else:
        path.unlink(missing_ok=True)
        sites = [unix_site(runner, path)]
        if http:
            host, port = split_address(http)
            sites.append(tcp_site(runner, host, port))
    client_certs = None
    if https or "https" in handed:
        if tls_cert and tls_key:
            cert, key = Path(tls_cert), Path(tls_key)
        else:
            cert, key = self_signed(settings.home / "tls")
            log.info("HTTPS certificate SHA-256 fingerprint: %s", fingerprint(cert))
        client_certs = ClientCertificates(cert, key)
        client_certs.start(app[CALLS])
        if "https" in handed:
            sites.append(TLSSockSite(runner, handed["https"], ssl_context=client_certs.listener))
        else:
            host, port = split_address(https)
            sites.append(TLSSite(runner, host, port, ssl_context=client_certs.listener))
    for site in sites:
        await site.start()
    if not handed:
        os.chmod(path, 0o666)  # as Pebble: access is decided per request
    log.info("gateway listening on %s", ", ".join(site.name for site in sites))
    heap = HeapReturner()
    heap.start()
    notify_ready()
    return_freed()  # what start-up built and dropped

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("gateway draining")
    await heap.stop()
    if client_certs is not None:
        await client_certs.stop()
    await runner.cleanup()
    if not handed:
        path.unlink(missing_ok=True)
    log.info("gateway stopped")
