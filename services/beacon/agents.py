"""Polling a beacon: the node agent at its address, reached with its token.

The poll dials the gRPC target the address policy gave (networks.py: the
checked IP addresses), never the address text, with a short deadline. Why a
poll failed is for the service's log (`PollError.reason`); callers are told
one thing whatever happened (`PollError.message`), so the answer says
nothing about what listens at an address.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from services.beacon.addresses import is_address
from services.common.agent_channels import open_agent_channel, token_metadata
from shoal.v1 import plan_pb2, plan_pb2_grpc

POLL_TIMEOUT = 3.0


class PollError(Exception):
    """The beacon could not be polled. `message` is all a caller is told;
    `reason` says why, for the log."""

    def __init__(self, address: str, reason: str):
        super().__init__(reason)
        self.address = address
        self.reason = reason

    @property
    def message(self) -> str:
        return refused_message(self.address)


def refused_message(address: str) -> str:
    return f"beacon {address} did not answer as a beacon with this token"


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


async def poll(address: str, target: str, token: str, timeout: float = POLL_TIMEOUT) -> list[Reported]:
    """The instances behind the beacon at `address`, dialled at `target`;
    an instance reported without an address is the agent itself."""
    channel = open_agent_channel(target)
    try:
        answer = await plan_pb2_grpc.PlanStub(channel).ListAgentInstances(
            plan_pb2.ListAgentInstancesRequest(), metadata=token_metadata(token), timeout=timeout
        )
    except grpc.aio.AioRpcError as error:
        raise PollError(address, poll_failure(address, error, timeout)) from None
    finally:
        await channel.close()
    reported = []
    for item in answer.instances:
        where = item.address or address
        if is_address(where):
            reported.append(Reported(item.name, where, item.version, item.can_access))
    return reported
