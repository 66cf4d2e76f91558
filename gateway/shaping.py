"""Answers in each API family's shape, and the one failure path.

- Pebble (`/v1`, spec pebble-api.md §1.2): the envelope
  `{"type","status-code","status","result"}`; async changes are 202 with
  `change`; errors carry `{"message","kind"}` (401 is always
  `login-required`).
- Lighthouse (`/api/v0.2`): plain JSON, empty 200 bodies for writes, errors
  as `{"Cause","Message"}`.
- Security (`/api/security`, `/api/login`, `/api/audit`): plain JSON, an
  empty answer is 204, errors as `{"error": code, "message": text, ...extra}`.

Every refusal a handler meets — bad input, an access rule, a service's gRPC
error (mapped in gateway/errors.py) — is answered by `failure_response`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus

import grpc
import orjson
from aiohttp import web

from gateway.errors import HTTPError, from_rpc_error
from gateway.transcode import BadRequest
from shoal.descriptors import Method, family_of_path

log = logging.getLogger("shoal.gateway")

_JSON = "application/json"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(body, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type=_JSON)


# -- Pebble ----------------------------------------------------------------------
def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def pebble_envelope(kind: str, status: int, result=..., change: str | None = None) -> dict:
    body = {"type": kind, "status-code": status, "status": _reason(status)}
    if change is not None:
        body["change"] = change
    if result is not ...:
        body["result"] = result
    return body


def pebble_sync(result=...) -> web.Response:
    return _json(pebble_envelope("sync", 200, result))


def _pebble_answer(method: Method, value, has_result: bool) -> web.Response:
    if method.async_change:
        fields = dict(value) if isinstance(value, dict) else {}
        change = fields.pop("change", "")
        return _json(pebble_envelope("async", 202, fields or None, change=change), 202)
    if method.healthy_field and value.get(method.healthy_field) is False:
        # Pebble keeps type "sync" but answers 502 when unhealthy.
        return _json(pebble_envelope("sync", 502, value), 502)
    return pebble_sync(value) if has_result else pebble_sync()


def _pebble_error(err: HTTPError, service: str) -> web.Response:
    result: dict = {"message": err.message}
    kind = "login-required" if err.status == 401 else err.kind
    if kind:
        result["kind"] = kind
    return _json(pebble_envelope("error", err.status, result), err.status)


# -- Lighthouse ------------------------------------------------------------------
# The Lighthouse module named in "Cause" for each service.
CAUSES = {"identity": "users", "beacon": "beacons", "application": "applications", "plan": "control"}


def _lighthouse_answer(method: Method, value, has_result: bool) -> web.Response:
    return _json(value) if has_result else web.Response(status=200)


def _lighthouse_error(err: HTTPError, service: str) -> web.Response:
    return _json({"Cause": err.kind or CAUSES.get(service, "control"), "Message": err.message}, err.status)


# -- security --------------------------------------------------------------------
_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    408: "request_timeout",
    413: "request_too_large",
    429: "rate_limit",
    502: "service_unavailable",
    504: "timeout",
}


def _security_answer(method: Method, value, has_result: bool) -> web.Response:
    return _json(value) if has_result else web.Response(status=204)


def _security_error(err: HTTPError, service: str) -> web.Response:
    body = {"error": err.kind or _CODES.get(err.status, "internal_error"), "message": err.message}
    body.update(err.extra)
    return _json(body, err.status)


# -- one entry per family ----------------------------------------------------------
_ANSWERS = {"pebble": _pebble_answer, "lighthouse": _lighthouse_answer, "security": _security_answer}
_ERRORS = {"pebble": _pebble_error, "lighthouse": _lighthouse_error, "security": _security_error}


def answer(method: Method, value, has_result: bool) -> web.Response:
    """The success answer of a unary RPC (`value` its JSON) in its family's shape."""
    return _ANSWERS[method.family](method, value, has_result)


def error_response(family: str, err: HTTPError, service: str = "") -> web.Response:
    return _ERRORS[family](err, service)


REFUSALS = (BadRequest, HTTPError, grpc.aio.AioRpcError)  # what a handler answers as an error


def failure_response(method: Method, error: Exception) -> web.Response:
    """A refused request (bad input, an access rule, a service's error) in
    the shape of the route's API family."""
    if isinstance(error, BadRequest):
        error = HTTPError(400, str(error))
    elif isinstance(error, grpc.aio.AioRpcError):
        error = from_rpc_error(error, method.service, method.family)
    return error_response(method.family, error, method.service)


def guarded(method: Method, handle: Handler) -> Handler:
    """`handle`, with every refusal it raises answered by `failure_response`."""

    async def answer_refusals(request: web.Request) -> web.StreamResponse:
        try:
            return await handle(request)
        except REFUSALS as error:
            return failure_response(method, error)

    return answer_refusals


# -- routing's own refusals ----------------------------------------------------------
def routing_error(family: str, http_method: str, status: int, allowed=None) -> web.Response:
    """A 404 or 405 from routing in `family`'s shape (405 lists `allowed`)."""
    if status == 404:
        message = "invalid API endpoint requested" if family == "pebble" else "not found"
    else:
        message = f'method "{http_method}" not allowed'
    response = error_response(family, HTTPError(status, message))
    if allowed is not None:
        response.headers["Allow"] = ", ".join(sorted(allowed))
    return response


def shaped_refusal(request: web.Request, exc: web.HTTPException) -> web.Response | None:
    """A 404/405/413 from routing or aiohttp itself, in the family's shape
    (None for what is no refusal: it goes out as it is)."""
    if exc.status < 400:
        return None
    family = family_of_path(request.path)
    if exc.status in (404, 405):
        allowed = exc.allowed_methods if isinstance(exc, web.HTTPMethodNotAllowed) else None
        return routing_error(family, request.method, exc.status, allowed)
    return error_response(family, HTTPError(exc.status, exc.reason))


# -- streams -----------------------------------------------------------------------
async def stream_lines(request: web.Request, call, first, content_type: str,
                       line: Callable[[object], bytes]) -> web.StreamResponse:
    """A 200 answer of one line per message of a server-streaming `call`:
    `first` (already received, so that a refused call was answered as an
    error before any status line; None when the stream was empty), then the
    rest as they come, each flushed."""
    response = web.StreamResponse(status=200)
    response.content_type = content_type
    await response.prepare(request)
    try:
        if first is not None:
            await response.write(line(first))
            async for item in call:
                await response.write(line(item))
    except grpc.aio.AioRpcError as err:
        log.warning("%s stream ended: %s", request.path, err.details())
    except ConnectionResetError:
        pass  # the client went away
    finally:
        call.cancel()
    try:
        await response.write_eof()
    except ConnectionResetError:
        pass  # the client went away before the end
    return response
