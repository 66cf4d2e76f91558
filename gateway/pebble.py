"""Pebble's response envelope on /v1 (spec: pebble-api.md §1.2)."""

from __future__ import annotations

from http import HTTPStatus

import orjson
from aiohttp import web

_JSON = "application/json"


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def envelope(kind: str, status: int, result=..., change: str | None = None) -> dict:
    body = {"type": kind, "status-code": status, "status": _reason(status)}
    if change is not None:
        body["change"] = change
    if result is not ...:
        body["result"] = result
    return body


def respond(body: dict, status: int) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type=_JSON)


def sync(result=...) -> web.Response:
    return respond(envelope("sync", 200, result), 200)


def async_change(change: str, result=None) -> web.Response:
    return respond(envelope("async", 202, result, change=change), 202)


def error(status: int, message: str, kind: str = "", value=None) -> web.Response:
    if status == 401:
        kind = "login-required"
    result: dict = {"message": message}
    if kind:
        result["kind"] = kind
    if value is not None:
        result["value"] = value
    return respond(envelope("error", status, result), status)


def answer(method, value, has_result: bool) -> web.Response:
    """The envelope for a successful unary RPC."""
    if method.async_change:
        fields = dict(value) if isinstance(value, dict) else {}
        change = fields.pop("change", "")
        return async_change(change, fields or None)
    if method.healthy_field and value.get(method.healthy_field) is False:
        # Pebble keeps type "sync" but answers 502 when unhealthy.
        return respond(envelope("sync", 502, value), 502)
    return sync(value) if has_result else sync()
