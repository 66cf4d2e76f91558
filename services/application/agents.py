"""What the application service asks of an instance's plan agent, reached
at the beacon-resolved address with the beacon token: push a layer, see
whether a service runs, start/stop/restart it and wait for the change.

An instance that cannot be reached fails with one message whatever the
cause (what answered at its address is for the log, once per interval)."""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from services.application import stream
from services.application.rollout import CheckSeen
from services.application.stream import Outcome
from services.common.agent_channels import IDLE_SECONDS, AgentChannels, token_metadata
from shoal.v1 import plan_pb2, plan_pb2_grpc

CALL_TIMEOUT = 10.0
CHANGE_TIMEOUT = 60.0
MAX_CHANNELS = 256
RUNNING = ("active", "backoff")


@dataclass(frozen=True)
class Target:
    instance: str  # as the application names it
    address: str  # the gRPC target to dial (the beacon service checked it)
    token: str


class AgentCallError(Exception):
    def __init__(self, outcome: Outcome):
        super().__init__(outcome.message)
        self.outcome = outcome


def call_failure(instance: str, error: grpc.aio.AioRpcError) -> Outcome:
    code, details = error.code(), error.details() or error.code().name
    if code == grpc.StatusCode.UNAVAILABLE:
        return stream.failed(instance, f"instance {instance} unreachable", 502)
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return stream.failed(instance, f"instance {instance} did not answer in time", 504)
    if code == grpc.StatusCode.UNAUTHENTICATED:
        return stream.failed(instance, f"instance {instance} refused its beacon token", 401)
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return stream.failed(instance, details, 400)
    return stream.failed(instance, details, 500)


class Agents:
    def __init__(self, idle: float = IDLE_SECONDS) -> None:
        self._channels = AgentChannels(MAX_CHANNELS, idle=idle)

    async def close(self) -> None:
        await self._channels.close()

    async def _call(self, target: Target, rpc: str, request, timeout: float = CALL_TIMEOUT):
        try:
            answer = await getattr(plan_pb2_grpc.PlanStub(self._channels.channel(target.address)), rpc)(
                request, metadata=token_metadata(target.token), timeout=timeout
            )
        except grpc.aio.AioRpcError as error:
            if error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                self._channels.failed(target.address, f"instance {target.instance}: {error.details()}")
            raise AgentCallError(call_failure(target.instance, error)) from None
        self._channels.succeeded(target.address)
        return answer

    async def running(self, target: Target, service: str) -> bool:
        answer = await self._call(target, "ListServices", plan_pb2.ListServicesRequest(names=[service]))
        return any(s.name == service and s.current in RUNNING for s in answer.services)

    async def checks(self, target: Target, names: list[str], timeout: float = CALL_TIMEOUT) -> dict[str, CheckSeen]:
        """What the instance shows of the checks `names`."""
        answer = await self._call(target, "ListChecks", plan_pb2.ListChecksRequest(names=names), timeout=timeout)
        return {
            c.name: CheckSeen(c.name, c.status, c.successes, c.failures, c.change_id)
            for c in answer.checks if c.name in names
        }

    async def check_infos(self, target: Target, names: list[str], timeout: float) -> list[plan_pb2.CheckInfo]:
        answer = await self._call(target, "ListChecks", plan_pb2.ListChecksRequest(names=names), timeout=timeout)
        return [c for c in answer.checks if c.name in names]

    async def service(self, target: Target, service: str, timeout: float) -> plan_pb2.ServiceInfo | None:
        answer = await self._call(target, "ListServices", plan_pb2.ListServicesRequest(names=[service]), timeout=timeout)
        return next((s for s in answer.services if s.name == service), None)

    async def plan_environment(self, target: Target, service: str, timeout: float) -> dict:
        """The environment the instance's plan gives `service`."""
        answer = await self._call(target, "GetPlan", plan_pb2.GetPlanRequest(format="yaml"), timeout=timeout)
        import yaml  # PyYAML: loaded with the first plan read, not by an idle service

        plan = yaml.safe_load(answer.yaml) or {}
        definition = (plan.get("services") or {}).get(service) or {}
        return definition.get("environment") or {}

    async def disable_checks(self, target: Target, label: str, layer: str, names: list[str]) -> Outcome:
        """Push `layer` (the checks `names`, startup disabled) and stop them."""
        request = plan_pb2.AddLayerRequest(action="add", label=label, format="yaml", layer=layer, combine=True)
        await self._call(target, "AddLayer", request)
        await self._call(target, "ChecksAction", plan_pb2.ChecksActionRequest(action="stop", checks=names))
        return stream.ok(target.instance, "stopped check(s) " + ", ".join(names))

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
