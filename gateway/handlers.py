"""Hand-written handlers for the routes whose wire shape no annotation can
express. Each still authenticates the same way and calls the same RPC."""

from __future__ import annotations

import grpc
import orjson
from aiohttp import web

from gateway.app import REFUSALS, Gateway, Handler, failure_response
from gateway.transcode import build_request
from shoal.descriptors import Method


def raw_text(gw: Gateway, methods: list[Method]) -> Handler:
    """An RPC whose answer is a `text` field served as text/plain (metrics)."""
    method = methods[0]

    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            caller = await gw.authorize(request, method)
            message = build_request(method, dict(request.match_info), list(request.query.items()), None)
            response = await gw.callable(method)(message, metadata=gw.metadata(caller), timeout=10)
        except REFUSALS as err:
            return failure_response(method, err)
        return web.Response(text=response.text, content_type="text/plain", charset="utf-8")

    return handle


def pebble_logs(gw: Gateway, methods: list[Method]) -> Handler:
    """GET /v1/logs: JSON lines, streamed while following (Pebble §2.11)."""
    method = methods[0]

    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            caller = await gw.authorize(request, method)
            message = build_request(method, {}, list(request.query.items()), None)
            call = gw.callable(method)(message, metadata=gw.metadata(caller))
            iterator = call.__aiter__()
            try:
                first = await iterator.__anext__()
            except StopAsyncIteration:
                first = None
        except REFUSALS as err:
            return failure_response(method, err)
        response = web.StreamResponse(status=200)
        response.content_type = "application/x-ndjson"
        await response.prepare(request)

        def line(entry) -> bytes:
            return orjson.dumps({"time": entry.time, "service": entry.service, "message": entry.message}) + b"\n"

        try:
            if first is not None:
                await response.write(line(first))
                async for entry in iterator:
                    await response.write(line(entry))
        except (grpc.aio.AioRpcError, ConnectionResetError):
            pass
        finally:
            call.cancel()
        await response.write_eof()
        return response

    return handle


REGISTRY = {
    "raw_text": raw_text,
    "pebble_logs": pebble_logs,
}


def _register_more() -> None:
    from gateway.files import pebble_files_get, pebble_files_post
    from gateway.sessions import session_login, session_logout
    from gateway.websocket import pebble_websocket

    REGISTRY["session_login"] = session_login
    REGISTRY["session_logout"] = session_logout
    REGISTRY["pebble_files_get"] = pebble_files_get
    REGISTRY["pebble_files_post"] = pebble_files_post
    REGISTRY["pebble_websocket"] = pebble_websocket


_register_more()
