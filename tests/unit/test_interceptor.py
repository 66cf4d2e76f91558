"""The one caller interceptor (services/common/interceptor.py), in process:
a real grpc.aio server on a unix socket, a stand-in plan servicer that
answers with `current_caller()`, and callers signed or with a beacon token."""

from __future__ import annotations

import asyncio
import json

import grpc
import pytest

from services.common import errors, signing
from services.common.agent_channels import token_metadata
from services.common.interceptor import CallerInterceptor, current_caller
from services.plan import beacon_agent
from services.plan.changes.model import ChangeNotFound
from shoal.v1 import plan_pb2, plan_pb2_grpc

SECRET = b"interceptor-test-secret"
TOKEN = "agent-token"


class Probe(plan_pb2_grpc.PlanServicer):
    """Each RPC answers with the identity of the caller it was handed."""

    def __init__(self) -> None:
        self.together = asyncio.Barrier(2)

    async def GetSystemInfo(self, request, context):
        async def in_a_task_of_its_own() -> str:
            return current_caller().identity

        return plan_pb2.SystemInfo(version=await asyncio.create_task(in_a_task_of_its_own()))

    async def GetHealth(self, request, context):
        await self.together.wait()  # two of these are in flight at once
        return plan_pb2.Health(healthy=current_caller().identity == request.level)

    async def GetLogs(self, request, context):
        for _ in range(2):
            await asyncio.sleep(0)
            yield plan_pb2.LogEntry(service=current_caller().identity)

    async def WriteFiles(self, request_iterator, context):
        async for _ in request_iterator:
            pass
        return plan_pb2.FileResults(results=[plan_pb2.FileResult(path=current_caller().identity)])

    async def ExecIO(self, request_iterator, context):
        async for _ in request_iterator:
            yield plan_pb2.ExecFrame(task_id=current_caller().identity)

    async def GetChange(self, request, context):
        raise ChangeNotFound(f'cannot find change with id "{request.id}"')

    async def AddLayer(self, request, context):
        raise errors.DomainError("too busy", errors.Failure.UNAVAILABLE, kind="busy", extra={"retry": 1})


@pytest.fixture
async def plan(tmp_path):
    token, _ = beacon_agent.load_token(tmp_path, TOKEN)
    server = grpc.aio.server(interceptors=[CallerInterceptor(SECRET, (beacon_agent.authenticator(token),))])
    servicer = Probe()
    plan_pb2_grpc.add_PlanServicer_to_server(servicer, server)
    address = f"unix:{tmp_path / 'plan.sock'}"
    server.add_insecure_port(address)
    await server.start()
    channel = grpc.aio.insecure_channel(address)
    yield plan_pb2_grpc.PlanStub(channel)
    await channel.close()
    await server.stop(None)


def signed(identity: str, access: str = "admin"):
    return signing.sign(SECRET, signing.Caller(identity=identity, access=access))


async def test_a_unary_handler_and_the_tasks_it_starts_see_the_verified_caller(plan):
    answer = await plan.GetSystemInfo(plan_pb2.GetSystemInfoRequest(), metadata=signed("alice"))
    assert answer.version == "alice"


async def test_a_beacon_token_caller_is_handed_on_like_a_signed_one(plan):
    answer = await plan.GetSystemInfo(plan_pb2.GetSystemInfoRequest(), metadata=token_metadata(TOKEN))
    assert answer.version == beacon_agent.CALLER


async def test_concurrent_rpcs_each_see_their_own_caller(plan):
    first, second = await asyncio.gather(
        plan.GetHealth(plan_pb2.GetHealthRequest(level="ann"), metadata=signed("ann")),
        plan.GetHealth(plan_pb2.GetHealthRequest(level="bob"), metadata=signed("bob")),
    )
    assert first.healthy and second.healthy


async def test_streaming_handlers_see_the_caller(plan):
    logs = [e.service async for e in plan.GetLogs(plan_pb2.GetLogsRequest(), metadata=signed("carol"))]
    assert logs == ["carol", "carol"]

    async def chunks():
        yield plan_pb2.WriteFilesChunk(end_of_file=True)

    written = await plan.WriteFiles(chunks(), metadata=signed("dave"))
    assert [r.path for r in written.results] == ["dave"]

    async def frames():
        yield plan_pb2.ExecFrame(task_id="1")
        yield plan_pb2.ExecFrame(task_id="1")

    answers = [f.task_id async for f in plan.ExecIO(frames(), metadata=token_metadata(TOKEN))]
    assert answers == [beacon_agent.CALLER] * 2


async def test_a_caller_that_does_not_verify_reaches_no_handler(plan):
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await plan.GetSystemInfo(plan_pb2.GetSystemInfoRequest(), metadata=token_metadata("guess"))
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in plan.GetLogs(plan_pb2.GetLogsRequest(), metadata=signed("eve", "metrics")):
            pass
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_domain_errors_become_their_grpc_code_with_kind_and_extra_only(plan):
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await plan.GetChange(plan_pb2.GetChangeRequest(id="9"), metadata=signed("alice"))
    assert (caught.value.code(), caught.value.details()) == (grpc.StatusCode.NOT_FOUND, 'cannot find change with id "9"')
    assert not caught.value.trailing_metadata()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await plan.AddLayer(plan_pb2.AddLayerRequest(), metadata=signed("alice"))
    trailers = dict(caught.value.trailing_metadata())
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert trailers == {errors.KIND: "busy", errors.EXTRA: json.dumps({"retry": 1})}


def test_outside_an_rpc_there_is_no_caller():
    with pytest.raises(RuntimeError, match="no verified caller"):
        current_caller()
