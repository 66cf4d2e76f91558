"""Shapes of the /api/security, /api/login and /api/audit routes: plain JSON;
errors as {"error": code, "message": text, ...extra fields}; an empty answer
is 204 No Content (e.g. deleting a token)."""

from __future__ import annotations

import orjson
from aiohttp import web

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "request_too_large",
    429: "rate_limit",
    502: "service_unavailable",
    504: "timeout",
}


def answer(method, value, has_result: bool) -> web.Response:
    if not has_result:
        return web.Response(status=204)
    return web.Response(body=orjson.dumps(value), content_type="application/json")


def error(status: int, message: str, kind: str = "", extra: dict | None = None) -> web.Response:
    body = {"error": kind or _CODES.get(status, "internal_error"), "message": message}
    body.update(extra or {})
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")
