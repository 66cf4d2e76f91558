"""The one mapping from a gRPC status to an HTTP status and error details."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import grpc

from services.common.errors import EXTRA, HTTP_STATUS, KIND

_HTTP = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.UNAVAILABLE: 502,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}


@dataclass
class HTTPError(Exception):
    status: int
    message: str
    kind: str = ""
    extra: dict = field(default_factory=dict)


def from_rpc_error(error: grpc.aio.AioRpcError, service: str, family: str) -> HTTPError:
    """An HTTP error for a failed call to `service`, shaped for `family`."""
    code = error.code()
    trailers = {k: v for k, v in (error.trailing_metadata() or ())}
    kind = trailers.get(KIND, "")
    extra = json.loads(trailers[EXTRA]) if EXTRA in trailers else {}
    status = int(trailers[HTTP_STATUS]) if HTTP_STATUS in trailers else 0
    message = error.details() or code.name.lower()
    if not status:
        if code == grpc.StatusCode.UNAVAILABLE:
            return HTTPError(502, f"{service} service unavailable: {message}")
        if code == grpc.StatusCode.DEADLINE_EXCEEDED and not trailers:
            return HTTPError(504, f"{service} service did not answer in time")
        status = _HTTP.get(code, 500)
        if family == "pebble" and status == 409:
            status = 400  # Pebble reports every refused request as 400
    return HTTPError(status, message, kind, extra)
