"""Access and shaping rules of the real gateway, in this process: build_app
in front of in-process services that implement only the RPCs used here
(tests/gateway_harness.py)."""

from __future__ import annotations

import base64

import pytest

from services.common import errors
from shoal.v1 import identity_pb2, identity_pb2_grpc, plan_pb2, plan_pb2_grpc
from tests.gateway_harness import in_process_gateway

MONITOR_TOKEN = "monitor-token"


class Identity(identity_pb2_grpc.IdentityServicer):
    """Authenticate knows one token, scoped monitoring:read; Basic "busy" finds the hasher busy."""

    async def Authenticate(self, request, context):
        if request.token == MONITOR_TOKEN:
            return identity_pb2.AuthenticateResponse(matched=True, name="token:monitor", access="metrics",
                                                     method="token", scopes=["monitoring:read"])
        if request.token:
            raise errors.unauthenticated("Invalid API token", kind="invalid_token")
        if request.basic_username == "busy":
            raise errors.unavailable("too many password checks waiting", kind="busy")
        return identity_pb2.AuthenticateResponse(matched=False)  # the socket's uid decides

    async def GetUser(self, request, context):
        raise errors.denied("current permission too low", kind="users")


class Plan(plan_pb2_grpc.PlanServicer):
    async def ListServices(self, request, context):
        return plan_pb2.ListServicesResponse(
            services=[plan_pb2.ServiceInfo(name="web", startup="enabled", current="active")])

    async def GetChange(self, request, context):
        raise errors.not_found(f'cannot find change with id "{request.id}"')

    async def GetHealth(self, request, context):
        return plan_pb2.Health(healthy=False)


@pytest.fixture
async def gw():
    async with in_process_gateway({"identity": Identity(), "plan": Plan()}, down=("beacon",)) as harness:
        yield harness


async def answer(request) -> tuple[int, object]:
    async with request as response:
        return response.status, await response.json(content_type=None)


async def test_anonymous_callers_over_plain_http_get_each_familys_401(gw):
    assert await answer(gw.http.get("/v1/services")) == (401, {
        "type": "error", "status-code": 401, "status": "Unauthorized",
        "result": {"message": "access denied", "kind": "login-required"}})
    assert await answer(gw.http.get("/api/v0.2/beacons/list")) == (
        401, {"Cause": "beacons", "Message": "authentication required"})
    assert await answer(gw.http.get("/api/security/tokens")) == (
        401, {"error": "unauthorized", "message": "authentication required"})


async def test_a_literal_path_answers_405_with_allow_in_its_familys_shape(gw):
    async with gw.unix.put("/api/v0.2/users/list") as response:
        assert response.status == 405 and response.headers["Allow"] == "GET"
        assert await response.json() == {"Cause": "control", "Message": 'method "PUT" not allowed'}
    async with gw.unix.delete("/v1/services") as response:
        assert response.status == 405 and response.headers["Allow"] == "GET, POST"
        assert (await response.json())["result"] == {"message": 'method "DELETE" not allowed'}


async def test_service_errors_take_each_familys_shape(gw):
    assert await answer(gw.unix.get("/v1/changes/7")) == (404, {
        "type": "error", "status-code": 404, "status": "Not Found",
        "result": {"message": 'cannot find change with id "7"', "kind": "not-found"}})
    assert await answer(gw.unix.get("/api/v0.2/users/someone@example.com")) == (
        403, {"Cause": "users", "Message": "current permission too low"})
    status, body = await answer(gw.unix.get("/api/v0.2/beacons/list"))
    assert status == 502 and body["Cause"] == "beacons"
    assert body["Message"].startswith("beacon service unavailable: ")
    assert await answer(gw.unix.get("/api/security/nothing")) == (
        404, {"error": "not_found", "message": "not found"})
    assert await answer(gw.unix.get("/v1/nothing")) == (404, {
        "type": "error", "status-code": 404, "status": "Not Found",
        "result": {"message": "invalid API endpoint requested"}})


async def test_unhealthy_is_pebbles_sync_envelope_with_502(gw):
    assert await answer(gw.http.get("/v1/health")) == (502, {
        "type": "sync", "status-code": 502, "status": "Bad Gateway", "result": {"healthy": False}})


async def test_a_token_reaches_only_the_routes_its_scopes_name(gw):
    token = {"X-API-Token": MONITOR_TOKEN}
    status, body = await answer(gw.unix.get("/v1/services", headers=token))
    assert status == 200 and [s["name"] for s in body["result"]] == ["web"]
    assert await answer(gw.unix.post("/v1/services", json={"action": "start", "services": ["web"]},
                                     headers=token)) == (403, {
        "type": "error", "status-code": 403, "status": "Forbidden",
        "result": {"message": "this token lacks the scope the route needs", "kind": "missing_scope"}})
    assert await answer(gw.unix.get("/api/security/tokens", headers=token)) == (403, {
        "error": "missing_scope", "message": "this token lacks the scope the route needs",
        "requiredScope": "settings:read"})


async def test_refused_credentials_are_answered_from_identitys_grpc_error(gw):
    bad = {"X-API-Token": "not-a-token"}
    assert await answer(gw.unix.get("/api/security/tokens", headers=bad)) == (
        401, {"error": "invalid_token", "message": "Invalid API token"})
    assert await answer(gw.unix.get("/v1/services", headers=bad)) == (401, {
        "type": "error", "status-code": 401, "status": "Unauthorized",
        "result": {"message": "Invalid API token", "kind": "login-required"}})
    busy = {"Authorization": "Basic " + base64.b64encode(b"busy:secret").decode()}
    assert await answer(gw.unix.get("/api/security/tokens", headers=busy)) == (
        503, {"error": "busy", "message": "too many password checks waiting"})
