"""An RPC whose answer is a `text` field served as text/plain (metrics), as
Pebble's handler writes it: the type Go sniffs from the text, none when empty."""

from __future__ import annotations

from aiohttp import web

from gateway import shaping
from gateway.calls import deadline_for
from gateway.routes.context import Handler, RouteContext
from gateway.transcode import build_request
from shoal.descriptors import Method


def raw_text(ctx: RouteContext, methods: list[Method]) -> Handler:
    method = methods[0]

    async def handle(request):
        caller = await ctx.gate.authorize(request, method)
        message = build_request(method, dict(request.match_info), list(request.query.items()), None)
        response = await ctx.calls.callable(method)(message, metadata=ctx.calls.metadata(caller),
                                                    timeout=deadline_for(method, message))
        if not response.text:
            # Go's server names a type only for a body it has seen, so an
            # empty answer has no Content-Type at all.
            return web.Response(body=b"")
        return web.Response(text=response.text, content_type="text/plain", charset="utf-8")

    return shaping.guarded(method, handle)
