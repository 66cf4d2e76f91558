"""GET /v1/logs: JSON lines, streamed while following (Pebble §2.11)."""

from __future__ import annotations

import orjson

from gateway import shaping
from gateway.calls import first_message
from gateway.routes.context import Handler, RouteContext
from gateway.transcode import build_request
from shoal.descriptors import Method


def _log_line(entry) -> bytes:
    return orjson.dumps({"time": entry.time, "service": entry.service, "message": entry.message}) + b"\n"


def pebble_logs(ctx: RouteContext, methods: list[Method]) -> Handler:
    method = methods[0]

    async def handle(request):
        caller = await ctx.gate.authorize(request, method)
        message = build_request(method, {}, list(request.query.items()), None)
        stream = ctx.calls.callable(method)(message, metadata=ctx.calls.metadata(caller))
        first = await first_message(stream)
        return await shaping.stream_lines(request, stream, first, "application/x-ndjson", _log_line)

    return shaping.guarded(method, handle)
