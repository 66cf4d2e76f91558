"""The gateway's aiohttp application, assembled: one route per documented
(path, HTTP method) from the protos, each bound to its handler
(gateway/routes/), the instance proxy, and the OpenAPI document.

Nothing here is imported by the parts it assembles: calls to the services
are gateway/calls.py, who may call what gateway/access.py, answers and
refusals gateway/shaping.py.
"""

from __future__ import annotations

from aiohttp import web

from gateway import view_metrics
from gateway.access import REFUSAL_DELAY, Gatekeeper
from gateway.calls import MAX_WAITS, ServiceCalls
from gateway.observability import add_metrics_route
from gateway.openapi import openapi_document
from gateway.route_table import grouped_routes
from gateway.routes.context import Handler, RouteContext
from gateway.routes.proxy import add_proxy_routes
from gateway.routes.registry import check_bindings, handler_for
from gateway.transcode import MAX_BODY
from gateway.views import Views
from services.common.config import Settings
from shoal.descriptors import all_methods

CALLS = web.AppKey("calls", ServiceCalls)  # the gateway's calls to the services (the TLS listener uses them)


def _not_allowed(allowed: list[str]) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        raise web.HTTPMethodNotAllowed(request.method, allowed)

    return handle


def build_app(settings: Settings, *, refusal_delay: float = REFUSAL_DELAY,
              daemon_uid: int | None = None, max_waits: int = MAX_WAITS) -> web.Application:
    """The aiohttp application (at most `max_waits` long-polls held open at
    once). Start-up fails when an RPC names a hand-written handler the
    gateway does not have."""
    check_bindings(all_methods())
    calls = ServiceCalls(settings, max_waits)
    gate = Gatekeeper(settings, calls, daemon_uid=daemon_uid, refusal_delay=refusal_delay)
    views = Views(calls, settings.home) if settings.gateway_views else None
    ctx = RouteContext(settings=settings, gate=gate, calls=calls, views=views)
    app = web.Application(client_max_size=MAX_BODY)
    app[CALLS] = calls
    add_metrics_route(app, ctx)  # every request's edge (paths, refusals, metrics), GET /api/metrics

    resources: dict[str, web.Resource] = {}
    for path, http_method, methods in grouped_routes():
        resource = resources.get(path)
        if resource is None:
            resource = resources[path] = app.router.add_resource(path)
        resource.add_route(http_method, handler_for(ctx, methods))
    for path, resource in resources.items():
        if "{" not in path:
            # A literal path owns its URL for every method: PUT /users/list is
            # 405, not an update of a user called "list".
            resource.add_route("*", _not_allowed(sorted({r.method for r in resource})))

    add_proxy_routes(app, ctx, calls)  # /api/v0.2/d/{Host}/v1/...: instances' Pebble APIs

    document: list[dict] = []  # built when first asked for, then kept (0.3 MB an idle gateway need not hold)

    async def serve_openapi(request: web.Request) -> web.Response:
        if not document:
            document.append(openapi_document())
        return web.json_response(document[0])

    app.router.add_get("/openapi.json", serve_openapi)

    collector = []

    async def open_views(app: web.Application) -> None:
        if views is not None:
            views.start()
            collector.append(view_metrics.register(views))

    async def close(app: web.Application) -> None:
        if views is not None:
            for registered in collector:
                view_metrics.unregister(registered)
            await views.stop()
        await calls.close()

    app.on_startup.append(open_views)
    app.on_cleanup.append(close)
    return app
