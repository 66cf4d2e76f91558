"""The gateway's own metrics, and the route that serves them.

- `shoal_http_requests_total{route, family, method, status}` and
  `shoal_http_request_duration_seconds{route, family, method}`: every
  request, labelled by the route's template (`/v1/changes/{id}`, never the
  path asked for, so a scan cannot grow the label sets), its API family and
  the route's method; what no route matched is `route="unmatched"`,
  `method="other"`, and a method a path does not have (405) is
  `method="other"` on that path's route. A client
  that went away before the answer is status 499. A stream's duration is
  the stream's.
- `shoal_gateway_long_polls`: the long-polls held open now.
- `GET /api/metrics` answers them (with the services' shared histograms of
  services/common/telemetry.py that this process has) to a caller of
  metrics level or more — over plain HTTP to a metrics-level caller only,
  as Pebble's `/v1/metrics`, which stays exactly Pebble's; an API token
  needs `monitoring:read` (or `*`).

Per request the middleware looks its label set up by the route object
(kept the first time), then adds one to a counter and observes one
histogram: nothing else is made. With JSON logs it also gives the request
its id (the client's `X-Request-Id` when that is a short plain token, else
a new one), answers it in `X-Request-Id`, hands it to the services in
gRPC metadata (services/common/telemetry.py) and logs one access line.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from google.protobuf import empty_pb2
from prometheus_client import Counter, Gauge, Histogram

from gateway import shaping
from gateway.paths import clean_at_a_glance, unclean_path_redirect
from gateway.routes.context import Handler, RouteContext
from gateway.serving import SERVER_EDGE
from gateway.shaping import shaped_refusal
from services.common import logs, telemetry
from shoal.descriptors import Method, family_of_path

METRICS_PATH = "/api/metrics"
CLIENT_GONE = 499

HTTP_REQUESTS = Counter(
    "shoal_http_requests_total",
    "HTTP requests answered by the gateway, by route template, API family, method and status",
    ("route", "family", "method", "status"),
)
HTTP_SECONDS = Histogram(
    "shoal_http_request_duration_seconds",
    "Time the gateway took to answer a request (streams: until they end), by route template and method",
    ("route", "family", "method"),
    buckets=telemetry.BUCKETS,
)
LONG_POLLS = Gauge("shoal_gateway_long_polls", "Long-polls (change waits, notices with a timeout) held open now")

# The route's facts, as a proto method option would give them (the route calls no RPC).
METRICS_ROUTE = Method(
    service="gateway", name="GatewayMetrics", full_path="/shoal.gateway/Metrics", access="metrics",
    http_method="GET", http_path=METRICS_PATH, http_verb="", body="", response_body="", async_change=False,
    handler="", scopes=("monitoring:read",), long_poll=None, healthy_field="", deadline_seconds=0, go_body=None,
    client_streaming=False, server_streaming=False, request_class=empty_pb2.Empty, response_class=empty_pb2.Empty,
)


Edge = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]


class _Labels:
    """One route's children of the two metrics."""

    __slots__ = ("counts", "family", "method", "route", "seconds")

    def __init__(self, route: str, method: str):
        self.route, self.family, self.method = route, family_of_path(route) if route != "unmatched" else "", method
        self.seconds = HTTP_SECONDS.labels(route, self.family, method)
        self.counts: dict[int, object] = {}

    def count(self, status: int):
        child = self.counts.get(status)
        if child is None:
            child = self.counts[status] = HTTP_REQUESTS.labels(self.route, self.family, self.method, str(status))
        return child


def request_edge(router: web.UrlDispatcher, request_ids: bool = False) -> Edge:
    """What every request passes around its route, in this order: an
    unclean path is redirected (gateway/paths.py) before any route or
    access check; routing's and aiohttp's own refusals are answered in the
    family's shape (gateway/shaping.py); the answer is counted and timed
    (and, with `request_ids`, the request given its id and logged). One
    function for all of it: every request pays for each layer it passes."""
    by_route: dict[object, _Labels] = {}

    def labels(route) -> _Labels:
        resource = route.resource
        key = route if resource is not None else None  # aiohttp makes a new route for each 404/405
        found = by_route.get(key)
        if found is None:
            if key is None:
                found = _Labels("unmatched", "other")
            else:
                found = _Labels(resource.canonical, "other" if route.method == "*" else route.method)
            by_route[key] = found
        return found

    async def edge(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request_ids:
            request_id = telemetry.new_request_id(request.headers.get(telemetry.REQUEST_ID_HEADER, ""))
            logs.REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 500
        route = None
        try:
            response = None if clean_at_a_glance(request.rel_url.raw_path) else unclean_path_redirect(request)
            if response is not None:
                route = (await router.resolve(request)).route  # its labels; it may not be routed yet
            else:
                try:
                    response = await handler(request)
                except web.HTTPException as exc:
                    response = shaped_refusal(request, exc)
                    if response is None:
                        raise
            status = response.status
            if request_ids and not response.prepared:
                response.headers[telemetry.REQUEST_ID_HEADER] = request_id
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        except asyncio.CancelledError:
            status = CLIENT_GONE
            raise
        finally:
            seconds = time.perf_counter() - started
            if route is None:
                route = request.match_info.route
            found = by_route.get(route) or labels(route)
            found.seconds.observe(seconds)
            (found.counts.get(status) or found.count(status)).inc()
            if request_ids:
                telemetry.access.info("%s %s %d %.1fms", request.method, request.path, status, seconds * 1e3,
                                      extra={"http_method": request.method, "path": request.path,
                                             "route": found.route, "status": status,
                                             "duration_ms": round(seconds * 1e3, 3)})

    return edge


def add_metrics_route(app: web.Application, ctx: RouteContext) -> None:
    """Every request's edge (`request_edge`) and `GET /api/metrics`. The edge
    is the server's own handler around the application's (gateway/serving.py),
    so that aiohttp runs no middleware chain; with tracing, it is the
    middleware just inside OpenTelemetry's (which its instrumentation puts
    first), so that an access line names the request's trace."""
    edge = request_edge(app.router, logs.request_ids_on())
    if telemetry.tracing_on():
        app.middlewares.append(web.middleware(edge))
    else:
        app[SERVER_EDGE] = edge
    waits = getattr(ctx.calls, "waits", None)
    if waits is not None:
        LONG_POLLS.set_function(lambda: waits.held)

    async def serve(request: web.Request) -> web.Response:
        await ctx.gate.authorize(request, METRICS_ROUTE)
        body, content_type = telemetry.metrics_exposition()
        return web.Response(body=body, headers={"Content-Type": content_type})

    resource = app.router.add_resource(METRICS_PATH)
    resource.add_route("GET", shaping.guarded(METRICS_ROUTE, serve))
