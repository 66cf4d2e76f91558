"""Shoal's own telemetry, for every process (the services and the gateway):
Prometheus metrics, OpenTelemetry traces and JSON log lines.

- **Metrics** (prometheus-client, the process's default registry).
  `RPCMetrics` is the services' outermost server interceptor: one histogram
  `shoal_rpc_server_duration_seconds{grpc_service, grpc_method, grpc_code}`
  (its `_count` is the RPCs handled). `serve_metrics` answers `GET /metrics`
  on the process's metrics address (`SHOAL_<NAME>_METRICS_ADDR` or
  `--metrics-listen`: `HOST:PORT` or `unix:PATH`), which Kubernetes scrapes
  through the pods' annotations; none is opened by default. With
  `PROMETHEUS_MULTIPROC_DIR` set, what every process of a multi-process
  server wrote there is answered (prometheus-client's multiprocess mode).
- **Traces** (OpenTelemetry SDK): only when `OTEL_EXPORTER_OTLP_ENDPOINT`
  (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set does `start_tracing`
  import the SDK, export spans over OTLP/HTTP (protobuf) and instrument
  gRPC (clients and servers: W3C trace context travels in gRPC metadata) and,
  in the gateway, aiohttp's server. Otherwise nothing of OpenTelemetry is imported or
  installed, and no request pays for it.
- **Logs.** `--log-format json` (`SHOAL_LOG_FORMAT=json`) writes one JSON
  object per line: time, level, process, logger, message, and the
  `request_id` the gateway gave the request being served (passed to the
  services in the `shoal-request-id` gRPC metadata, and by them to the
  services they call), plus `trace_id`/`span_id` when tracing. Request ids
  are made only in that mode, which also writes one access line per
  request (the gateway: `shoal.access`, with method, path, route, status
  and duration) and per RPC (each service: method, code, duration, caller;
  not health checks or reflection).
  Text logs cost what they always did.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc

from services.common import metrics
from services.common.interceptor import current_caller
from services.common.logs import REQUEST_ID, _state, setup_logging

log = logging.getLogger("shoal.telemetry")
access = logging.getLogger("shoal.access")  # one line per request or RPC, in JSON-log mode

# Latency buckets in seconds: from a cached answer (under a millisecond) to a long wait.
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REQUEST_ID_KEY = "shoal-request-id"  # gRPC metadata
REQUEST_ID_HEADER = "X-Request-Id"  # HTTP, in and out
_REQUEST_ID_SHAPE = re.compile(r"[A-Za-z0-9._:-]{1,64}")

def tracing_on() -> bool:
    return _state["tracing"]


def new_request_id(offered: str = "") -> str:
    """`offered` (a client's X-Request-Id) when it is a short plain token, else a new id."""
    if offered and _REQUEST_ID_SHAPE.fullmatch(offered):
        return offered
    return secrets.token_hex(8)


# -- metrics ---------------------------------------------------------------------------
# (none kept, and prometheus-client not imported, in a process whose metrics nobody reads: services.common.metrics)
RPC_SECONDS = metrics.histogram(
    "shoal_rpc_server_duration_seconds",
    "Time to serve a gRPC call (streams: until they end), by method and status code",
    ("grpc_service", "grpc_method", "grpc_code"),
    buckets=BUCKETS,
)


def metrics_exposition() -> tuple[bytes, str]:
    """This process's metrics in Prometheus's text format, and its content type
    (every process's, in prometheus-client's multiprocess mode)."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def _code_name(context, error: BaseException | None) -> str:
    code = context.code()
    if isinstance(code, grpc.StatusCode):
        return code.name
    if error is None:
        return "OK"
    return "CANCELLED" if isinstance(error, (asyncio.CancelledError, GeneratorExit)) else "UNKNOWN"


def _caller_name() -> str:
    try:
        return current_caller().identity
    except RuntimeError:
        return ""


def _request_id(metadata) -> str:
    for key, value in metadata or ():
        if key == REQUEST_ID_KEY:
            return value if isinstance(value, str) and _REQUEST_ID_SHAPE.fullmatch(value) else ""
    return ""


# Probes and tooling: timed, but no access line each (a kubelet probes every few seconds).
_UNLOGGED = ("/grpc.health.v1.Health/", "/grpc.reflection.")

_KINDS = (
    ("unary_unary", grpc.unary_unary_rpc_method_handler),
    ("stream_unary", grpc.stream_unary_rpc_method_handler),
    ("unary_stream", grpc.unary_stream_rpc_method_handler),
    ("stream_stream", grpc.stream_stream_rpc_method_handler),
)


class RPCMetrics(grpc.aio.ServerInterceptor):
    """Times every RPC a service serves, by method and the code it ended with,
    and (in JSON-log mode) runs it under the request id its caller sent."""

    def __init__(self):
        self._children: dict[tuple[str, str], object] = {}
        self._names: dict[str, tuple[str, str]] = {}

    def _observe(self, path: str, code: str, seconds: float) -> None:
        if _state["json"] and not path.startswith(_UNLOGGED):
            caller = _caller_name()
            access.info("%s %s %.1fms", path, code, seconds * 1e3, extra={
                "grpc_method": path, "grpc_code": code, "duration_ms": round(seconds * 1e3, 3), "caller": caller})
        child = self._children.get((path, code))
        if child is None:
            names = self._names.get(path)
            if names is None:
                service, _, method = path.lstrip("/").rpartition("/")
                names = self._names[path] = (service, method)
            child = self._children[(path, code)] = RPC_SECONDS.labels(*names, code)
        child.observe(seconds)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None:
            return None  # an unknown method: grpc answers UNIMPLEMENTED, unlabelled
        path = details.method
        request_id = _request_id(details.invocation_metadata) if _state["json"] else ""
        name, make = next((name, make) for name, make in _KINDS if getattr(handler, name))
        inner = getattr(handler, name)
        observe = self._observe

        if name.endswith("_unary"):

            async def serve(request, context):
                if request_id:
                    REQUEST_ID.set(request_id)
                started = time.perf_counter()
                error = None
                try:
                    return await inner(request, context)
                except BaseException as raised:
                    error = raised
                    raise
                finally:
                    observe(path, _code_name(context, error), time.perf_counter() - started)

        else:

            async def serve(request, context):
                if request_id:
                    REQUEST_ID.set(request_id)
                started = time.perf_counter()
                error = None
                try:
                    async for item in inner(request, context):
                        yield item
                except BaseException as raised:
                    error = raised
                    raise
                finally:
                    observe(path, _code_name(context, error), time.perf_counter() - started)

        return make(serve, handler.request_deserializer, handler.response_serializer)


class _RequestIdClient:
    """Adds the request id being served to every call a process makes (JSON-log mode)."""

    @staticmethod
    def _details(details):
        request_id = REQUEST_ID.get()
        if not request_id:
            return details
        metadata = grpc.aio.Metadata(*tuple(details.metadata or ()))
        metadata.add(REQUEST_ID_KEY, request_id)
        return details._replace(metadata=metadata)


class _UnaryUnary(_RequestIdClient, grpc.aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(self, continuation, details, request):
        return await continuation(self._details(details), request)


class _UnaryStream(_RequestIdClient, grpc.aio.UnaryStreamClientInterceptor):
    async def intercept_unary_stream(self, continuation, details, request):
        return await continuation(self._details(details), request)


class _StreamUnary(_RequestIdClient, grpc.aio.StreamUnaryClientInterceptor):
    async def intercept_stream_unary(self, continuation, details, request_iterator):
        return await continuation(self._details(details), request_iterator)


class _StreamStream(_RequestIdClient, grpc.aio.StreamStreamClientInterceptor):
    async def intercept_stream_stream(self, continuation, details, request_iterator):
        return await continuation(self._details(details), request_iterator)


def client_interceptors() -> tuple:
    """The interceptors every channel this process opens gets: none, unless
    request ids are on."""
    if not _state["json"]:
        return ()
    return (_UnaryUnary(), _UnaryStream(), _StreamUnary(), _StreamStream())


def split_listen(address: str) -> tuple[str, str, int]:
    """("unix", path, 0) or ("tcp", host, port) for a metrics address."""
    if address.startswith("unix:"):
        return "unix", address[5:], 0
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f'metrics address "{address}" is neither HOST:PORT nor unix:PATH')
    return "tcp", host.strip("[]") or "0.0.0.0", int(port)


async def serve_metrics(address: str) -> Callable[[], Awaitable[None]] | None:
    """Answer `GET /metrics` on `address` (nothing when it is empty); the
    returned coroutine function stops it."""
    if not address:
        return None
    from aiohttp import web

    kind, host, port = split_listen(address)

    async def metrics(request: web.Request) -> web.Response:
        body, content_type = metrics_exposition()
        return web.Response(body=body, headers={"Content-Type": content_type})

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    if kind == "unix":
        Path(host).unlink(missing_ok=True)
        site: web.BaseSite = web.UnixSite(runner, host)
    else:
        site = web.TCPSite(runner, host, port, reuse_address=True)
    await site.start()
    log.info("metrics on %s", site.name)
    return runner.cleanup


# -- traces ------------------------------------------------------------------------------
def tracing_wanted(env: dict[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return bool(env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def start_tracing(process: str) -> bool:
    """Export this process's spans over OTLP/HTTP and instrument gRPC and
    aiohttp, when an OTLP endpoint is configured; else do nothing at all.
    Must run before any channel, server or aiohttp application is made."""
    if _state["tracing"] or not tracing_wanted():
        return _state["tracing"]
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.aiohttp_server import AioHttpServerInstrumentor
    from opentelemetry.instrumentation.grpc import (
        GrpcAioInstrumentorClient,
        GrpcAioInstrumentorServer,
    )
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from shoal import __version__

    provider = TracerProvider(resource=Resource.create({
        "service.name": f"shoal-{process}",
        "service.namespace": "shoal",
        "service.version": __version__.lstrip("v"),
    }))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    GrpcAioInstrumentorClient().instrument()
    GrpcAioInstrumentorServer().instrument()
    if process == "gateway":  # a service's aiohttp is only its metrics listener: no spans for scrapes
        AioHttpServerInstrumentor().instrument()
    _state["tracing"] = True
    log.info("tracing: spans exported over OTLP/HTTP to %s",
             os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"))
    return True


def setup(process: str, level: str = "INFO", log_format: str = "text") -> None:
    """A Shoal process's telemetry, before it makes anything: logs, then traces."""
    setup_logging(process, level, log_format)
    start_tracing(process)
