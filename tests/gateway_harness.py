"""The real gateway in this process, for access and shaping rules.

`in_process_gateway` builds the aiohttp application with `build_app`
exactly as `shoal gateway` does and serves it on a unix socket (concealed:
the peer's uid counts) and on plain HTTP on 127.0.0.1. The services behind
it are one grpc.aio server on a unix socket in a temporary directory,
running the real caller interceptor (so the gateway's signed metadata is
verified as a service would) and whatever servicers the test gives:
subclasses of the generated servicers implementing the few RPCs it uses
(any other RPC answers UNIMPLEMENTED). No process is started.
"""

from __future__ import annotations

import shutil
import ssl
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import grpc

from gateway.app import build_app
from gateway.listeners import self_signed
from gateway.serving import (
    HEADER_TIMEOUT,
    TLS_HANDSHAKE_TIMEOUT,
    EdgeRunner,
    TLSSite,
    tcp_site,
    unix_site,
)
from services.common.config import load_settings
from services.common.interceptor import CallerInterceptor
from shoal.descriptors import SERVICES
from shoal.v1 import application_pb2_grpc, beacon_pb2_grpc, identity_pb2_grpc, plan_pb2_grpc

SECRET = "in-process-gateway-secret"
_ADD = {
    "identity": identity_pb2_grpc.add_IdentityServicer_to_server,
    "plan": plan_pb2_grpc.add_PlanServicer_to_server,
    "beacon": beacon_pb2_grpc.add_BeaconServicer_to_server,
    "application": application_pb2_grpc.add_ApplicationServicer_to_server,
}


@dataclass
class Harness:
    unix: aiohttp.ClientSession  # requests over the gateway's unix socket (base http://localhost)
    http: aiohttp.ClientSession  # requests over plain HTTP
    home: Path
    socket: Path  # the gateway's unix socket
    port: int  # its plain HTTP port on 127.0.0.1
    tls_port: int  # its HTTPS port on 127.0.0.1 (a self-signed certificate)
    runner: EdgeRunner


@asynccontextmanager
async def in_process_gateway(servicers: dict[str, object], down: tuple[str, ...] = (),
                             header_timeout: float = HEADER_TIMEOUT,
                             tls_handshake_timeout: float = TLS_HANDSHAKE_TIMEOUT,
                             **app_options) -> AsyncIterator[Harness]:
    """The gateway in front of `servicers` (service name → servicer), served
    as `shoal gateway` serves it (gateway/serving.py). The services named in
    `down` point at a socket nobody listens on."""
    # Short paths: a unix socket's path is limited to about 100 bytes.
    root = Path(tempfile.mkdtemp(prefix="gw-", dir="/tmp"))
    services_socket = root / "services.sock"
    env = {"SHOAL_SECRET": SECRET}
    for name in SERVICES:
        env[f"SHOAL_{name.upper()}_ADDR"] = f"unix:{root / 'down.sock' if name in down else services_socket}"
    settings = load_settings(env, home=root / "home")
    server = grpc.aio.server(interceptors=[CallerInterceptor(settings.secret)])
    for name, servicer in servicers.items():
        _ADD[name](servicer, server)
    server.add_insecure_port(f"unix:{services_socket}")
    await server.start()
    runner = EdgeRunner(build_app(settings, refusal_delay=0, **app_options), header_timeout=header_timeout,
                        access_log=None)
    await runner.setup()
    gateway_socket = root / "gateway.sock"
    tcp = tcp_site(runner, "127.0.0.1", 0)
    cert, key = self_signed(root / "tls")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    tls = TLSSite(runner, "127.0.0.1", 0, ssl_context=context, handshake_timeout=tls_handshake_timeout)
    for site in (unix_site(runner, gateway_socket), tcp, tls):
        await site.start()
    port, tls_port = tcp.port, tls.port
    unix = aiohttp.ClientSession("http://localhost", connector=aiohttp.UnixConnector(path=str(gateway_socket)))
    http = aiohttp.ClientSession(f"http://127.0.0.1:{port}")
    try:
        yield Harness(unix=unix, http=http, home=settings.home, socket=gateway_socket, port=port, tls_port=tls_port,
                      runner=runner)
    finally:
        await unix.close()
        await http.close()
        await runner.cleanup()
        await server.stop(grace=None)
        shutil.rmtree(root, ignore_errors=True)
