"""One way to run a Shoal gRPC service: bind, health checking, reflection,
the caller interceptor, and a graceful stop on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from services.common.config import Settings
from services.common.interceptor import Authenticator, CallerInterceptor
from services.common.memory import return_freed
from services.common.readiness import notify_ready
from services.common.telemetry import RPCMetrics, serve_metrics
from shoal.descriptors import SERVICES

log = logging.getLogger("shoal.server")


async def serve(
    service: str,
    settings: Settings,
    register: Callable[[grpc.aio.Server], Awaitable[Callable[[], Awaitable[None]] | None]],
    address: str | None = None,
    authenticators: tuple[Authenticator, ...] = (),
    stopping: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Run `service` until SIGTERM/SIGINT.

    `register(server)` adds the servicer(s) and may return an async cleanup
    run after the server stopped taking RPCs and finished in-flight ones.
    `stopping()`, if given, runs as soon as the stop begins, beside the
    in-flight RPCs' grace (the plan service stops its processes then, within
    the grace that whoever stopped it allows).
    """
    address = address or settings.address(service)
    server = grpc.aio.server(
        interceptors=[RPCMetrics(), CallerInterceptor(settings.secret, authenticators)],
        options=[("grpc.max_receive_message_length", 64 * 1024 * 1024)],
    )
    cleanup = await register(server)

    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    proto_name, module = SERVICES[service]
    full_name = module.DESCRIPTOR.services_by_name[proto_name].full_name
    reflection.enable_server_reflection(
        (full_name, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    if address.startswith("unix:"):
        Path(address[5:]).unlink(missing_ok=True)
    server.add_insecure_port(address)
    await server.start()
    stop_metrics = await serve_metrics(settings.metrics_address(service))
    for name in ("", full_name):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    log.info("%s serving on %s", service, address)
    notify_ready()
    return_freed()  # what start-up built and dropped

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()

    log.info("%s stopping (grace %.0fs)", service, settings.grace)
    await health_servicer.enter_graceful_shutdown()
    if stopping is not None:
        await asyncio.gather(server.stop(settings.grace), stopping())
    else:
        await server.stop(settings.grace)
    if cleanup is not None:
        await cleanup()
    if stop_metrics is not None:
        await stop_metrics()
    log.info("%s stopped", service)
