"""Logins and logouts: the routes that set and clear the session cookies.

A login (`POST /api/login` {username, password, rememberMe} or
`POST /api/v0.2/login` {Email, Password}) drops the session the request
already carried (fixation), asks the identity service for a new one and
sets two cookies: the session (HttpOnly, SameSite=Strict; on HTTPS named
`__Host-shoal_session` and `Secure`) and its CSRF token (readable by the
page, to echo in X-CSRF-Token on state-changing requests).
"""

from __future__ import annotations

from dataclasses import replace

import grpc
from aiohttp import web

from gateway.app import REFUSALS, Gateway, Handler, failure_response, read_body
from gateway.auth import ANONYMOUS
from gateway.credentials import (
    CSRF_COOKIE,
    SECURE_SESSION_COOKIE,
    SESSION_COOKIE,
    MalformedCredentials,
    client_origin,
    csrf_token,
    read_credentials,
)
from gateway.listeners import peer_uid, transport_kind
from gateway.transcode import build_request
from shoal.descriptors import Method, methods_by_path
from shoal.v1 import identity_pb2

LOGOUTS = {"/api/login": "/shoal.v1.Identity/Logout", "/api/v0.2/login": "/shoal.v1.Identity/LighthouseLogout"}


def _cookie_name(request: web.Request) -> str:
    return SECURE_SESSION_COOKIE if transport_kind(request) == "https" else SESSION_COOKIE


def _answer(method: Method, body: dict | None) -> web.Response:
    if method.family == "lighthouse":
        return web.Response(status=200)
    return web.json_response(body or {"success": True})


async def _end_session(gw: Gateway, method: Method, request: web.Request, caller) -> None:
    raw = request.cookies.get(_cookie_name(request), "")
    if raw:
        await gw.callable(method)(identity_pb2.LogoutRequest(session_token=raw), metadata=gw.metadata(caller),
                                  timeout=10)
        transport = transport_kind(request)
        try:
            credentials = read_credentials(request, transport, peer_uid(request) if transport == "unix" else None)
        except MalformedCredentials:
            return
        gw.callers.forget(gw.callers.key(credentials))  # this gateway stops honouring it at once


def session_login(gw: Gateway, methods: list[Method]) -> Handler:
    method = methods[0]
    logout = methods_by_path()[LOGOUTS[method.http_path]]

    async def handle(request: web.Request) -> web.StreamResponse:
        caller = replace(ANONYMOUS, origin=client_origin(request))
        try:
            message = build_request(method, {}, list(request.query.items()), await read_body(request))
            await _end_session(gw, logout, request, caller)
            answer = await gw.callable(method)(message, metadata=gw.metadata(caller), timeout=30)
        except REFUSALS as err:
            return failure_response(method, err)
        response = _answer(method, {"success": True, "message": answer.message})
        secure = transport_kind(request) == "https"
        common = {"path": "/", "max_age": answer.max_age_seconds, "samesite": "Strict", "secure": secure}
        response.set_cookie(_cookie_name(request), answer.session_token, httponly=True, **common)
        response.set_cookie(CSRF_COOKIE, csrf_token(gw.settings.secret, answer.session_token), **common)
        return response

    return handle


def session_logout(gw: Gateway, methods: list[Method]) -> Handler:
    method = methods[0]

    async def handle(request: web.Request) -> web.StreamResponse:
        caller = replace(ANONYMOUS, origin=client_origin(request))
        try:
            await _end_session(gw, method, request, caller)
        except grpc.aio.AioRpcError as err:
            return failure_response(method, err)
        response = _answer(method, {"success": True, "message": "Logged out"})
        response.del_cookie(_cookie_name(request), path="/")
        response.del_cookie(CSRF_COOKIE, path="/")
        return response

    return handle
