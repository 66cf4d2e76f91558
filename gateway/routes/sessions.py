"""Logins and logouts: the routes that set and clear the session cookies.

A login (`POST /api/login` {username, password, rememberMe} or
`POST /api/v0.2/login` {Email, Password}) is refused over plain HTTP, before
its body is read: credentials never cross cleartext (the unix socket and
HTTPS are concealed, as Pebble's transport rule says). It asks the identity
service for a new session and, only once that succeeded, drops the session
the request already carried (fixation); a failed login leaves it as it was.
It sets two cookies: the session (HttpOnly, SameSite=Strict; on HTTPS named
`__Host-shoal_session` and `Secure`) and its CSRF token (readable by the
page, to echo in X-CSRF-Token on state-changing requests).

A logout (`/api/logout`, `/api/v0.2/logout`) changes state: a request that
carries a session cookie must echo its CSRF token, else 403 and the session
stays.
"""

from __future__ import annotations

from aiohttp import web

from gateway.access import CSRF_COOKIE, anonymous, check_csrf, csrf_token, session_cookie_name
from gateway.calls import deadline_for
from gateway.errors import HTTPError
from gateway.listeners import transport_kind
from gateway.routes.context import Handler, RouteContext
from gateway.shaping import guarded
from gateway.transcode import build_request, read_body
from shoal.descriptors import Method, methods_by_path
from shoal.v1 import identity_pb2

LOGOUTS = {"/api/login": "/shoal.v1.Identity/Logout", "/api/v0.2/login": "/shoal.v1.Identity/LighthouseLogout"}


def _answer(method: Method, body: dict | None) -> web.Response:
    if method.family == "lighthouse":
        return web.Response(status=200)
    return web.json_response(body or {"success": True})


PLAIN_HTTP_LOGIN = "log in over HTTPS or the unix socket: credentials never cross plain HTTP"


async def _end_session(ctx: RouteContext, method: Method, request: web.Request, caller) -> None:
    raw = request.cookies.get(session_cookie_name(request), "")
    if raw:
        message = identity_pb2.LogoutRequest(session_token=raw)
        await ctx.calls.callable(method)(message, metadata=ctx.calls.metadata(caller),
                                         timeout=deadline_for(method, message))
        ctx.gate.forget(request)  # this gateway stops honouring it at once


def session_login(ctx: RouteContext, methods: list[Method]) -> Handler:
    method = methods[0]
    logout = methods_by_path()[LOGOUTS[method.http_path]]

    async def handle(request: web.Request) -> web.StreamResponse:
        if transport_kind(request) == "http":
            raise HTTPError(403, PLAIN_HTTP_LOGIN, "https_required")
        caller = anonymous(request)
        message = build_request(method, {}, list(request.query.items()), await read_body(request))
        answer = await ctx.calls.callable(method)(message, metadata=ctx.calls.metadata(caller),
                                                  timeout=deadline_for(method, message))
        await _end_session(ctx, logout, request, caller)  # only now: a failed login keeps it
        response = _answer(method, {"success": True, "message": answer.message})
        secure = transport_kind(request) == "https"
        common = {"path": "/", "max_age": answer.max_age_seconds, "samesite": "Strict", "secure": secure}
        response.set_cookie(session_cookie_name(request), answer.session_token, httponly=True, **common)
        response.set_cookie(CSRF_COOKIE, csrf_token(ctx.settings.secret, answer.session_token), **common)
        return response

    return guarded(method, handle)


def session_logout(ctx: RouteContext, methods: list[Method]) -> Handler:
    method = methods[0]

    async def handle(request: web.Request) -> web.StreamResponse:
        raw = request.cookies.get(session_cookie_name(request), "")
        if raw:
            check_csrf(request, ctx.settings.secret, raw)
        await _end_session(ctx, method, request, anonymous(request))
        response = _answer(method, {"success": True, "message": "Logged out"})
        response.del_cookie(session_cookie_name(request), path="/")
        response.del_cookie(CSRF_COOKIE, path="/")
        return response

    return guarded(method, handle)
