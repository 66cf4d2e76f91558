"""The hand-written handlers by the names the `handler` method option
gives them, and the binding of every route to its handler (a route with
the `view` option is answered from the gateway's view, gateway/routes/view.py). A name the
gateway does not know stops it at start-up (`check_bindings`)."""

from __future__ import annotations

from collections.abc import Iterable

from gateway.routes.context import Handler, HandlerFactory, RouteContext
from gateway.routes.files import pebble_files_get, pebble_files_post
from gateway.routes.generic import generic_handler
from gateway.routes.logs import pebble_logs
from gateway.routes.not_implemented import pebble_not_implemented
from gateway.routes.raw_text import raw_text
from gateway.routes.sessions import session_login, session_logout
from gateway.routes.view import view_handler
from gateway.routes.websocket import pebble_websocket
from shoal.descriptors import Method

HANDLERS: dict[str, HandlerFactory] = {
    "raw_text": raw_text,
    "pebble_logs": pebble_logs,
    "pebble_files_get": pebble_files_get,
    "pebble_files_post": pebble_files_post,
    "pebble_websocket": pebble_websocket,
    "pebble_not_implemented": pebble_not_implemented,
    "session_login": session_login,
    "session_logout": session_logout,
}


class UnknownHandler(Exception):
    """An RPC names a hand-written handler the gateway does not have."""


def check_bindings(methods: Iterable[Method], handlers: dict[str, HandlerFactory] = HANDLERS) -> None:
    unknown = sorted(f"{m.full_path} names handler {m.handler!r}" for m in methods
                     if m.handler and m.handler not in handlers)
    if unknown:
        raise UnknownHandler("no such gateway handler: " + "; ".join(unknown))


def handler_for(ctx: RouteContext, methods: list[Method]) -> Handler:
    """The handler of the route the `methods` share (one, unless a
    hand-written handler picks among several by the request)."""
    first = methods[0]
    if first.handler:
        return HANDLERS[first.handler](ctx, methods)
    if first.view is not None:
        return view_handler(ctx, first)
    return generic_handler(ctx, first)
