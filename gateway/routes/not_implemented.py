"""Routes Pebble serves but does not implement (`/v1/services/{name}`):
the caller is checked as for any route, then the answer is Pebble's 400
"not implemented". No service is called."""

from __future__ import annotations

from aiohttp import web

from gateway.errors import HTTPError
from gateway.routes.context import Handler, RouteContext
from gateway.shaping import guarded
from shoal.descriptors import Method


def pebble_not_implemented(ctx: RouteContext, methods: list[Method]) -> Handler:
    method = methods[0]

    async def handle(request: web.Request) -> web.StreamResponse:
        await ctx.gate.authorize(request, method)
        raise HTTPError(400, "not implemented")

    return guarded(method, handle)
