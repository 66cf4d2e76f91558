"""The handler of a view-served route (the `view` method option): the
caller is authorized exactly as for any route, then the answer comes from
this worker's view of the service when the view holds it and is current
(gateway/views.py), else from the RPC as on any other route. The answer is
shaped by the same code as the RPC's, once per entry, and its bytes kept
until the entry changes. A route whose option names a filter (notices) holds
one entry of every item, and answers each caller with what the filter
passes for it."""

from __future__ import annotations

from aiohttp import web
from google.protobuf import empty_pb2

from gateway import shaping
from gateway.routes.context import Handler, RouteContext
from gateway.routes.generic import generic_responder
from gateway.routes.view_notices import FILTERS
from gateway.transcode import BadRequest, build_request, to_json_value
from shoal.descriptors import Method


def view_handler(ctx: RouteContext, method: Method) -> Handler:
    respond = generic_responder(ctx, method)
    view = ctx.views.view_of(method) if ctx.views is not None else None
    has_result = method.response_class is not empty_pb2.Empty
    plain = (method.full_path, method.request_class().SerializeToString(deterministic=True))

    def key_of(request: web.Request):
        """The view's key of a request with a query or path parameters."""
        try:
            message = build_request(method, dict(request.match_info), list(request.query.items()), None,
                                    request.headers)
        except BadRequest:
            return None  # the RPC path refuses it
        return method.full_path, message.SerializeToString(deterministic=True)

    if method.view.filter:
        return _filtered_handler(ctx, method, view, respond, plain)

    async def handle(request):
        # Refusals answered here as shaping.guarded answers them, without a coroutine more per request.
        try:
            caller = ctx.gate.admitted(request, method) or await ctx.gate.authorize(request, method)
            if view is not None and (view.current_now() or await view.current()):
                key = plain if not request.query_string and not request.match_info else key_of(request)
                encoded = view.bodies.get(key)
                if encoded is None and key in view.entries:
                    shaped = shaping.answer(method, to_json_value(method, view.entries[key]), has_result)
                    encoded = view.bodies[key] = (shaped.status, shaped.body)
                if encoded is not None:
                    return web.Response(body=encoded[1], status=encoded[0], content_type="application/json")
            return await respond(request, caller)
        except shaping.REFUSALS as error:
            return shaping.failure_response(method, error)

    return handle


def _filtered_handler(ctx: RouteContext, method: Method, view, respond, entry_key) -> Handler:
    """A route whose view entry holds every item: each request is answered
    through the option's filter, for its caller (gateway/routes/view_notices.py)."""
    answers = FILTERS[method.view.filter](method)  # a name the gateway does not know stops it here

    async def handle(request):
        caller = await ctx.gate.authorize(request, method)
        if view is not None and (view.current_now() or await view.current()):
            entry = view.entries.get(entry_key)
            encoded = None if entry is None else answers.answer(request, caller, entry)
            if encoded is not None:
                return web.Response(body=encoded[1], status=encoded[0], content_type="application/json")
        return await respond(request, caller)

    return shaping.guarded(method, handle)
