"""Polling a beacon: the node agent at its address, reached with its token."""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from services.beacon.addresses import is_address
from services.common.agent_channels import open_agent_channel, token_metadata
from shoal.v1 import plan_pb2, plan_pb2_grpc

POLL_TIMEOUT = 10.0


class PollError(Exception):
    """The beacon could not be polled; the message says why."""


@dataclass(frozen=True)
class Reported:
    name: str
    address: str
    version: str
    can_access: bool


def poll_failure(address: str, error: grpc.aio.AioRpcError, timeout: float = POLL_TIMEOUT) -> str:
    code = error.code()
    if code == grpc.StatusCode.UNAUTHENTICATED:
        return f"beacon {address} refused the token"
    if code == grpc.StatusCode.UNAVAILABLE:
        return f"cannot reach beacon {address}: {error.details()}"
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return f"beacon {address} did not answer in {timeout:g}s"
    return f"beacon {address} answered {code.name}: {error.details()}"


async def poll(address: str, token: str, timeout: float = POLL_TIMEOUT) -> list[Reported]:
    """The instances behind the beacon at `address`; an instance reported
    without an address is the agent itself, at `address`."""
    channel = open_agent_channel(address)
    try:
        answer = await plan_pb2_grpc.PlanStub(channel).ListAgentInstances(
            plan_pb2.ListAgentInstancesRequest(), metadata=token_metadata(token), timeout=timeout
        )
    except grpc.aio.AioRpcError as error:
        raise PollError(poll_failure(address, error, timeout)) from None
    finally:
        await channel.close()
    reported = []
    for item in answer.instances:
        where = item.address or address
        if is_address(where):
            reported.append(Reported(item.name, where, item.version, item.can_access))
    return reported
