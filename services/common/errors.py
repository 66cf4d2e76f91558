"""What went wrong, as domain code says it, and the one mapping to gRPC.

Domain code raises `DomainError` (or a subclass that names its `failure`)
with a message a person can act on and, where the API has them, the API's
error `kind` (Pebble's "not-found", security's "account_locked",
Lighthouse's Cause) and `extra` JSON fields for that family's error body.
No HTTP status lives in domain code. The one interceptor
(services/common/interceptor.py) turns every `DomainError` a servicer lets
through into a gRPC status with `grpc_code(failure)`, the message as its
details, and the kind and extra fields in trailing metadata (`KIND`,
`EXTRA`). The gateway maps gRPC codes to each family's HTTP answer in one
place of its own:

| failure           | gRPC code             | HTTP                                        |
|-------------------|-----------------------|---------------------------------------------|
| `INVALID`         | `INVALID_ARGUMENT`    | 400                                         |
| `UNAUTHENTICATED` | `UNAUTHENTICATED`     | 401                                         |
| `FORBIDDEN`       | `PERMISSION_DENIED`   | 403                                         |
| `NOT_FOUND`       | `NOT_FOUND`           | 404                                         |
| `CONFLICT`        | `FAILED_PRECONDITION` | 409 (400 in the Pebble family)              |
| `RATE_LIMITED`    | `RESOURCE_EXHAUSTED`  | 429                                         |
| `INTERNAL`        | `INTERNAL`            | 500 (what Pebble and Lighthouse call an     |
|                   |                       | internal error: "cannot call exec: ...")    |
| `UNAVAILABLE`     | `UNAVAILABLE`         | 503 when sent with a kind (this service is  |
|                   |                       | busy); 502 without one (a service it needs  |
|                   |                       | could not be reached), as for a service the |
|                   |                       | gateway cannot reach itself                 |
| `TIMEOUT`         | `DEADLINE_EXCEEDED`   | 504 (the service gave up waiting, e.g. a    |
|                   |                       | change wait's own timeout)                  |
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import grpc

KIND = "shoal-error-kind"
EXTRA = "shoal-error-extra"


class Failure(enum.Enum):
    INVALID = "invalid"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not found"
    CONFLICT = "conflict"
    RATE_LIMITED = "rate limited"
    INTERNAL = "internal"
    UNAVAILABLE = "unavailable"
    TIMEOUT = "timeout"


# The gRPC status code's name for each failure (grpc itself is imported only
# where a code is made: `shoal run` uses this module without loading gRPC).
_CODES = {
    Failure.INVALID: "INVALID_ARGUMENT",
    Failure.UNAUTHENTICATED: "UNAUTHENTICATED",
    Failure.FORBIDDEN: "PERMISSION_DENIED",
    Failure.NOT_FOUND: "NOT_FOUND",
    Failure.CONFLICT: "FAILED_PRECONDITION",
    Failure.RATE_LIMITED: "RESOURCE_EXHAUSTED",
    Failure.INTERNAL: "INTERNAL",
    Failure.UNAVAILABLE: "UNAVAILABLE",
    Failure.TIMEOUT: "DEADLINE_EXCEEDED",
}


def grpc_code(failure: Failure) -> grpc.StatusCode:
    import grpc

    return grpc.StatusCode[_CODES[failure]]


class DomainError(Exception):
    """A refused or failed request: what went wrong (`failure`), the message,
    and optionally the API's error `kind` and `extra` body fields.

    Subclasses set `failure` as a class attribute; a failure given to the
    constructor wins over it."""

    failure: Failure = Failure.INVALID

    def __init__(
        self,
        message: str,
        failure: Failure | None = None,
        *,
        kind: str = "",
        extra: Mapping[str, Any] | None = None,
    ):
        super().__init__(message)
        self.message = message
        if failure is not None:
            self.failure = failure
        self.kind = kind
        self.extra = dict(extra or {})

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.failure.name}, {self.message!r})"

    def trailing_metadata(self) -> tuple[tuple[str, str], ...]:
        metadata = []
        if self.kind:
            metadata.append((KIND, self.kind))
        if self.extra:
            metadata.append((EXTRA, json.dumps(self.extra)))
        return tuple(metadata)


def invalid(message: str, **kw) -> DomainError:
    return DomainError(message, Failure.INVALID, **kw)


def not_found(message: str, kind: str = "not-found", **kw) -> DomainError:
    return DomainError(message, Failure.NOT_FOUND, kind=kind, **kw)


def denied(message: str, **kw) -> DomainError:
    return DomainError(message, Failure.FORBIDDEN, **kw)


def unauthenticated(message: str, **kw) -> DomainError:
    return DomainError(message, Failure.UNAUTHENTICATED, **kw)


def conflict(message: str, **kw) -> DomainError:
    return DomainError(message, Failure.CONFLICT, **kw)


def internal(message: str, **kw) -> DomainError:
    return DomainError(message, Failure.INTERNAL, **kw)


def unavailable(message: str, **kw) -> DomainError:
    """Without a kind: a service this one needs could not be reached."""
    return DomainError(message, Failure.UNAVAILABLE, **kw)


EXIT_STARTUP = 78  # EX_CONFIG: what a service exits with when a StartupError stops it


class StartupError(Exception):
    """A service cannot start with what it found (a damaged file, say): the
    message names the file and what to do about it. `shoal service` prints
    it as one line and exits with EXIT_STARTUP, which `shoal run` does not
    restart — starting again would only fail the same way."""
