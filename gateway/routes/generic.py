"""The handler of every route no hand-written code is bound to: authorize,
transcode the request, call the RPC with the signed caller and its
deadline, and shape the answer for the route's family. A server-streaming
RPC answers newline-delimited JSON, flushed per message.

A body that does not decode is refused before the call, except that a
route whose `go_body` names `found_first` (Pebble's POST /v1/changes/{id})
first asks that RPC, whose not-found answer then comes first, as Pebble
looks the change up before it reads the body. A large body is decoded off
the event loop. A long-poll holds one of the gateway's wait slots while it
waits (503 when none is free).

A write to the identity service may change who callers are (an identity, a
token, a lockout): once it has been answered (unless the service refused it,
changing nothing), the gate drops every caller it resolved, so the change
applies to the very next request."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

import grpc
import orjson
from aiohttp import web
from google.protobuf import empty_pb2

from gateway import shaping
from gateway.calls import deadline_for, first_message, waits
from gateway.routes.context import Handler, RouteContext
from gateway.transcode import BadRequest, build_request, message_json, read_body, to_json_value
from services.common import signing
from shoal.descriptors import Method, methods_by_path

LARGE_BODY = 64 * 1024  # bodies past this are decoded in a worker thread
# A service's refusals: the call changed nothing.
REFUSED = frozenset({grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.OUT_OF_RANGE, grpc.StatusCode.NOT_FOUND,
                     grpc.StatusCode.ALREADY_EXISTS, grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.ABORTED,
                     grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED,
                     grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.UNIMPLEMENTED})

log = logging.getLogger("shoal.gateway")


def _json_line(message) -> bytes:
    return orjson.dumps(message_json(message)) + b"\n"


Responder = Callable[[web.Request, signing.Caller], Awaitable[web.StreamResponse]]


def generic_handler(ctx: RouteContext, method: Method) -> Handler:
    respond = generic_responder(ctx, method)

    async def handle(request):
        return await respond(request, await ctx.gate.authorize(request, method))

    return shaping.guarded(method, handle)


def generic_responder(ctx: RouteContext, method: Method) -> Responder:
    """The answer to an authorized `caller`'s request: transcoded, the RPC
    called, the answer shaped (a view-served route's fallback too)."""
    has_result = method.response_class is not empty_pb2.Empty
    call = ctx.calls.callable
    changes_callers = method.service == "identity" and method.http_method not in ("GET", "HEAD")
    found_first = None
    if method.go_body is not None and method.go_body.found_first:
        found_first = methods_by_path()[method.full_path.rsplit("/", 1)[0] + "/" + method.go_body.found_first]

    async def ask_first(lookup: Method, request, caller) -> None:
        """Ask `lookup` with the path's parameters; its not-found, if so, is the answer."""
        message = build_request(lookup, dict(request.match_info), [], None)
        try:
            await call(lookup)(message, metadata=ctx.calls.metadata(caller), timeout=deadline_for(lookup, message))
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                raise

    views = ctx.views

    async def respond(request, caller):
        body = await read_body(request) if method.body else None
        parts = (method, dict(request.match_info), list(request.query.items()), body, request.headers)
        try:
            if body is not None and len(body) > LARGE_BODY:
                message = await asyncio.to_thread(build_request, *parts)
            else:
                message = build_request(*parts)
        except BadRequest:
            if found_first is not None:
                await ask_first(found_first, request, caller)
            raise
        if method.server_streaming:
            stream = call(method)(message, metadata=ctx.calls.metadata(caller))
            first = await first_message(stream)
            return await shaping.stream_lines(request, stream, first, "application/json", _json_line)
        started = time.perf_counter()
        slot = ctx.calls.waits.hold() if waits(method, message) else contextlib.nullcontext()
        try:
            with slot:
                rpc = call(method)(message, metadata=ctx.calls.metadata(caller), timeout=deadline_for(method, message))
                response = await rpc
            if views is not None:
                views.observe(method, await rpc.trailing_metadata())
        except grpc.aio.AioRpcError as error:
            if changes_callers and error.code() not in REFUSED:
                ctx.gate.callers_changed()  # it may have been done before it failed
            raise
        if changes_callers:
            ctx.gate.callers_changed()
        log.debug("%s %s %.1fms", caller.identity, method.name, (time.perf_counter() - started) * 1e3)
        return shaping.answer(method, to_json_value(method, response), has_result)

    return respond
