"""Channels to node agents: plan services reached as beacons, with the
agent's beacon token in the `shoal-beacon-token` metadata instead of a
signed caller (agents on other machines do not share the cluster secret).

- `open_agent_channel(target)`: one channel of its own to one agent.
- `token_metadata(token)`: the metadata that presents a beacon token.
- `AgentChannels`: the channels a caller keeps open, one per target, at
  most `limit` of them (the least recently used is closed after its calls
  end).

An agent that is down, or a port where no agent answers, must not cost
more than a few connection attempts:
- A channel stops connecting once it has had no call for `idle` seconds
  (gRPC's client idle timeout: an idle channel holds no connection and
  makes no attempt), and the pool then closes it.
- A channel's own reconnect backoff starts at 1 s and is bounded at 30 s.
- A channel that failed is replaced by a fresh one (which tries at once,
  so an agent that came back is reached without waiting out the old
  channel's backoff) at most after a backoff of its own per target: 1 s,
  doubling to 30 s, reset when a call gets through. In between, calls fail
  fast on the failed channel.
- `failed(target, reason)` logs one line per target per LOG_INTERVAL (60 s),
  with how many more failures there were, never a traceback.

The beacon service, the application service and the gateway's instance
proxy all reach agents this way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import grpc

from services.common.channels import MAX_MESSAGE

log = logging.getLogger("shoal.agents")

METADATA_KEY = "shoal-beacon-token"
CLOSE_GRACE = 30.0  # seconds an evicted channel's calls may still take
IDLE_SECONDS = 60.0
RETRY_FIRST = 1.0
RETRY_MAX = 30.0
LOG_INTERVAL = 60.0


def agent_options(idle: float = IDLE_SECONDS) -> tuple[tuple[str, object], ...]:
    return (
        ("grpc.lb_policy_name", "pick_first"),
        ("grpc.max_receive_message_length", MAX_MESSAGE),
        ("grpc.max_send_message_length", MAX_MESSAGE),
        ("grpc.keepalive_time_ms", 20_000),
        ("grpc.keepalive_timeout_ms", 5_000),
        ("grpc.initial_reconnect_backoff_ms", int(RETRY_FIRST * 1000)),
        ("grpc.min_reconnect_backoff_ms", int(RETRY_FIRST * 1000)),
        ("grpc.max_reconnect_backoff_ms", int(RETRY_MAX * 1000)),
        ("grpc.client_idle_timeout_ms", max(1000, int(idle * 1000))),
        # Connections of its own (not gRPC's shared subchannel pool), so a
        # fresh channel reaches an agent that came back at once.
        ("grpc.use_local_subchannel_pool", 1),
    )


def open_agent_channel(target: str, idle: float = IDLE_SECONDS) -> grpc.aio.Channel:
    """A channel to an agent at `target` (an address or a gRPC target such
    as `ipv4:127.0.0.1:7000`)."""
    return grpc.aio.insecure_channel(target, options=agent_options(idle))


def token_metadata(token: str) -> tuple[tuple[str, str], ...]:
    """The metadata that presents `token` to an agent."""
    return ((METADATA_KEY, token),)


@dataclass
class _Entry:
    channel: grpc.aio.Channel
    used: float
    retry_at: float = 0.0  # a failed channel is not replaced before this
    retry_delay: float = 0.0
    logged_at: float | None = None
    unlogged: int = 0  # failures since the last line logged


class AgentChannels:
    """Open channels to agents, keyed by target, least recently used first."""

    def __init__(self, limit: int, idle: float = IDLE_SECONDS, clock: Callable[[], float] = time.monotonic,
                 opener: Callable[[str, float], grpc.aio.Channel] = open_agent_channel):
        self._limit = limit
        self._idle = idle
        self._clock = clock
        self._open = opener
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._closing: set[asyncio.Task] = set()  # held until done, so none is collected mid-close

    def channel(self, target: str) -> grpc.aio.Channel:
        """The channel to `target`, opened (or reopened) as needed."""
        now = self._clock()
        self._close_idle(now)
        entry = self._entries.pop(target, None)
        if entry is not None:
            state = entry.channel.get_state()
            if state == grpc.ChannelConnectivity.READY:
                entry.retry_delay, entry.retry_at = 0.0, 0.0
            elif state == grpc.ChannelConnectivity.TRANSIENT_FAILURE and now >= entry.retry_at:
                # Down until now: a fresh channel tries at once rather than
                # failing fast until the old one's reconnect backoff ends.
                self._close_later(entry.channel, None)
                entry.channel = self._open(target, self._idle)
                entry.retry_delay = min(RETRY_MAX, entry.retry_delay * 2 or RETRY_FIRST)
                entry.retry_at = now + entry.retry_delay
        else:
            entry = _Entry(self._open(target, self._idle), now)
            while len(self._entries) >= self._limit:
                _, old = self._entries.popitem(last=False)
                self._close_later(old.channel, CLOSE_GRACE)
        entry.used = now
        self._entries[target] = entry
        return entry.channel

    def failed(self, target: str, reason: str) -> None:
        """A call to `target` failed for `reason`: logged once per interval."""
        now = self._clock()
        entry = self._entries.get(target)
        if entry is None:
            log.warning("agent %s: %s", target, reason)
            return
        if entry.logged_at is not None and now - entry.logged_at < LOG_INTERVAL:
            entry.unlogged += 1
            return
        more = f" ({entry.unlogged} more failure(s) in the last {LOG_INTERVAL:g}s)" if entry.unlogged else ""
        log.warning("agent %s: %s%s", target, reason, more)
        entry.logged_at, entry.unlogged = now, 0

    def succeeded(self, target: str) -> None:
        """A call to `target` got through: its channel's backoff starts over."""
        entry = self._entries.get(target)
        if entry is not None:
            entry.retry_delay, entry.retry_at = 0.0, 0.0

    def __len__(self) -> int:
        return len(self._entries)

    def _close_idle(self, now: float) -> None:
        """Close the channels unused for `idle` seconds that gRPC has idled
        too (an IDLE channel has no call in progress: a long stream keeps
        its channel out of IDLE, and open)."""
        for target, entry in list(self._entries.items()):
            if now - entry.used < self._idle:
                break  # least recently used first: the rest were used later
            if entry.channel.get_state() == grpc.ChannelConnectivity.IDLE:
                del self._entries[target]
                log.debug("agent %s: channel idle for %gs, closed", target, self._idle)
                self._close_later(entry.channel, None)

    def _close_later(self, channel: grpc.aio.Channel, grace: float | None) -> None:
        task = asyncio.get_running_loop().create_task(channel.close(grace=grace))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def close(self) -> None:
        entries = list(self._entries.values())
        self._entries.clear()
        for entry in entries:
            await entry.channel.close()
