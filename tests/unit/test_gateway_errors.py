"""The one mapping from a failed RPC to an HTTP error (gateway/errors.py):
services send a gRPC code, a message and optionally a kind and extra
fields; the gateway alone picks the HTTP status."""

from __future__ import annotations

import json

import grpc
import pytest

from gateway.errors import from_rpc_error

C = grpc.StatusCode


def rpc_error(code: grpc.StatusCode, details: str, kind: str = "", extra: dict | None = None, **trailers):
    metadata = [(k.replace("_", "-"), v) for k, v in trailers.items()]
    if kind:
        metadata.append(("shoal-error-kind", kind))
    if extra:
        metadata.append(("shoal-error-extra", json.dumps(extra)))
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(*metadata), details)


@pytest.mark.parametrize("code,family,status", [
    (C.INVALID_ARGUMENT, "pebble", 400),
    (C.OUT_OF_RANGE, "security", 400),
    (C.UNAUTHENTICATED, "lighthouse", 401),
    (C.PERMISSION_DENIED, "pebble", 403),
    (C.NOT_FOUND, "security", 404),
    (C.FAILED_PRECONDITION, "lighthouse", 409),
    (C.ALREADY_EXISTS, "security", 409),
    (C.ABORTED, "security", 409),
    (C.FAILED_PRECONDITION, "pebble", 400),  # Pebble answers every refused request 400
    (C.RESOURCE_EXHAUSTED, "security", 429),
    (C.UNIMPLEMENTED, "pebble", 501),
    (C.INTERNAL, "lighthouse", 500),
    (C.UNKNOWN, "pebble", 500),
])
def test_each_code_has_one_http_status_per_family(code, family, status):
    error = from_rpc_error(rpc_error(code, "what went wrong"), "plan", family)
    assert (error.status, error.message) == (status, "what went wrong")


def test_kind_and_extra_fields_travel_into_the_error():
    error = from_rpc_error(rpc_error(C.PERMISSION_DENIED, "Too many failed login attempts.", "account_locked",
                                     {"lockedUntil": "2026-01-01T00:00:00Z", "lockedBy": ["user"]}),
                           "identity", "security")
    assert (error.status, error.kind) == (403, "account_locked")
    assert error.extra == {"lockedUntil": "2026-01-01T00:00:00Z", "lockedBy": ["user"]}


def test_a_busy_service_is_503_and_a_down_one_502_naming_it():
    busy = from_rpc_error(rpc_error(C.UNAVAILABLE, "too many password checks waiting", "busy"), "identity", "security")
    assert (busy.status, busy.kind, busy.message) == (503, "busy", "too many password checks waiting")
    down = from_rpc_error(rpc_error(C.UNAVAILABLE, "failed to connect to all addresses"), "plan", "pebble")
    assert (down.status, down.message) == (502, "plan service unavailable: failed to connect to all addresses")


def test_a_services_own_wait_timeout_keeps_its_message_and_a_missed_deadline_names_the_service():
    waited = from_rpc_error(rpc_error(C.DEADLINE_EXCEEDED, "timeout waiting for change 7"), "plan", "pebble")
    assert (waited.status, waited.message) == (504, "timeout waiting for change 7")
    missed = from_rpc_error(rpc_error(C.DEADLINE_EXCEEDED, "Deadline Exceeded"), "plan", "pebble")
    assert (missed.status, missed.message) == (504, "plan service did not answer in time")


def test_no_http_status_from_a_service_is_honoured():
    error = from_rpc_error(rpc_error(C.INVALID_ARGUMENT, "bad", shoal_error_status="418"), "plan", "pebble")
    assert error.status == 400
