"""How the gateway serves connections (gateway/serving.py), through the real
app on loopback and its unix socket: deep backlogs, slow and half-open
clients closed after their time, malformed requests answered without an echo
and logged once per interval. Every wait here is bounded."""

from __future__ import annotations

import asyncio
import logging
import shutil
import ssl
from pathlib import Path

import pytest

from gateway.serving import BACKLOG
from shoal.v1 import identity_pb2, identity_pb2_grpc, plan_pb2, plan_pb2_grpc
from tests.gateway_harness import in_process_gateway

QUICK = 0.3  # the timeouts under test, kept short
WITHIN = 10.0  # how long a test waits for the server to act, at most


async def closed_by_server(reader: asyncio.StreamReader) -> bool:
    """Whether the server closes the connection (EOF) within WITHIN seconds."""
    try:
        while await asyncio.wait_for(reader.read(65536), WITHIN):
            pass
    except (ConnectionError, asyncio.IncompleteReadError):
        return True
    except TimeoutError:
        return False
    return True


@pytest.fixture
async def gw():
    async with in_process_gateway({}, header_timeout=QUICK, tls_handshake_timeout=QUICK) as harness:
        yield harness


async def test_a_client_that_never_finishes_its_request_head_is_closed_after_the_header_timeout(gw):
    connections = []
    for index in range(20):
        if index % 2:
            reader, writer = await asyncio.open_connection("127.0.0.1", gw.port)
        else:
            reader, writer = await asyncio.open_unix_connection(str(gw.socket))
        if index % 4 < 2:
            writer.write(b"GET /v1/system-info HTTP/1.1\r\nHost: x\r\nX-Slow: ")  # and nothing more
            await writer.drain()
        connections.append((reader, writer))
    started = asyncio.get_running_loop().time()
    try:
        assert all(await asyncio.gather(*(closed_by_server(r) for r, _ in connections)))
    finally:
        for _, writer in connections:
            writer.close()
    assert asyncio.get_running_loop().time() - started < WITHIN
    async with gw.unix.get("/v1/nothing") as response:  # the gateway still answers
        assert response.status == 404


async def test_half_open_tls_connections_are_closed_after_the_handshake_timeout(gw):
    connections = [await asyncio.open_connection("127.0.0.1", gw.tls_port) for _ in range(50)]
    connections[0][1].write(b"\x16\x03\x01\x00\xff")  # the start of a ClientHello, then silence
    try:
        assert all(await asyncio.gather(*(closed_by_server(r) for r, _ in connections)))
    finally:
        for _, writer in connections:
            writer.close()
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    reader, writer = await asyncio.open_connection("127.0.0.1", gw.tls_port, ssl=context)
    writer.write(b"GET /v1/nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert (await asyncio.wait_for(reader.read(), WITHIN)).startswith(b"HTTP/1.1 404 ")
    writer.close()


async def test_malformed_requests_get_a_400_without_their_input_and_one_log_line(gw, caplog):
    caplog.set_level(logging.WARNING, logger="shoal.gateway")
    answers = []
    for index in range(10):
        reader, writer = await asyncio.open_connection("127.0.0.1", gw.port)
        writer.write(b"GET /v1/secret-\xc3\xa9-%d HTTP/1.1\r\nHost: x\r\n\r\n" % index)
        answers.append(await asyncio.wait_for(reader.read(), WITHIN))
        writer.close()
    for answer in answers:
        assert answer.startswith(b"HTTP/1.") and b" 400 Bad Request\r\n" in answer.split(b"\r\n\r\n")[0] + b"\r\n"
        assert b"secret" not in answer and b"\xc3" not in answer
    records = [r for r in caplog.records if "malformed request" in r.getMessage()]
    assert len(records) == 1 and records[0].exc_info is None
    assert not [r for r in caplog.records if r.exc_info]


@pytest.mark.skipif(shutil.which("ss") is None, reason="needs ss to read a listening socket's backlog")
async def test_every_listener_has_a_deep_backlog(gw):
    expected = min(BACKLOG, int(Path("/proc/sys/net/core/somaxconn").read_text()))
    ss = await asyncio.create_subprocess_exec("ss", "-ltnxH", stdout=asyncio.subprocess.PIPE)
    out, _ = await asyncio.wait_for(ss.communicate(), WITHIN)
    listening = out.decode().splitlines()
    backlogs = {}
    for line in listening:
        fields = line.split()
        for name, key in ((str(gw.socket), "unix"), (f"127.0.0.1:{gw.port}", "http"),
                          (f"127.0.0.1:{gw.tls_port}", "https")):
            if name in fields:
                backlogs[key] = int(fields[3])
    assert backlogs == {"unix": expected, "http": expected, "https": expected}


class Identity(identity_pb2_grpc.IdentityServicer):
    async def Authenticate(self, request, context):
        return identity_pb2.AuthenticateResponse(matched=False)  # the socket's uid decides


class WaitingPlan(plan_pb2_grpc.PlanServicer):
    """WaitChange waits until released; anything else answers at once."""

    def __init__(self):
        self.release = asyncio.Event()
        self.waiting = 0

    async def WaitChange(self, request, context):
        self.waiting += 1
        await asyncio.wait_for(self.release.wait(), WITHIN)
        return plan_pb2.Change(id=request.id, status="Done", ready=True)

    async def ListServices(self, request, context):
        return plan_pb2.ListServicesResponse()


async def test_long_polls_past_the_gateways_bound_get_a_clear_503():
    plan = WaitingPlan()
    async with in_process_gateway({"plan": plan, "identity": Identity()}, max_waits=2) as gw:
        held = [asyncio.ensure_future(gw.unix.get(f"/v1/changes/{n}/wait?timeout=5s")) for n in (1, 2)]
        for _ in range(int(WITHIN / 0.01)):  # until both are held open by the service
            if plan.waiting == 2:
                break
            await asyncio.sleep(0.01)
        async with gw.unix.get("/v1/changes/3/wait?timeout=5s") as refused:
            assert refused.status == 503
            assert (await refused.json())["result"] == {
                "message": "too many requests waiting at once (the limit is 2); try again shortly", "kind": "busy"}
        async with gw.unix.get("/v1/services") as other:  # what does not wait is not bounded
            assert other.status == 200
        plan.release.set()
        for response in await asyncio.gather(*held):
            assert response.status == 200
            response.release()
        async with gw.unix.get("/v1/changes/4/wait?timeout=5s") as again:
            assert again.status == 200
