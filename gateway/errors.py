"""The one mapping from a failed RPC to an HTTP error, per API family.

A service refuses with a gRPC status code, a message a person can act on,
and optionally an error `kind` and extra JSON fields for the family's error
body, sent as trailing metadata (`shoal-error-kind`, `shoal-error-extra`:
services/common/errors.py). No HTTP status travels from a service; it is
chosen here, and only here:

| gRPC code                                 | kind   | HTTP                                        |
|-------------------------------------------|--------|---------------------------------------------|
| INVALID_ARGUMENT, OUT_OF_RANGE            |        | 400 bad input                               |
| UNAUTHENTICATED                           |        | 401 no or bad credentials                   |
| PERMISSION_DENIED                         |        | 403 known but not allowed (e.g. locked out) |
| NOT_FOUND                                 |        | 404                                         |
| ALREADY_EXISTS, FAILED_PRECONDITION,      |        | 409 conflict; 400 on Pebble's /v1, which    |
| ABORTED                                   |        | answers every refused request 400           |
| RESOURCE_EXHAUSTED                        |        | 429 rate limited                            |
| UNAVAILABLE                               | "busy" | 503 up, but too busy now: try again         |
| UNAVAILABLE                               | other  | 502 "<service> service unavailable: …"      |
|                                           |        | (the service, or one it needs, is down)     |
| DEADLINE_EXCEEDED                         |        | 504: the service's own message when it gave |
|                                           |        | up waiting itself (a wait's timeout), else  |
|                                           |        | "<service> service did not answer in time"  |
| UNIMPLEMENTED                             |        | 501                                         |
| INTERNAL, UNKNOWN, DATA_LOSS, anything    |        | 500 the service failed at what it was asked |
| else                                      |        | (e.g. Lighthouse's failed beacon poll)      |

Each family then shapes the error its own way (gateway/shaping.py); the
`kind` and extra fields go into that body.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import grpc

from services.common.errors import EXTRA, KIND

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
BUSY = "busy"  # the kind of an UNAVAILABLE that means "retry soon" (503)
_OWN_DEADLINE = ("", "Deadline Exceeded")  # what gRPC itself says when the caller's deadline passed


@dataclass
class HTTPError(Exception):
    status: int
    message: str
    kind: str = ""
    extra: dict = field(default_factory=dict)


def from_rpc_error(error: grpc.aio.AioRpcError, service: str, family: str) -> HTTPError:
    """The HTTP error for a failed call to `service`, for `family`."""
    code = error.code()
    trailers = dict(error.trailing_metadata() or ())
    kind = trailers.get(KIND, "")
    extra = json.loads(trailers[EXTRA]) if EXTRA in trailers else {}
    message = error.details() or code.name.lower()
    if code == grpc.StatusCode.UNAVAILABLE:
        if kind == BUSY:
            return HTTPError(503, message, kind, extra)
        return HTTPError(502, f"{service} service unavailable: {message}")
    if code == grpc.StatusCode.DEADLINE_EXCEEDED and error.details() in _OWN_DEADLINE:
        return HTTPError(504, f"{service} service did not answer in time")
    status = _HTTP.get(code, 500)
    if family == "pebble" and status == 409:
        status = 400
    return HTTPError(status, message, kind, extra)
