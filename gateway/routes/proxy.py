"""The instance proxy: `/api/v0.2/d/{Host}/v1/...` is any registered
instance's Pebble API, through one gateway.

The caller is authenticated as for any `/api/v0.2` route (read access over
a concealed transport), then the beacon service resolves `{Host}` (an
instance address or alias) for that caller: level ≥ 0 on the instance's
beacon for reads, ≥ 1 for writes and for the admin-level Pebble routes.
The rest is exactly the local `/v1` route — the same route table, handlers,
request transcoding and Pebble envelopes — served over a channel to the
instance with its beacon token instead of the signed caller.

The channel dials the target the beacon service checked (never the address
text). An instance that cannot be reached answers one message whatever was
at its address (what answered there is logged, once a minute per instance:
services/common/agent_channels.py, which also bounds reconnecting).
"""

from __future__ import annotations

import dataclasses
import logging

import grpc
from aiohttp import web
from yarl import URL

from gateway.calls import DEFAULT_DEADLINE, ServiceCalls, call_object
from gateway.route_table import grouped_routes
from gateway.routes.context import Handler, RouteContext
from gateway.routes.registry import handler_for
from gateway.shaping import guarded, routing_error
from services.common import signing
from services.common.agent_channels import AgentChannels, token_metadata
from shoal.descriptors import Method, methods_by_path
from shoal.v1 import beacon_pb2

log = logging.getLogger("shoal.gateway.proxy")

ROUTE = "/api/v0.2/d/{host}/v1/{tail:.*}"
PREFIX_PARTS = 5  # "", "api", "v0.2", "d", host
READ_LEVEL, WRITE_LEVEL = 0, 1
MAX_CHANNELS = 64
# Codes that mean no agent answered as one (a closed or filtered port, another
# kind of server): one message for them all.
UNREACHABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNKNOWN, grpc.StatusCode.UNIMPLEMENTED)


def min_level(method: Method) -> int:
    """Level on the beacon needed to call `method` through the proxy."""
    reads = method.http_method == "GET" and method.access in ("untrusted", "metrics", "read")
    return READ_LEVEL if reads else WRITE_LEVEL


def outer_route(method: Method) -> Method:
    """The proxied route as the gateway checks it: a Lighthouse route needing
    read access (the same token scopes as the /v1 route), whose refusals the
    beacon service that resolves {Host} answers for."""
    return dataclasses.replace(method, access="read", service="beacon",
                               http_path="/api/v0.2/d/{host}" + method.http_path)


class _InstanceCall:
    """One call to an instance, as the handlers use a grpc.aio call (await,
    iterate, read, write, cancel ...), whose failures to reach the agent
    become one message."""

    def __init__(self, call, reached):
        self._call = call
        self._reached = reached
        self._iterator = None

    async def _guard(self, awaitable):
        try:
            return await awaitable
        except grpc.aio.AioRpcError as error:
            raise self._reached.failure(error) from None

    def __await__(self):
        return self._finish().__await__()

    async def _finish(self):
        answer = await self._guard(self._call)
        self._reached.succeeded()
        return answer

    def __aiter__(self):
        if self._iterator is None:
            self._iterator = self._messages()
        return self._iterator

    async def _messages(self):
        iterator = self._call.__aiter__()
        while True:
            try:
                item = await self._guard(iterator.__anext__())
            except StopAsyncIteration:
                return
            yield item

    async def read(self):
        return await self._guard(self._call.read())

    async def write(self, message):
        return await self._guard(self._call.write(message))

    async def done_writing(self):
        return await self._guard(self._call.done_writing())

    def __getattr__(self, name):  # cancel, code, details, ...
        return getattr(self._call, name)


@dataclasses.dataclass(frozen=True)
class _Reached:
    """Where one proxied request's calls go, and what their failures say."""

    host: str
    target: str
    channels: AgentChannels

    def failure(self, error: grpc.aio.AioRpcError) -> grpc.aio.AioRpcError:
        if error.code() not in UNREACHABLE:
            return error  # the agent's own answer (a Pebble error), as it gave it
        self.channels.failed(self.target, f"instance {self.host}: {error.code().name}: {error.details()}")
        return grpc.aio.AioRpcError(grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata(),
                                    details=f"instance {self.host} unreachable")

    def succeeded(self) -> None:
        self.channels.succeeded(self.target)


class InstanceCalls:
    """Every plan call goes to one instance with its beacon token; any other
    service's calls are the gateway's own."""

    def __init__(self, own: ServiceCalls, channel: grpc.aio.Channel, token: str, reached: _Reached | None = None):
        self._own = own
        self.waits = own.waits  # one bound per gateway, proxied waits included
        self._channel = channel
        self._token = token
        self._reached = reached

    def callable(self, method: Method):
        if method.service != "plan":
            return self._own.callable(method)
        call = call_object(self._channel, method)
        if self._reached is None:
            return call
        reached = self._reached

        def start(*args, **kwargs):
            return _InstanceCall(call(*args, **kwargs), reached)

        return start

    def metadata(self, caller: signing.Caller):
        return token_metadata(self._token)


@dataclasses.dataclass(frozen=True)
class Authorized:
    """The gate of a proxied route: its caller is already authorized for
    this instance."""

    caller: signing.Caller
    gate: object  # the gateway's own gate, told when callers may have changed

    async def authorize(self, request: web.Request, method: Method) -> signing.Caller:
        return self.caller

    def admitted(self, request: web.Request, method: Method) -> signing.Caller:
        return self.caller

    def forget(self, request: web.Request) -> None:
        pass  # no session routes behind the proxy

    def callers_changed(self) -> None:
        self.gate.callers_changed()  # identity calls behind the proxy are the gateway's own


def _marker(methods: list[Method]) -> Handler:
    async def unreachable(request: web.Request) -> web.StreamResponse:  # pragma: no cover
        raise web.HTTPInternalServerError()

    unreachable.methods = methods  # type: ignore[attr-defined]
    return unreachable


def pebble_router() -> web.UrlDispatcher:
    """The local /v1 route table, for matching proxied paths."""
    router = web.UrlDispatcher()
    for path, http_method, methods in grouped_routes("pebble"):
        router.add_route(http_method, path, _marker(methods))
    return router


class InstanceProxy:
    def __init__(self, ctx: RouteContext, calls: ServiceCalls):
        self.ctx = ctx
        self.calls = calls
        self.router = pebble_router()
        self.resolve_instance = calls.callable(methods_by_path()["/shoal.v1.Beacon/ResolveInstance"])
        self.channels = AgentChannels(MAX_CHANNELS, idle=ctx.settings.agent_idle_seconds)

    def channel_to(self, address: str) -> grpc.aio.Channel:
        return self.channels.channel(address)

    async def close(self) -> None:
        await self.channels.close()

    async def _resolve(self, host: str, level: int, caller: signing.Caller) -> beacon_pb2.ResolvedInstance:
        request = beacon_pb2.ResolveInstanceRequest(
            host=host, min_level=level, on_behalf_of=caller.identity, on_behalf_of_access=caller.access
        )
        return await self.resolve_instance(request, metadata=self.calls.as_service(), timeout=DEFAULT_DEADLINE)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        host = request.match_info["host"]
        parts = request.rel_url.raw_path.split("/", PREFIX_PARTS)
        inner_url = URL.build(path="/" + parts[PREFIX_PARTS], query_string=request.rel_url.raw_query_string,
                              encoded=True)
        inner = request.clone(rel_url=inner_url)
        match = await self.router.resolve(inner)
        if match.http_exception is not None:
            return routing_error("pebble", request.method, match.http_exception.status)
        methods: list[Method] = match.handler.methods
        method = methods[0]

        async def reach_instance(request: web.Request) -> web.StreamResponse:
            caller = await self.ctx.gate.authorize(request, outer)
            resolved = await self._resolve(host, min_level(method), caller)
            log.debug("%s %s %s via %s", caller.identity, request.method, inner_url, resolved.instance_address)
            target = resolved.dial_target or resolved.instance_address
            reached = _Reached(host, target, self.channels)
            calls = InstanceCalls(self.calls, self.channel_to(target), resolved.token, reached)
            handler = handler_for(dataclasses.replace(self.ctx, gate=Authorized(caller, self.ctx.gate), calls=calls,
                                                      views=None), methods)
            inner._match_info = match  # the /v1 route's own path parameters
            return await handler(inner)

        outer = outer_route(method)
        return await guarded(outer, reach_instance)(request)


def add_proxy_routes(app: web.Application, ctx: RouteContext, calls: ServiceCalls) -> InstanceProxy:
    """Register `/api/v0.2/d/{Host}/v1/...` on `app` (every method)."""
    proxy = InstanceProxy(ctx, calls)
    app.router.add_route("*", ROUTE, proxy.handle)

    async def close(app: web.Application) -> None:
        await proxy.close()

    app.on_cleanup.append(close)
    return proxy
