"""The instance proxy: `/api/v0.2/d/{Host}/v1/...` is any registered
instance's Pebble API, through one gateway.

The caller is authenticated as for any `/api/v0.2` route (read access over
a concealed transport), then the beacon service resolves `{Host}` (an
instance address or alias) for that caller: level ≥ 0 on the instance's
beacon for reads, ≥ 1 for writes and for the admin-level Pebble routes.
The rest is exactly the local `/v1` route — the same route table, request
transcoding and Pebble envelopes — served over a channel to the instance
with its beacon token instead of the signed caller.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import OrderedDict
from collections.abc import Callable

import grpc
from aiohttp import web
from yarl import URL

from gateway.app import DEFAULT_DEADLINE, Gateway, Handler, error_response, generic_handler
from gateway.errors import HTTPError, from_rpc_error
from services.common import signing
from services.common.agent_channels import open_agent_channel, token_metadata
from shoal.descriptors import Method, all_methods, methods_by_path
from shoal.v1 import beacon_pb2

log = logging.getLogger("shoal.gateway.proxy")

ROUTE = "/api/v0.2/d/{host}/v1/{tail:.*}"
PREFIX_PARTS = 5  # "", "api", "v0.2", "d", host
READ_LEVEL, WRITE_LEVEL = 0, 1
MAX_CHANNELS = 64
Factory = Callable[[Gateway, list[Method]], Handler]


def min_level(method: Method) -> int:
    """Level on the beacon needed to call `method` through the proxy."""
    reads = method.http_method == "GET" and method.access in ("untrusted", "metrics", "read")
    return READ_LEVEL if reads else WRITE_LEVEL


class RemoteGateway:
    """The gateway as the Pebble handlers see it, with every plan call going
    to one instance and carrying its beacon token. Anything else is the
    gateway's own."""

    def __init__(self, gw: Gateway, channel: grpc.aio.Channel, token: str, caller: signing.Caller):
        self._gw = gw
        self._channel = channel
        self._token = token
        self._caller = caller

    def __getattr__(self, name: str):
        return getattr(self._gw, name)

    def channel(self, service: str) -> grpc.aio.Channel:
        return self._channel if service == "plan" else self._gw.channel(service)

    def callable(self, method: Method):
        if method.service != "plan":
            return self._gw.callable(method)
        kind = ("stream" if method.client_streaming else "unary") + "_" + (
            "stream" if method.server_streaming else "unary"
        )
        return getattr(self._channel, kind)(
            method.full_path,
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=method.response_class.FromString,
        )

    def metadata(self, caller: signing.Caller):
        return token_metadata(self._token)

    async def authorize(self, request: web.Request, method: Method) -> signing.Caller:
        return self._caller  # already authorized for this instance


def _marker(methods: list[Method]) -> Handler:
    async def unreachable(request: web.Request) -> web.StreamResponse:  # pragma: no cover
        raise web.HTTPInternalServerError()

    unreachable.methods = methods  # type: ignore[attr-defined]
    return unreachable


def pebble_router() -> web.UrlDispatcher:
    """The local /v1 route table, for matching proxied paths."""
    routes: dict[tuple[str, str], list[Method]] = {}
    for method in all_methods():
        if method.http_method and method.family == "pebble":
            routes.setdefault((method.http_path, method.http_method), []).append(method)
    router = web.UrlDispatcher()
    for (path, http_method), methods in sorted(routes.items(), key=lambda item: item[0][0].count("{")):
        router.add_route(http_method, path, _marker(methods))
    return router


class InstanceProxy:
    def __init__(self, gw: Gateway, handlers: dict[str, Factory]):
        self.gw = gw
        self.handlers = handlers
        self.router = pebble_router()
        self.resolve_instance = gw.callable(methods_by_path()["/shoal.v1.Beacon/ResolveInstance"])
        self.channels: OrderedDict[str, grpc.aio.Channel] = OrderedDict()

    def channel_to(self, address: str) -> grpc.aio.Channel:
        channel = self.channels.pop(address, None)
        if channel is not None and channel.get_state() == grpc.ChannelConnectivity.TRANSIENT_FAILURE:
            # The instance was down: a fresh channel tries it now rather than
            # failing fast until the old one's reconnect backoff ends.
            asyncio.get_running_loop().create_task(channel.close())
            channel = None
        if channel is None:
            channel = open_agent_channel(address)
            while len(self.channels) >= MAX_CHANNELS:
                _, old = self.channels.popitem(last=False)
                asyncio.get_running_loop().create_task(old.close(grace=30))  # after its calls end
        self.channels[address] = channel
        return channel

    async def close(self) -> None:
        for channel in self.channels.values():
            await channel.close()
        self.channels.clear()

    async def _resolve(self, host: str, level: int, caller: signing.Caller) -> beacon_pb2.ResolvedInstance:
        request = beacon_pb2.ResolveInstanceRequest(
            host=host, min_level=level, on_behalf_of=caller.identity, on_behalf_of_access=caller.access
        )
        metadata = self.gw.metadata(signing.service_caller("gateway"))
        try:
            return await self.resolve_instance(request, metadata=metadata, timeout=DEFAULT_DEADLINE)
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error, "beacon", "lighthouse") from None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        host = request.match_info["host"]
        parts = request.rel_url.raw_path.split("/", PREFIX_PARTS)
        inner_url = URL.build(path="/" + parts[PREFIX_PARTS], query_string=request.rel_url.raw_query_string,
                              encoded=True)
        inner = request.clone(rel_url=inner_url)
        match = await self.router.resolve(inner)
        if match.http_exception is not None:
            status = match.http_exception.status
            message = "invalid API endpoint requested" if status == 404 else f'method "{request.method}" not allowed'
            return error_response("pebble", HTTPError(status, message))
        methods: list[Method] = match.handler.methods
        method = methods[0]
        outer = dataclasses.replace(method, access="read", http_path="/api/v0.2/d/{host}" + method.http_path)
        try:
            caller = await self.gw.authorize(request, outer)
            resolved = await self._resolve(host, min_level(method), caller)
        except HTTPError as error:
            return error_response("lighthouse", error, "beacon")
        log.debug("%s %s %s via %s", caller.identity, request.method, inner_url, resolved.instance_address)
        remote = RemoteGateway(self.gw, self.channel_to(resolved.instance_address), resolved.token, caller)
        make = self.handlers.get(method.handler) if method.handler else None
        if method.handler and make is None:
            return error_response("pebble", HTTPError(501, f"{method.name} is not served through the proxy yet"))
        handler = make(remote, methods) if make else generic_handler(remote, method)  # type: ignore[arg-type]
        inner._match_info = match  # the /v1 route's own path parameters
        return await handler(inner)


def add_proxy_routes(app: web.Application, gw: Gateway, handlers: dict[str, Factory]) -> InstanceProxy:
    """Register `/api/v0.2/d/{Host}/v1/...` on `app` (every method)."""
    proxy = InstanceProxy(gw, handlers)
    app.router.add_route("*", ROUTE, proxy.handle)

    async def close(app: web.Application) -> None:
        await proxy.close()

    app.on_cleanup.append(close)
    return proxy
