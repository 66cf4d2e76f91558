"""Errors a service raises: a gRPC status code, a message a person can act
on, and optionally the API's error `kind` and extra JSON fields for the
gateway to put in that family's error body (sent as trailing metadata)."""

from __future__ import annotations

import json

import grpc

KIND = "shoal-error-kind"
EXTRA = "shoal-error-extra"
HTTP_STATUS = "shoal-error-status"


class ServiceError(Exception):
    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        kind: str = "",
        extra: dict | None = None,
        http_status: int = 0,
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.kind = kind
        self.extra = extra or {}
        self.http_status = http_status  # overrides the code's usual HTTP status

    def trailing_metadata(self) -> tuple[tuple[str, str], ...]:
        md = []
        if self.kind:
            md.append((KIND, self.kind))
        if self.extra:
            md.append((EXTRA, json.dumps(self.extra)))
        if self.http_status:
            md.append((HTTP_STATUS, str(self.http_status)))
        return tuple(md)


def invalid(message: str, **kw) -> ServiceError:
    return ServiceError(grpc.StatusCode.INVALID_ARGUMENT, message, **kw)


def not_found(message: str, **kw) -> ServiceError:
    return ServiceError(grpc.StatusCode.NOT_FOUND, message, kind=kw.pop("kind", "not-found"), **kw)


def denied(message: str, **kw) -> ServiceError:
    return ServiceError(grpc.StatusCode.PERMISSION_DENIED, message, **kw)


def unauthenticated(message: str, **kw) -> ServiceError:
    return ServiceError(grpc.StatusCode.UNAUTHENTICATED, message, **kw)


def conflict(message: str, **kw) -> ServiceError:
    return ServiceError(grpc.StatusCode.FAILED_PRECONDITION, message, **kw)


def internal(message: str, **kw) -> ServiceError:
    return ServiceError(grpc.StatusCode.INTERNAL, message, **kw)


def timed_out(message: str, **kw) -> ServiceError:
    """The service itself gave up waiting (HTTP 504), as opposed to the caller's deadline."""
    kw.setdefault("http_status", 504)
    return ServiceError(grpc.StatusCode.DEADLINE_EXCEEDED, message, **kw)
