"""The gateway: an aiohttp application whose routes come from the protos.

Each documented route becomes one RPC: authenticate the caller, check the
route's access level for this transport, build the request message, call the
owning service with the signed caller and a deadline, and shape the answer
the way that API family documents it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass, replace
from collections.abc import Awaitable, Callable

import grpc
import orjson
from aiohttp import web
from google.protobuf import empty_pb2

from gateway import lighthouse, pebble, security
from gateway.auth import ANONYMOUS, default_caller, may_call
from gateway.credentials import (
    SAFE_METHODS,
    CallerCache,
    Credentials,
    LockoutMemory,
    MalformedCredentials,
    check_csrf,
    client_origin,
    read_credentials,
)
from gateway.errors import HTTPError, from_rpc_error
from gateway.scopes import required_scopes, scope_for, signed_access
from gateway.listeners import peer_uid, transport_kind
from gateway.transcode import BadRequest, build_request, to_json_value
from services.common import signing
from services.common.channels import open_channel
from services.common.config import Settings
from shoal.descriptors import Method, all_methods, family_of_path, methods_by_path
from shoal.v1 import identity_pb2

log = logging.getLogger("shoal.gateway")

DEFAULT_DEADLINE = 10.0
LONG_POLL_MARGIN = 10.0
NO_TIMEOUT_DEADLINE = 3600.0
MAX_BODY = 1024 * 1024
REFUSAL_DELAY = float(os.environ.get("SHOAL_REFUSAL_DELAY", "1.0"))  # seconds before refusing credentials
SIGNED_TTL = 60.0  # how long a signed caller is valid
SIGNED_REUSE = 30.0  # reused for this long, so every use has ≥ 30 s of validity left

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
FAMILIES = {"pebble": pebble, "lighthouse": lighthouse, "security": security}


def error_response(family: str, err: HTTPError, service: str = "") -> web.Response:
    if family == "pebble":
        return pebble.error(err.status, err.message, err.kind)
    if family == "lighthouse":
        return lighthouse.error(err.status, err.message, err.kind or lighthouse.CAUSES.get(service, "control"))
    return security.error(err.status, err.message, err.kind, err.extra)


REFUSALS = (BadRequest, HTTPError, grpc.aio.AioRpcError)  # what a handler answers as an error


def failure_response(method: Method, error: Exception) -> web.Response:
    """A refused request (bad input, an access rule, a service's error) in
    the shape of the route's API family."""
    if isinstance(error, BadRequest):
        error = HTTPError(400, str(error))
    elif isinstance(error, grpc.aio.AioRpcError):
        error = from_rpc_error(error, method.service, method.family)
    return error_response(method.family, error, method.service)


@dataclass(frozen=True)
class Authenticated:
    """A resolved caller, how it was recognised, and its session if any."""

    caller: signing.Caller
    method: str = ""  # cert | basic | token | session | local | "" (peer defaults, anonymous)
    session: str = ""


class Gateway:
    def __init__(self, settings: Settings, daemon_uid: int | None = None):
        self.settings = settings
        self.daemon_uid = daemon_uid
        self.channels: dict[str, grpc.aio.Channel] = {}
        self._calls: dict[str, object] = {}
        self.callers = CallerCache()
        self.lockouts = LockoutMemory()
        self._signed: dict[signing.Caller, tuple[float, tuple]] = {}
        self.identity_authenticate = self.callable(methods_by_path()["/shoal.v1.Identity/Authenticate"])

    # -- service calls ---------------------------------------------------
    def channel(self, service: str) -> grpc.aio.Channel:
        if service not in self.channels:
            self.channels[service] = open_channel(self.settings.address(service))
        return self.channels[service]

    def callable(self, method: Method):
        call = self._calls.get(method.full_path)
        if call is None:
            channel = self.channel(method.service)
            kind = ("stream" if method.client_streaming else "unary") + "_" + (
                "stream" if method.server_streaming else "unary"
            )
            call = getattr(channel, kind)(
                method.full_path,
                request_serializer=lambda m: m.SerializeToString(),
                response_deserializer=method.response_class.FromString,
            )
            self._calls[method.full_path] = call
        return call

    def metadata(self, caller: signing.Caller):
        """The signed metadata for `caller`, reused while well inside its expiry."""
        now = time.monotonic()
        entry = self._signed.get(caller)
        if entry is None or entry[0] < now:
            if len(self._signed) >= 10_000:
                self._signed.clear()
            entry = (now + SIGNED_REUSE, signing.sign(self.settings.secret, caller, ttl=SIGNED_TTL))
            self._signed[caller] = entry
        return entry[1]

    async def close(self) -> None:
        for channel in self.channels.values():
            await channel.close()

    # -- authentication --------------------------------------------------
    async def authenticate(self, request: web.Request) -> tuple[Authenticated, str]:
        """Who sent `request`, and its transport (unix, http or https)."""
        transport = transport_kind(request)
        uid = peer_uid(request) if transport == "unix" else None
        try:
            credentials = read_credentials(request, transport, uid)
        except MalformedCredentials as error:
            raise HTTPError(401, str(error)) from None
        if credentials.empty:
            return Authenticated(replace(ANONYMOUS, origin=credentials.client_ip)), transport
        key = self.callers.key(credentials)
        known = self.callers.get(key)
        if known is None:
            refused = None if self.callers.seen(key) else self.lockouts.refusal(credentials)
            if refused is not None:
                await asyncio.sleep(REFUSAL_DELAY)
                raise refused
            try:
                known = await self._ask_identity(credentials, request.path)
            except HTTPError as error:
                if error.kind == "account_locked":
                    self.lockouts.remember(credentials, error, error.extra.get("lockedBy", ()))
                if error.status in (401, 403):
                    # Refused credentials answer after a pause: a guessing client
                    # (or a flood on a kept-alive connection) waits instead of
                    # taking the gateway's time from everyone else.
                    await asyncio.sleep(REFUSAL_DELAY)
                raise
            self.callers.put(key, known)  # only answers that let the caller in are cached
        return known, transport

    async def _ask_identity(self, credentials: Credentials, path: str) -> Authenticated:
        request = identity_pb2.AuthenticateRequest(
            token=credentials.token,
            session_token=credentials.session,
            cert_pem=credentials.cert_pem,
            client_ip=credentials.client_ip,
            path=path,
        )
        if credentials.basic:
            request.basic_username, request.basic_password = credentials.basic
        if credentials.uid is not None:
            request.peer_uid = credentials.uid
        try:
            answer = await self.identity_authenticate(
                request, metadata=self.metadata(signing.service_caller("gateway")), timeout=DEFAULT_DEADLINE
            )
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error, "identity", "security") from None  # refused credentials too
        if answer.matched:
            uid = credentials.uid if answer.method == "local" else None
            caller = signing.Caller(answer.name, answer.access, uid=uid, scopes=tuple(answer.scopes),
                                    origin=credentials.client_ip)
            session = credentials.session if answer.method == "session" else ""
            return Authenticated(caller, answer.method, session)
        return Authenticated(replace(default_caller(credentials.uid, self.daemon_uid), origin=credentials.client_ip))

    async def authorize(self, request: web.Request, method: Method) -> signing.Caller:
        if method.access == "untrusted":
            # Open routes resolve no caller (as Pebble); only where it came from.
            return replace(ANONYMOUS, origin=client_origin(request))
        known, transport = await self.authenticate(request)
        caller = known.caller
        if known.method == "session" and request.method not in SAFE_METHODS:
            check_csrf(request, self.settings.secret, known.session)
        if known.method == "token" and transport != "http":
            scope = scope_for(method, caller.scopes)
            if scope is None:
                needed = required_scopes(method)
                extra = {"requiredScope": needed[0]} if len(needed) == 1 else {"requiredScopes": list(needed)}
                raise HTTPError(403, "this token lacks the scope the route needs", "missing_scope", extra)
            return replace(caller, access=signed_access(method, scope))
        if may_call(method, caller, transport):
            return caller
        if caller.access == "untrusted" or transport == "http":
            raise HTTPError(401, "access denied" if method.family == "pebble" else "authentication required")
        if method.family == "pebble":
            raise HTTPError(403, "access denied")
        raise HTTPError(403, f"{method.access} access required")


def deadline_for(method: Method, message) -> float:
    """The RPC deadline: the default, or a long-poll's own wait plus a margin."""
    poll = method.long_poll
    if poll is None:
        return DEFAULT_DEADLINE
    text = getattr(message, poll.timeout_field)
    if not text:
        return NO_TIMEOUT_DEADLINE if poll.empty_waits_forever else DEFAULT_DEADLINE
    from services.plan.durations import parse_duration

    try:
        seconds = parse_duration(text)
    except ValueError:
        return DEFAULT_DEADLINE  # the service answers 400 for it
    return (seconds + LONG_POLL_MARGIN) if seconds > 0 else NO_TIMEOUT_DEADLINE


async def read_body(request: web.Request, limit: int = MAX_BODY) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise HTTPError(413, f"request body larger than {limit} bytes")
    body = await request.content.read(limit + 1)
    if len(body) > limit:
        raise HTTPError(413, f"request body larger than {limit} bytes")
    return body


def generic_handler(gw: Gateway, method: Method) -> Handler:
    """The handler of a route that needs no hand-written code."""
    family = FAMILIES[method.family]
    has_result = method.response_class is not empty_pb2.Empty

    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            caller = await gw.authorize(request, method)
            body = await read_body(request) if method.body else None
            message = build_request(method, dict(request.match_info), list(request.query.items()), body)
            if method.server_streaming:
                return await stream_ndjson(gw, method, request, message, caller)
            started = time.perf_counter()
            response = await gw.callable(method)(
                message, metadata=gw.metadata(caller), timeout=deadline_for(method, message)
            )
            log.debug("%s %s %.1fms", caller.identity, method.name, (time.perf_counter() - started) * 1e3)
            return family.answer(method, to_json_value(method, response), has_result)
        except REFUSALS as err:
            return failure_response(method, err)

    return handle


async def stream_ndjson(gw: Gateway, method: Method, request, message, caller) -> web.StreamResponse:
    """A server-streaming RPC as newline-delimited JSON, flushed per message.

    The first message (or the error) is awaited before the status line is
    sent, so a refused call still gets its family's error response.
    """
    call = gw.callable(method)(message, metadata=gw.metadata(caller))
    iterator = call.__aiter__()
    try:
        first = await iterator.__anext__()
    except StopAsyncIteration:
        first = None
    response = web.StreamResponse(status=200)
    response.content_type = "application/json"
    await response.prepare(request)
    import orjson

    from gateway.transcode import message_json

    try:
        if first is not None:
            await response.write(orjson.dumps(message_json(first)) + b"\n")
            async for item in iterator:
                await response.write(orjson.dumps(message_json(item)) + b"\n")
    except grpc.aio.AioRpcError as err:
        log.warning("%s stream ended: %s", method.name, err.details())
    finally:
        call.cancel()
    await response.write_eof()
    return response


@web.middleware
async def shape_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """404/405/413 from routing and aiohttp itself, in the family's shape."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        family = family_of_path(request.path)
        if exc.status == 404:
            message = "invalid API endpoint requested" if family == "pebble" else "not found"
        elif exc.status == 405:
            message = f'method "{request.method}" not allowed'
        else:
            message = exc.reason
        response = error_response(family, HTTPError(exc.status, message))
        if isinstance(exc, web.HTTPMethodNotAllowed):
            response.headers["Allow"] = ", ".join(sorted(exc.allowed_methods))
        return response


def _not_allowed(allowed: list[str]) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        raise web.HTTPMethodNotAllowed(request.method, allowed)

    return handle


def build_app(settings: Settings, handlers: dict[str, Callable[[Gateway, list[Method]], Handler]] | None = None) -> web.Application:
    """The aiohttp application with one route per documented (method, path)."""
    from gateway import handlers as hand_written
    from gateway.openapi import openapi_document

    handlers = handlers if handlers is not None else hand_written.REGISTRY
    gw = Gateway(settings)
    app = web.Application(middlewares=[shape_errors], client_max_size=MAX_BODY)
    app["gateway"] = gw

    routes: dict[tuple[str, str], list[Method]] = {}
    for method in all_methods():
        if method.http_method:
            routes.setdefault((method.http_path, method.http_method), []).append(method)
    # Literal paths before templated ones, so /users/list wins over /users/{email}.
    ordered = sorted(routes.items(), key=lambda item: item[0][0].count("{"))
    resources: dict[str, web.Resource] = {}
    for (path, http_method), methods in ordered:
        first = methods[0]
        if first.handler:
            make = handlers.get(first.handler)
            if make is None:
                log.debug("no handler %s yet for %s %s", first.handler, http_method, path)
                continue
            handler = make(gw, methods)
        else:
            handler = generic_handler(gw, first)
        resource = resources.get(path)
        if resource is None:
            resource = resources[path] = app.router.add_resource(path)
        resource.add_route(http_method, handler)
    for path, resource in resources.items():
        if "{" not in path:
            # A literal path owns its URL for every method: PUT /users/list is
            # 405, not an update of a user called "list".
            resource.add_route("*", _not_allowed(sorted({r.method for r in resource})))

    from gateway.proxy import add_proxy_routes

    add_proxy_routes(app, gw, handlers)  # /api/v0.2/d/{Host}/v1/...: instances' Pebble APIs

    document = openapi_document()

    async def serve_openapi(request: web.Request) -> web.Response:
        return web.json_response(document)

    app.router.add_get("/openapi.json", serve_openapi)

    async def close(app: web.Application) -> None:
        await gw.close()

    app.on_cleanup.append(close)
    return app
