"""The one pool of channels to node agents (services/common/agent_channels.py)
that the application service and the gateway's instance proxy share."""

from __future__ import annotations

import asyncio
import itertools

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


class FakeChannel:
    def __init__(self, target):
        self.target = target
        self.state = grpc.ChannelConnectivity.IDLE
        self.closed = False

    def get_state(self, try_to_connect=False):
        return self.state

    async def close(self, grace=None):
        self.closed = True


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def fake_pool(**kw):
    opened = []

    def opener(target, idle):
        opened.append(FakeChannel(target))
        return opened[-1]

    clock = Clock()
    return AgentChannels(limit=kw.pop("limit", 8), clock=clock, opener=opener, **kw), opened, clock


async def test_a_failed_channel_is_replaced_with_a_bounded_backoff():
    pool, opened, clock = fake_pool(idle=3600)
    pool.channel("127.0.0.1:1").state = grpc.ChannelConnectivity.TRANSIENT_FAILURE
    replaced_at = []
    for _ in range(400):  # a request every half second for 200 s, the agent down all along
        count = len(opened)
        pool.channel("127.0.0.1:1").state = grpc.ChannelConnectivity.TRANSIENT_FAILURE
        if len(opened) > count:
            replaced_at.append(clock.now)
        clock.now += 0.5
    gaps = [b - a for a, b in itertools.pairwise(replaced_at)]
    assert gaps[:5] == [1.0, 2.0, 4.0, 8.0, 16.0] and set(gaps[5:]) == {30.0}
    assert len(opened) < 15  # not one fresh channel per request
    await asyncio.sleep(0)
    assert all(c.closed for c in opened[:-1])
    # A call that gets through starts the backoff over.
    opened[-1].state = grpc.ChannelConnectivity.READY
    pool.channel("127.0.0.1:1")
    pool.succeeded("127.0.0.1:1")
    opened[-1].state = grpc.ChannelConnectivity.TRANSIENT_FAILURE
    before = len(opened)
    pool.channel("127.0.0.1:1")
    assert len(opened) == before + 1
    await pool.close()


async def test_channels_unused_for_the_idle_time_are_closed_unless_a_call_keeps_them_busy():
    pool, _opened, clock = fake_pool(idle=60)
    idle, streaming = pool.channel("127.0.0.1:1"), pool.channel("127.0.0.1:2")
    streaming.state = grpc.ChannelConnectivity.READY  # a long log stream in progress
    clock.now += 61
    pool.channel("127.0.0.1:3")
    await asyncio.sleep(0)  # let the close task run
    assert idle.closed and not streaming.closed
    assert len(pool) == 2
    assert pool.channel("127.0.0.1:1") is not idle  # reopened on its next use
    await pool.close()


async def test_a_failing_agent_is_logged_once_per_interval_with_a_count(caplog):
    pool, _, clock = fake_pool()
    pool.channel("127.0.0.1:1")
    with caplog.at_level("WARNING", logger="shoal.agents"):
        for _ in range(60):  # one a second for a minute, then one more
            pool.failed("127.0.0.1:1", "connection refused")
            clock.now += 1
        pool.failed("127.0.0.1:1", "connection refused")
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["agent 127.0.0.1:1: connection refused",
                     "agent 127.0.0.1:1: connection refused (59 more failure(s) in the last 60s)"]
    assert not any(r.exc_info for r in caplog.records)
    await pool.close()


async def test_a_channel_to_a_port_that_is_no_agent_stops_connecting_once_idle():
    """A real channel to a loopback port that answers HTTP/1.1: after one
    failed call, its connection attempts stop once it has been idle."""
    attempts = []

    async def answer(reader, writer):
        attempts.append(asyncio.get_running_loop().time())
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    pool = AgentChannels(limit=4, idle=1.0)
    try:
        channel = pool.channel(f"ipv4:127.0.0.1:{port}")
        call = channel.unary_unary("/shoal.v1.Plan/ListServices")
        try:
            await call(b"", timeout=5)
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.UNAVAILABLE
        # Poll (bounded) until no attempt came for 3 s: the old channels
        # (round robin, 2 s backoff cap) retried every 2 s for ever.
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(30):
            while not attempts or loop.time() - attempts[-1] < 3:
                await asyncio.sleep(0.1)
        assert len(attempts) <= 4
        assert channel.get_state() == grpc.ChannelConnectivity.IDLE
    finally:
        await pool.close()
        server.close()
        await server.wait_closed()
