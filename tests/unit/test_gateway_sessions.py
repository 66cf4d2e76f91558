"""Sessions at the gateway (gateway/routes/sessions.py, gateway/access.py):
logins never over plain HTTP, a failed login keeps the session it came with,
logouts and cookie-authenticated websockets need the CSRF token (or, for a
websocket, the gateway's own Origin)."""

from __future__ import annotations

import pytest
from google.protobuf import empty_pb2

from gateway.access import csrf_token
from services.common import errors
from shoal.v1 import identity_pb2, identity_pb2_grpc, plan_pb2, plan_pb2_grpc
from tests.gateway_harness import SECRET, in_process_gateway

UPGRADE = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
           "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}


class Identity(identity_pb2_grpc.IdentityServicer):
    """Sessions "s-old" and "s-new" are an admin's until logged out; "admin"/"pw" logs in."""

    def __init__(self):
        self.live = {"s-old"}
        self.logins = 0

    async def Authenticate(self, request, context):
        if request.session_token in self.live:
            return identity_pb2.AuthenticateResponse(matched=True, name="admin", access="admin", method="session")
        if request.session_token and not request.HasField("peer_uid"):
            raise errors.unauthenticated("session expired or invalid; log in again", kind="session_expired")
        return identity_pb2.AuthenticateResponse(matched=False)

    async def Login(self, request, context):
        self.logins += 1
        if (request.username, request.password) != ("admin", "pw"):
            raise errors.unauthenticated("Invalid username or password.", kind="unauthorized")
        self.live.add("s-new")
        return identity_pb2.LoginResponse(success=True, message="Successfully logged in", session_token="s-new",
                                          max_age_seconds=3600)

    async def Logout(self, request, context):
        self.live.discard(request.session_token)
        return empty_pb2.Empty()


class Plan(plan_pb2_grpc.PlanServicer):
    async def ExecIO(self, request_iterator, context):
        async for _frame in request_iterator:
            return  # nothing left to connect: the gateway answers an empty 200
        yield plan_pb2.ExecFrame()


@pytest.fixture
def identity():
    return Identity()


@pytest.fixture
async def gw(identity):
    async with in_process_gateway({"identity": identity, "plan": Plan()}) as harness:
        yield harness


def secret() -> bytes:
    return SECRET.encode()


async def test_a_login_over_plain_http_is_refused_before_its_credentials_are_read(gw, identity):
    for path, body, refusal in (
        ("/api/login", {"username": "admin", "password": "pw"},
         {"error": "https_required",
          "message": "log in over HTTPS or the unix socket: credentials never cross plain HTTP"}),
        ("/api/v0.2/login", {"Email": "a@b", "Password": "pw"},
         {"Cause": "https_required",
          "Message": "log in over HTTPS or the unix socket: credentials never cross plain HTTP"}),
    ):
        async with gw.http.post(path, json=body) as response:
            assert response.status == 403 and await response.json() == refusal
            assert "Set-Cookie" not in response.headers
    assert identity.logins == 0
    async with gw.http.post(f"https://127.0.0.1:{gw.tls_port}/api/login", ssl=False,
                            json={"username": "admin", "password": "pw"}) as response:
        assert response.status == 200
        assert response.cookies["__Host-shoal_session"].value == "s-new"


async def test_a_failed_login_keeps_the_session_the_request_carried(gw, identity):
    old = {"Cookie": "shoal_session=s-old"}
    async with gw.unix.post("/api/login", json={"username": "admin", "password": "wrong"}, headers=old) as response:
        assert response.status == 401
    assert "s-old" in identity.live
    async with gw.unix.post("/api/login", json={"username": "admin", "password": "pw"}, headers=old) as response:
        assert response.status == 200
    assert identity.live == {"s-new"}  # the old one dropped once the new one exists (fixation)


async def test_a_logout_needs_the_sessions_csrf_token(gw, identity):
    session = {"Cookie": "shoal_session=s-old"}
    for path in ("/api/logout", "/api/v0.2/logout"):
        method = gw.unix.post if path == "/api/logout" else gw.unix.get
        async with method(path, headers=session) as response:
            assert response.status == 403
            assert "Set-Cookie" not in response.headers
    assert "s-old" in identity.live
    async with gw.unix.post("/api/logout", headers={**session, "X-CSRF-Token": csrf_token(secret(), "s-old")}) as r:
        assert r.status == 200
    assert "s-old" not in identity.live
    async with gw.unix.post("/api/logout") as response:  # no session: nothing to end
        assert response.status == 200


async def test_a_websocket_opened_with_a_cookie_needs_the_gateways_origin_or_the_csrf_token(gw):
    session = {"Cookie": "shoal_session=s-old"}
    async with gw.unix.get("/v1/tasks/3/websocket/stdio", headers={**UPGRADE, **session,
                                                                   "Origin": "https://evil.example"}) as response:
        assert response.status == 403
        assert (await response.json())["result"]["kind"] == "csrf_failure"
    async with gw.unix.get("/v1/tasks/3/websocket/stdio", headers={**UPGRADE, **session}) as response:
        assert response.status == 403  # no Origin, no token
    for allowed in ({"Origin": "http://localhost"}, {"X-CSRF-Token": csrf_token(secret(), "s-old")}):
        async with gw.unix.get("/v1/tasks/3/websocket/stdio", headers={**UPGRADE, **session, **allowed}) as r:
            assert r.status == 200, allowed
    async with gw.unix.get("/v1/tasks/3/websocket/stdio", headers=UPGRADE) as response:
        assert response.status == 200  # the socket's uid, no cookie: nothing to forge
