"""The one pool of channels to node agents (services/common/agent_channels.py)
that the application service and the gateway's instance proxy share."""

from __future__ import annotations

import asyncio

import grpc

from services.common.agent_channels import METADATA_KEY, AgentChannels, token_metadata
from tests.support import free_port


def test_a_token_travels_in_its_own_metadata_key():
    assert token_metadata("t0ken") == ((METADATA_KEY, "t0ken"),)


async def test_one_channel_per_address_and_the_least_recently_used_goes_first():
    pool = AgentChannels(limit=2)
    first = pool.channel("127.0.0.1:1")
    assert pool.channel("127.0.0.1:1") is first
    second = pool.channel("127.0.0.1:2")
    assert pool.channel("127.0.0.1:1") is first  # now the most recently used
    pool.channel("127.0.0.1:3")  # evicts :2
    assert len(pool) == 2
    assert pool.channel("127.0.0.1:1") is first
    assert pool.channel("127.0.0.1:2") is not second
    await pool.close()
    assert len(pool) == 0


async def test_a_channel_to_an_agent_that_was_down_is_replaced_on_its_next_use():
    pool = AgentChannels(limit=4)
    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    dead = pool.channel(address)
    state = dead.get_state(try_to_connect=True)
    async with asyncio.timeout(10):
        while state != grpc.ChannelConnectivity.TRANSIENT_FAILURE:
            await dead.wait_for_state_change(state)
            state = dead.get_state(try_to_connect=True)
    fresh = pool.channel(address)
    assert fresh is not dead
    assert pool.channel(address) is fresh
    await pool.close()
