"""Access and shaping rules of the real gateway, in this process: build_app
in front of in-process services that implement only the RPCs used here
(tests/gateway_harness.py)."""

from __future__ import annotations

import asyncio
import base64

import pytest
from google.protobuf import empty_pb2

from services.common import errors
from services.common.errors import DomainError, Failure
from shoal.v1 import identity_pb2, identity_pb2_grpc, plan_pb2, plan_pb2_grpc
from tests.gateway_harness import in_process_gateway

MONITOR_TOKEN = "monitor-token"


def basic(user: str, password: str = "pw") -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


class Identity(identity_pb2_grpc.IdentityServicer):
    """Authenticate knows one token, scoped monitoring:read; Basic "busy" finds the hasher busy, "reader"
    and "metrics" are identities of those levels, "wrong" a wrong password and "locked" a locked name.
    IdentitiesAction gives the socket's uid the level it names (a local identity)."""

    def __init__(self):
        self.uid_access = ""  # the socket uid's local identity's level, "" for none
        self.asked = 0
        self.delay = 0.0  # seconds each answer takes

    async def Authenticate(self, request, context):
        self.asked += 1
        await asyncio.sleep(self.delay)
        if request.token == MONITOR_TOKEN:
            return identity_pb2.AuthenticateResponse(matched=True, name="token:monitor", access="metrics",
                                                     method="token", scopes=["monitoring:read"])
        if request.token:
            raise errors.unauthenticated("Invalid API token", kind="invalid_token")
        if request.basic_username == "busy":
            raise errors.unavailable("too many password checks waiting", kind="busy")
        if request.basic_username in ("reader", "metrics"):
            access = "read" if request.basic_username == "reader" else "metrics"
            return identity_pb2.AuthenticateResponse(matched=True, name=request.basic_username, access=access,
                                                     method="basic")
        if request.basic_username == "wrong" and not request.HasField("peer_uid"):
            raise errors.unauthenticated("Invalid username or password. 2 attempts remaining.", kind="unauthorized")
        if request.basic_username == "locked" and not request.HasField("peer_uid"):
            raise DomainError("Too many failed login attempts.", Failure.FORBIDDEN, kind="account_locked",
                              extra={"lockedBy": ["user"]})
        if request.HasField("peer_uid") and self.uid_access:
            return identity_pb2.AuthenticateResponse(matched=True, name="local", access=self.uid_access,
                                                     method="local")
        return identity_pb2.AuthenticateResponse(matched=False)  # the socket's uid decides

    async def IdentitiesAction(self, request, context):
        if request.action == "refuse":
            raise errors.invalid('invalid action "refuse"')
        self.uid_access = request.action
        return empty_pb2.Empty()

    async def GetUser(self, request, context):
        raise errors.denied("current permission too low", kind="users")


class Plan(plan_pb2_grpc.PlanServicer):
    def __init__(self):
        self.metrics_text = ""  # what GetMetrics reports

    async def GetMetrics(self, request, context):
        return plan_pb2.Metrics(text=self.metrics_text)

    async def ListServices(self, request, context):
        return plan_pb2.ListServicesResponse(
            services=[plan_pb2.ServiceInfo(name="web", startup="enabled", current="active")])

    async def GetChange(self, request, context):
        if request.id == "42":
            return plan_pb2.Change(id="42")
        raise errors.not_found(f'cannot find change with id "{request.id}"')

    async def GetHealth(self, request, context):
        return plan_pb2.Health(healthy=False)

    async def ExecIO(self, request_iterator, context):
        async for _frame in request_iterator:
            return  # an exec task whose command has finished: nothing left to connect
        yield plan_pb2.ExecFrame()  # never reached; a stream's handler is a generator


@pytest.fixture
def identity():
    return Identity()


@pytest.fixture
def plan():
    return Plan()


@pytest.fixture
async def gw(identity, plan):
    async with in_process_gateway({"identity": identity, "plan": plan}, down=("beacon",)) as harness:
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


async def test_metrics_are_text_and_nothing_to_report_is_an_empty_body_without_a_type(gw, plan):
    async with gw.unix.get("/v1/metrics") as response:  # as Go's server answers Pebble's empty write
        assert response.status == 200 and await response.read() == b""
        assert "Content-Type" not in response.headers
    plan.metrics_text = "# HELP pebble_check_up x\n"
    async with gw.unix.get("/v1/metrics") as response:
        assert response.status == 200 and await response.text() == plan.metrics_text
        assert response.headers["Content-Type"] == "text/plain; charset=utf-8"


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
    assert await answer(gw.unix.get("/v1/services", headers=bad)) == (401, DENIED)
    busy = {"Authorization": "Basic " + base64.b64encode(b"busy:secret").decode()}
    assert await answer(gw.unix.get("/api/security/tokens", headers=busy)) == (
        503, {"error": "busy", "message": "too many password checks waiting"})


DENIED = {"type": "error", "status-code": 401, "status": "Unauthorized",
          "result": {"message": "access denied", "kind": "login-required"}}
SERVICES = {"action": "start", "services": ["web"]}


async def test_a_caller_below_a_pebble_routes_level_gets_401_login_required_whoever_it_is(gw):
    assert await answer(gw.unix.post("/v1/services", json=SERVICES, headers=basic("reader"))) == (401, DENIED)
    assert await answer(gw.unix.get("/v1/services", headers=basic("metrics"))) == (401, DENIED)
    assert await answer(gw.http.post("/v1/services", json=SERVICES, headers=basic("reader"))) == (401, DENIED)
    # the other families still tell "too low" (403) from "who are you" (401)
    assert await answer(gw.unix.get("/api/security/tokens", headers=basic("metrics"))) == (
        403, {"error": "forbidden", "message": "admin access required"})


async def test_refused_passwords_and_lockouts_on_v1_are_pebbles_access_denied(gw):
    assert await answer(gw.http.get("/v1/metrics", headers=basic("wrong"))) == (401, DENIED)
    assert await answer(gw.http.get("/v1/metrics", headers=basic("locked"))) == (401, DENIED)
    assert await answer(gw.http.get("/v1/metrics", headers=basic("locked"))) == (401, DENIED)  # remembered lock
    assert await answer(gw.http.get("/v1/metrics", headers={"Authorization": "Bearer x"})) == (401, DENIED)
    # elsewhere the refusal says what happened
    status, body = await answer(gw.http.get("/api/security/tokens", headers=basic("wrong")))
    assert (status, body["message"]) == (401, "Invalid username or password. 2 attempts remaining.")
    status, body = await answer(gw.http.get("/api/security/tokens", headers=basic("locked")))
    assert (status, body["error"]) == (403, "account_locked")


async def test_a_basic_header_that_does_not_decode_falls_back_to_the_sockets_uid_on_v1(gw):
    garbled = {"Authorization": "Basic not-base64"}
    status, body = await answer(gw.unix.get("/v1/services", headers=garbled))
    assert status == 200 and body["result"][0]["name"] == "web"
    assert await answer(gw.http.get("/v1/metrics", headers=garbled)) == (401, DENIED)
    assert await answer(gw.unix.get("/api/security/tokens", headers=garbled)) == (
        401, {"error": "unauthorized", "message": "malformed Basic credentials"})


async def test_each_request_on_a_kept_alive_connection_is_its_own_credentials(gw):
    """One connection (as behind a proxy that pools them) carrying one caller's
    credentials, then another's, then none, then a garbled header: each request
    is resolved from what it sent, whatever the connection sent before."""
    import aiohttp

    connector = aiohttp.UnixConnector(path=str(gw.socket), limit=1)
    async with aiohttp.ClientSession("http://localhost", connector=connector) as one:
        assert (await answer(one.get("/v1/services", headers=basic("reader"))))[0] == 200
        assert await answer(one.get("/v1/services", headers=basic("metrics"))) == (401, DENIED)
        assert (await answer(one.get("/v1/services", headers=basic("reader"))))[0] == 200
        assert await answer(one.get("/v1/services", headers={"X-API-Token": "not-a-token"})) == (401, DENIED)
        assert (await answer(one.get("/v1/services", headers={"X-API-Token": MONITOR_TOKEN})))[0] == 200
        assert await answer(one.post("/v1/services", json=SERVICES, headers={"X-API-Token": MONITOR_TOKEN})) == (
            403, {"type": "error", "status-code": 403, "status": "Forbidden",
                  "result": {"message": "this token lacks the scope the route needs", "kind": "missing_scope"}})
        garbled = {"Authorization": "Basic not-base64"}
        assert (await answer(one.get("/v1/services", headers=garbled)))[0] == 200  # the socket's uid decides
        assert await answer(one.get("/api/security/tokens", headers=garbled)) == (
            401, {"error": "unauthorized", "message": "malformed Basic credentials"})
        assert (await answer(one.get("/v1/services", headers=garbled)))[0] == 200
        assert await answer(one.get("/v1/services", headers=basic("metrics"))) == (401, DENIED)


async def test_requests_sent_together_share_one_answer_that_lets_them_in_but_each_refusal_is_its_own(gw, identity):
    identity.delay = 0.2
    asked = identity.asked
    answers = await asyncio.gather(*(answer(gw.unix.get("/v1/services", headers=basic("reader"))) for _ in range(8)))
    assert [status for status, _ in answers] == [200] * 8
    assert identity.asked == asked + 1
    asked = identity.asked
    refused = await asyncio.gather(*(answer(gw.http.get("/api/security/tokens", headers=basic("wrong")))
                                     for _ in range(4)))
    assert [status for status, _ in refused] == [401] * 4
    assert identity.asked == asked + 4  # every wrong password is asked about, and counted, as before


async def test_an_identity_change_through_the_gateway_applies_to_the_very_next_request(gw, identity):
    assert (await answer(gw.unix.get("/v1/services")))[0] == 200  # resolved, and kept for a second
    assert (await answer(gw.unix.get("/v1/services")))[0] == 200
    asked = identity.asked
    assert (await answer(gw.unix.get("/v1/services")))[0] == 200
    assert identity.asked == asked  # the kept answer served it
    assert (await answer(gw.unix.post("/v1/identities", json={"action": "untrusted", "identities": {}})))[0] == 200
    assert await answer(gw.unix.get("/v1/services")) == (401, DENIED)
    assert (await answer(gw.unix.post("/v1/identities", json={"action": "", "identities": {}})))[0] == 401


async def test_a_refused_identity_write_keeps_the_resolved_callers(gw, identity):
    assert (await answer(gw.unix.get("/v1/services")))[0] == 200
    assert (await answer(gw.unix.post("/v1/identities", json={"action": "refuse", "identities": {}})))[0] == 400
    asked = identity.asked
    assert (await answer(gw.unix.get("/v1/services")))[0] == 200
    assert identity.asked == asked  # nothing changed, so nothing was asked again


async def test_v1_services_by_name_is_routed_checked_and_not_implemented(gw):
    not_implemented = {"type": "error", "status-code": 400, "status": "Bad Request",
                       "result": {"message": "not implemented"}}
    assert await answer(gw.unix.get("/v1/services/web")) == (400, not_implemented)
    assert await answer(gw.unix.post("/v1/services/web", json={"action": "start"})) == (400, not_implemented)
    assert await answer(gw.unix.get("/v1/services/web", headers=basic("reader"))) == (400, not_implemented)
    assert await answer(gw.unix.post("/v1/services/web", json={}, headers=basic("reader"))) == (401, DENIED)
    assert await answer(gw.http.get("/v1/services/web")) == (401, DENIED)


async def test_a_path_no_route_serves_is_pebbles_404_outside_api(gw):
    pebble_404 = {"type": "error", "status-code": 404, "status": "Not Found",
                  "result": {"message": "invalid API endpoint requested"}}
    for path in ("/", "/v2/system-info", "/favicon.ico", "/v1"):
        assert await answer(gw.unix.get(path)) == (404, pebble_404), path
    assert await answer(gw.http.get("/")) == (404, pebble_404)
    assert await answer(gw.unix.get("/api/nothing")) == (404, {"error": "not_found", "message": "not found"})


@pytest.mark.parametrize("raw,location", [
    ("//v1/system-info", "/v1/system-info"),
    ("/v1/./system-info", "/v1/system-info"),
    ("/v1/changes/../system-info", "/v1/system-info"),
    ("/v1/changes/../../../system-info?x=1&y", "/system-info?x=1&y"),
    ("/v1//services/", "/v1/services/"),
    ("/v1/a%20b/../%2e%2e/c", "/c"),
    ("/v1/%C3%A9/./x", "/v1/%C3%A9/x"),
])
async def test_unclean_paths_redirect_to_the_cleaned_path_as_pebbles_router_does(gw, raw, location):
    for transport, method in (("unix", "GET"), ("unix", "POST"), ("http", "GET")):
        head, body = await raw_request(gw, transport, f"{method} {raw} HTTP/1.1\r\nHost: x\r\n"
                                                       "Content-Length: 0\r\nConnection: close\r\n\r\n")
        assert head.startswith("HTTP/1.1 301 "), (method, head)
        assert f"\r\nLocation: {location}\r\n" in head
        assert "Content-Type" not in head and body == b""


async def raw_request(gw, transport: str, text: str) -> tuple[str, bytes]:
    """Send `text` as it is (a client library would clean the path first);
    the answer's head and body."""
    if transport == "unix":
        reader, writer = await asyncio.open_unix_connection(str(gw.socket))
    else:
        reader, writer = await asyncio.open_connection("127.0.0.1", gw.port)
    try:
        writer.write(text.encode())
        data = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return head.decode(errors="replace") + "\r\n", body


async def test_a_websocket_the_service_has_nothing_to_connect_for_is_pebbles_empty_200(gw):
    upgrade = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
    for headers in (upgrade, {}):
        async with gw.unix.get("/v1/tasks/3/websocket/stdio", headers=headers) as response:
            assert response.status == 200 and await response.read() == b""


async def test_a_change_that_does_not_exist_is_404_before_its_body_is_read_as_in_pebble(gw):
    assert await answer(gw.unix.post("/v1/changes/987654", data=b"[1]")) == (404, {
        "type": "error", "status-code": 404, "status": "Not Found",
        "result": {"message": 'cannot find change with id "987654"', "kind": "not-found"}})
    status, body = await answer(gw.unix.post("/v1/changes/42", data=b"[1]"))
    assert status == 400 and body["result"]["message"] == (
        'cannot decode data from request body: json: cannot unmarshal array into Go value of type '
        'struct { Action string "json:\\"action\\"" }')
