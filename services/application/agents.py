"""What the application service asks of an instance's plan agent, reached
at the beacon-resolved address with the beacon token: push a layer, see
whether a service runs, start/stop/restart it and wait for the change."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass

import grpc

from services.application import stream
from services.application.stream import Outcome
from services.common.agent_channels import open_agent_channel, token_metadata
from shoal.v1 import plan_pb2, plan_pb2_grpc

CALL_TIMEOUT = 10.0
CHANGE_TIMEOUT = 60.0
MAX_CHANNELS = 256
RUNNING = ("active", "backoff")


@dataclass(frozen=True)
class Target:
    instance: str  # as the application names it
    address: str
    token: str


class AgentCallError(Exception):
    def __init__(self, outcome: Outcome):
        super().__init__(outcome.message)
        self.outcome = outcome


def call_failure(instance: str, error: grpc.aio.AioRpcError) -> Outcome:
    code, details = error.code(), error.details() or error.code().name
    if code == grpc.StatusCode.UNAVAILABLE:
        return stream.failed(instance, f"instance {instance} unreachable: {details}", 502)
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return stream.failed(instance, f"instance {instance} did not answer in time", 504)
    if code == grpc.StatusCode.UNAUTHENTICATED:
        return stream.failed(instance, f"instance {instance} refused its beacon token", 401)
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return stream.failed(instance, details, 400)
    return stream.failed(instance, details, 500)


class Agents:
    def __init__(self) -> None:
        self._channels: OrderedDict[str, grpc.aio.Channel] = OrderedDict()

    def _stub(self, address: str) -> plan_pb2_grpc.PlanStub:
        channel = self._channels.pop(address, None)
        if channel is not None and channel.get_state() == grpc.ChannelConnectivity.TRANSIENT_FAILURE:
            # The instance was down: a fresh channel tries it now rather than
            # failing fast until the old one's reconnect backoff ends.
            asyncio.get_running_loop().create_task(channel.close())
            channel = None
        if channel is None:
            channel = open_agent_channel(address)
            while len(self._channels) >= MAX_CHANNELS:
                _, old = self._channels.popitem(last=False)
                asyncio.get_running_loop().create_task(old.close(grace=30))
        self._channels[address] = channel
        return plan_pb2_grpc.PlanStub(channel)

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close()
        self._channels.clear()

    async def _call(self, target: Target, rpc: str, request, timeout: float = CALL_TIMEOUT):
        try:
            return await getattr(self._stub(target.address), rpc)(
                request, metadata=token_metadata(target.token), timeout=timeout
            )
        except grpc.aio.AioRpcError as error:
            raise AgentCallError(call_failure(target.instance, error)) from None

    async def running(self, target: Target, service: str) -> bool:
        answer = await self._call(target, "ListServices", plan_pb2.ListServicesRequest(names=[service]))
        return any(s.name == service and s.current in RUNNING for s in answer.services)

    async def push(self, target: Target, label: str, layer: str) -> Outcome:
        request = plan_pb2.AddLayerRequest(action="add", label=label, format="yaml", layer=layer, combine=True)
        await self._call(target, "AddLayer", request)
        return stream.ok(target.instance, f'layer "{label}" added')

    async def services(self, target: Target, action: str, service: str) -> Outcome:
        """`action` (start, stop, restart) on `service`, waiting for its change."""
        answer = await self._call(
            target, "ServicesAction", plan_pb2.ServicesActionRequest(action=action, services=[service])
        )
        change = await self._call(
            target, "WaitChange", plan_pb2.WaitChangeRequest(id=answer.change, timeout=f"{CHANGE_TIMEOUT:g}s"),
            timeout=CHANGE_TIMEOUT + CALL_TIMEOUT,
        )
        if change.status == "Done":
            return stream.ok(target.instance, change.summary)
        reason = change.err if change.HasField("err") else f"change {change.id} is {change.status}"
        return stream.failed(target.instance, f"{change.summary}: {reason}", 500)
