"""Calling the services: one channel per service, one call object per RPC,
the signed caller in metadata, and every call's deadline, and the bound on the long-polls held open at once.

Every unary RPC has a deadline: the default, its own (the
`deadline_seconds` method option), or for a long-poll (the `long_poll`
option) the wait it asks for plus a margin. A stream's
first message is awaited before anything is answered (`first_message`), so
a refused stream still gets its family's error response.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

import grpc
from google.protobuf.message import Message

from gateway.errors import HTTPError
from services.common import signing
from services.common.channels import open_channel
from services.common.config import Settings
from services.common.durations import LONGEST_WAIT, parse_duration
from shoal.descriptors import Method

DEFAULT_DEADLINE = 10.0
LONG_POLL_MARGIN = 10.0
NO_TIMEOUT_DEADLINE = 3600.0
MAX_POLL_DEADLINE = LONGEST_WAIT + LONG_POLL_MARGIN  # a longer wait is cut here (a change wait: 504)
SIGNED_TTL = 60.0  # how long a signed caller is valid
SIGNED_REUSE = 30.0  # reused for this long, so every use has ≥ 30 s of validity left
MAX_SIGNED = 10_000
MAX_WAITS = 1024  # long-polls this gateway holds open at once; past it, 503


Metadata = tuple[tuple[str, str], ...]


def call_object(channel: grpc.aio.Channel, method: Method):
    """The grpc.aio multi-callable for `method` on `channel`."""
    kind = ("stream" if method.client_streaming else "unary") + "_" + (
        "stream" if method.server_streaming else "unary"
    )
    return getattr(channel, kind)(
        method.full_path,
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=method.response_class.FromString,
    )


class WaitSlots:
    """The long-polls held open at once (a wait for a change, notices with a
    timeout): past `limit`, a clear 503 at once instead of more open calls
    (2,000 at once once ended in CANCELLED and ENOTCONN)."""

    def __init__(self, limit: int = MAX_WAITS):
        self.limit = limit
        self.held = 0

    @contextmanager
    def hold(self) -> Iterator[None]:
        if self.held >= self.limit:
            raise HTTPError(503, f"too many requests waiting at once (the limit is {self.limit}); try again shortly",
                            "busy")
        self.held += 1
        try:
            yield
        finally:
            self.held -= 1


def waits(method: Method, message: Message) -> bool:
    """Whether this call of `method` may be held open (a long-poll with a wait)."""
    poll = method.long_poll
    return poll is not None and (bool(getattr(message, poll.timeout_field)) or poll.empty_waits_forever)


class Calls(Protocol):
    """What a route handler calls through: the gateway's own services
    (ServiceCalls), or one instance's plan agent behind the proxy."""

    waits: WaitSlots

    def callable(self, method: Method): ...

    def metadata(self, caller: signing.Caller) -> Metadata: ...


class ServiceCalls:
    """The gateway's channels to the services, and the signed caller."""

    def __init__(self, settings: Settings, max_waits: int = MAX_WAITS):
        self.settings = settings
        self.waits = WaitSlots(max_waits)
        self.channels: dict[str, grpc.aio.Channel] = {}
        self._calls: dict[str, object] = {}
        self._signed: dict[signing.Caller, tuple[float, Metadata]] = {}

    def channel(self, service: str) -> grpc.aio.Channel:
        if service not in self.channels:
            self.channels[service] = open_channel(self.settings.address(service))
        return self.channels[service]

    def callable(self, method: Method):
        call = self._calls.get(method.full_path)
        if call is None:
            call = self._calls[method.full_path] = call_object(self.channel(method.service), method)
        return call

    def metadata(self, caller: signing.Caller) -> Metadata:
        """The signed metadata for `caller`, reused while well inside its expiry."""
        now = time.monotonic()
        entry = self._signed.get(caller)
        if entry is None or entry[0] < now:
            if len(self._signed) >= MAX_SIGNED:
                self._signed.clear()
            entry = (now + SIGNED_REUSE, signing.sign(self.settings.secret, caller, ttl=SIGNED_TTL))
            self._signed[caller] = entry
        return entry[1]

    def as_service(self) -> Metadata:
        """The metadata of the gateway itself, as a service identity."""
        return self.metadata(signing.service_caller("gateway"))

    async def close(self) -> None:
        for channel in self.channels.values():
            await channel.close()


def deadline_for(method: Method, message: Message) -> float:
    """The RPC deadline: its own (`deadline_seconds`) or the default, or a
    long-poll's wait plus a margin."""
    poll = method.long_poll
    if poll is None:
        return float(method.deadline_seconds or DEFAULT_DEADLINE)
    text = getattr(message, poll.timeout_field)
    if not text:
        return NO_TIMEOUT_DEADLINE if poll.empty_waits_forever else DEFAULT_DEADLINE
    try:
        seconds = parse_duration(text)
    except ValueError:
        return DEFAULT_DEADLINE  # the service answers 400 for it
    return min(seconds, LONGEST_WAIT) + LONG_POLL_MARGIN if seconds > 0 else NO_TIMEOUT_DEADLINE


async def first_message(call):
    """The first message of a server stream, None when it ends at once; the
    call's error when it was refused. The rest follows by iterating `call`."""
    try:
        return await call.__aiter__().__anext__()
    except StopAsyncIteration:
        return None
