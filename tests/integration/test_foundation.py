"""The foundation, end to end: real processes, real sockets."""

from __future__ import annotations

import os
import signal
import ssl
import time
from pathlib import Path

import grpc
import pytest

from services.common import signing
from shoal.v1 import (
    application_pb2,
    application_pb2_grpc,
    beacon_pb2,
    beacon_pb2_grpc,
    identity_pb2,
    identity_pb2_grpc,
    plan_pb2,
    plan_pb2_grpc,
)

# One call per service on its highest-level RPC: (service, stub, method, request, access needed)
CALLS = [
    ("plan", plan_pb2_grpc.PlanStub, "AddLayer", plan_pb2.AddLayerRequest(), "admin"),
    ("identity", identity_pb2_grpc.IdentityStub, "IdentitiesAction", identity_pb2.IdentitiesActionRequest(), "admin"),
    ("beacon", beacon_pb2_grpc.BeaconStub, "ResolveInstance", beacon_pb2.ResolveInstanceRequest(), "internal"),
    ("application", application_pb2_grpc.ApplicationStub, "ListApplications",
     application_pb2.ListApplicationsRequest(), "read"),
]


def test_system_info_over_the_socket_has_pebbles_envelope(suite):
    answer = suite.unix("GET", "/v1/system-info")
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("application/json")
    body = answer.json()
    assert body["type"] == "sync" and body["status-code"] == 200 and body["status"] == "OK"
    assert body["result"]["version"].startswith("v")
    assert body["result"]["boot-id"] == Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    assert body["result"]["http-address"] == f"127.0.0.1:{suite.http_port}"


def test_health_is_open_on_plain_http(suite):
    answer = suite.http("GET", "/v1/health")
    assert answer.status == 200
    assert answer.json() == {"type": "sync", "status-code": 200, "status": "OK", "result": {"healthy": True}}


@pytest.mark.parametrize("path", ["/v1/services", "/v1/changes", "/v1/plan?format=yaml", "/v1/metrics"])
def test_plain_http_reaches_only_open_routes(suite, path):
    answer = suite.http("GET", path)
    assert answer.status == 401
    assert answer.json()["result"] == {"message": "access denied", "kind": "login-required"}


def test_https_serves_the_generated_certificate_and_the_same_routes(suite):
    cert_file = suite.home / "tls" / "cert.pem"
    served = ssl.get_server_certificate(("127.0.0.1", suite.https_port))
    assert ssl.PEM_cert_to_DER_cert(served) == ssl.PEM_cert_to_DER_cert(cert_file.read_text())
    answer = suite.https("GET", "/v1/system-info")
    assert answer.status == 200 and answer.json()["result"]["version"]
    assert suite.https("GET", "/v1/health").json()["result"] == {"healthy": True}


def test_unknown_route_is_404_in_each_familys_shape(suite):
    pebble = suite.unix("GET", "/v1/no-such-thing")
    assert pebble.status == 404
    assert pebble.json() == {
        "type": "error", "status-code": 404, "status": "Not Found",
        "result": {"message": "invalid API endpoint requested"},
    }
    lighthouse = suite.unix("GET", "/api/v0.2/no-such-thing")
    assert lighthouse.status == 404 and set(lighthouse.json()) == {"Cause", "Message"}
    security = suite.unix("GET", "/api/security/no-such-thing")
    assert security.status == 404 and security.json()["error"] == "not_found"


def test_wrong_method_is_405_before_authentication(suite):
    # Over plain HTTP nobody is authenticated, yet the method is refused first.
    answer = suite.http("PUT", "/v1/services", body={})
    assert answer.status == 405
    assert answer.json()["result"]["message"] == 'method "PUT" not allowed'


def test_malformed_json_is_400_in_each_familys_shape(suite):
    pebble = suite.unix("POST", "/v1/layers", body=b"{not json", headers={"Content-Type": "application/json"})
    assert pebble.status == 400
    assert pebble.json()["type"] == "error"
    assert pebble.json()["result"]["message"].startswith("cannot decode request body")
    lighthouse = suite.unix("POST", "/api/v0.2/beacons/create", body=b"[1,", headers={"Content-Type": "application/json"})
    assert lighthouse.status == 400 and lighthouse.json()["Message"].startswith("cannot decode request body")
    security = suite.unix("POST", "/api/security/tokens", body=b"nope", headers={"Content-Type": "application/json"})
    assert security.status == 400 and security.json()["error"] == "bad_request"


def test_wrongly_typed_json_is_400(suite):
    answer = suite.unix("POST", "/v1/services", body={"action": "start", "services": "not-a-list"})
    assert answer.status == 400
    assert answer.json()["result"]["message"] == (  # Pebble's words, and Go's
        "cannot decode data from request body: json: cannot unmarshal string into Go struct field .services "
        "of type []string")


def test_oversized_body_is_413_in_the_familys_shape(suite):
    big = b'{"layer": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    answer = suite.unix("POST", "/v1/layers", body=big, headers={"Content-Type": "application/json"})
    assert answer.status == 413
    assert answer.json()["type"] == "error"


def test_openapi_document_lists_every_route(suite):
    doc = suite.unix("GET", "/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert "get" in doc["paths"]["/v1/services"] and "post" in doc["paths"]["/v1/services"]
    assert doc["paths"]["/v1/services"]["get"]["x-shoal-access"] == "read"
    assert "/api/v0.2/beacons/create" in doc["paths"]


def _call(suite, service, stub_class, name, request, metadata):
    async def go():
        async with grpc.aio.insecure_channel(suite.grpc_address(service)) as channel:
            return await getattr(stub_class(channel), name)(request, metadata=metadata, timeout=5)

    import asyncio

    return asyncio.run(go())


def _code(suite, service, stub_class, name, request, metadata) -> grpc.StatusCode:
    try:
        _call(suite, service, stub_class, name, request, metadata)
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


@pytest.mark.parametrize("service,stub,name,request_message,access", CALLS, ids=[c[0] for c in CALLS])
def test_services_refuse_unsigned_expired_and_forged_callers(suite, service, stub, name, request_message, access):
    admin = signing.Caller("tester", "admin")
    assert _code(suite, service, stub, name, request_message, ()) == grpc.StatusCode.UNAUTHENTICATED
    expired = signing.sign(suite.secret(), admin, ttl=-5)
    assert _code(suite, service, stub, name, request_message, expired) == grpc.StatusCode.UNAUTHENTICATED
    forged = signing.sign(b"not the cluster secret", admin)
    assert _code(suite, service, stub, name, request_message, forged) == grpc.StatusCode.UNAUTHENTICATED
    tampered = tuple((k, "internal" if k == signing.ACCESS else v) for k, v in signing.sign(suite.secret(), admin))
    assert _code(suite, service, stub, name, request_message, tampered) == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize("service,stub,name,request_message,access", CALLS, ids=[c[0] for c in CALLS])
def test_a_caller_below_the_rpcs_level_is_permission_denied(suite, service, stub, name, request_message, access):
    below = {"admin": "read", "internal": "admin", "read": "metrics"}[access]
    metadata = signing.sign(suite.secret(), signing.Caller("tester", below))
    assert _code(suite, service, stub, name, request_message, metadata) == grpc.StatusCode.PERMISSION_DENIED
    enough = signing.sign(suite.secret(), signing.Caller("tester", access))
    assert _code(suite, service, stub, name, request_message, enough) != grpc.StatusCode.PERMISSION_DENIED


def test_services_answer_grpc_health_checks(suite):
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    async def go(service):
        async with grpc.aio.insecure_channel(suite.grpc_address(service)) as channel:
            return await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)

    import asyncio

    for service in ("identity", "plan", "beacon", "application"):
        assert asyncio.run(go(service)).status == health_pb2.HealthCheckResponse.SERVING


def test_a_killed_service_gives_502_naming_it_and_is_restarted(fresh_suite):
    suite = fresh_suite
    pid = suite.pid("plan")
    os.kill(pid, signal.SIGKILL)
    started = time.monotonic()
    # A route the RPC answers (a view-served one may still answer from the
    # gateway's view until it sees the stream end: test_views.py).
    answer = suite.unix("GET", "/v1/plan?format=yaml", timeout=15)
    elapsed = time.monotonic() - started
    # The supervisor waits 0.5 s before restarting, so this answer comes first.
    assert answer.status == 502
    assert "plan service unavailable" in answer.json()["result"]["message"]
    assert elapsed < 5  # a refused connection is reported at once, never a hang
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if suite.unix("GET", "/v1/plan?format=yaml").status == 200 and suite.pid("plan") != pid:
            break
        time.sleep(0.1)
    else:
        pytest.fail("plan service was not restarted")
    assert suite.pid("plan") != pid


def test_sigterm_stops_every_process_cleanly(fresh_suite):
    suite = fresh_suite
    pids = {name: suite.pid(name) for name in ("identity", "plan", "beacon", "application", "gateway")}
    assert suite.stop() == 0
    for name, pid in pids.items():
        assert not os.path.exists(f"/proc/{pid}") or Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z", name
    assert not os.path.exists(suite.socket)
