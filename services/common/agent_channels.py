"""Channels to node agents: plan services reached as beacons, with the
agent's beacon token in the `shoal-beacon-token` metadata instead of a
signed caller (agents on other machines do not share the cluster secret).

- `open_agent_channel(address)`: one channel of its own to one agent.
- `token_metadata(token)`: the metadata that presents a beacon token.
- `AgentChannels`: the channels a caller keeps open, one per address, at
  most `limit` of them (the least recently used is closed after its calls
  end); a channel whose agent was down is replaced on its next use.

The beacon service, the application service and the gateway's instance
proxy all reach agents this way.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict

import grpc

from services.common.channels import OPTIONS

METADATA_KEY = "shoal-beacon-token"
CLOSE_GRACE = 30.0  # seconds an evicted channel's calls may still take


def open_agent_channel(address: str) -> grpc.aio.Channel:
    """A channel to an agent. Its connections are its own (not gRPC's shared
    subchannel pool), so a fresh channel reaches an agent that came back at
    once instead of waiting out a dead channel's reconnect backoff."""
    return grpc.aio.insecure_channel(address, options=(*OPTIONS, ("grpc.use_local_subchannel_pool", 1)))


def token_metadata(token: str) -> tuple[tuple[str, str], ...]:
    """The metadata that presents `token` to an agent."""
    return ((METADATA_KEY, token),)


class AgentChannels:
    """Open channels to agents, keyed by address, least recently used first."""

    def __init__(self, limit: int):
        self._limit = limit
        self._channels: OrderedDict[str, grpc.aio.Channel] = OrderedDict()
        self._closing: set[asyncio.Task] = set()  # held until done, so none is collected mid-close

    def channel(self, address: str) -> grpc.aio.Channel:
        """The channel to `address`, opened (or reopened) as needed."""
        channel = self._channels.pop(address, None)
        if channel is not None and channel.get_state() == grpc.ChannelConnectivity.TRANSIENT_FAILURE:
            # The agent was down: a fresh channel tries it now rather than
            # failing fast until the old one's reconnect backoff ends.
            self._close_later(channel, None)
            channel = None
        if channel is None:
            channel = open_agent_channel(address)
            while len(self._channels) >= self._limit:
                _, old = self._channels.popitem(last=False)
                self._close_later(old, CLOSE_GRACE)
        self._channels[address] = channel
        return channel

    def __len__(self) -> int:
        return len(self._channels)

    def _close_later(self, channel: grpc.aio.Channel, grace: float | None) -> None:
        task = asyncio.get_running_loop().create_task(channel.close(grace=grace))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def close(self) -> None:
        channels = list(self._channels.values())
        self._channels.clear()
        for channel in channels:
            await channel.close()
