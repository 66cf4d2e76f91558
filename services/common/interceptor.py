"""The one server interceptor every Shoal service runs.

It verifies the caller once (UNAUTHENTICATED when missing, expired or
forged), enforces the RPC's access level from the proto option
(PERMISSION_DENIED), hands the verified caller to the servicer in a context
variable (`current_caller()`; nothing verifies it again), and turns a
`DomainError` raised by a servicer into a gRPC status (services/common/
errors.py holds the one table) with its kind and extra fields in trailing
metadata.

grpc.aio serves each RPC in a task of its own, so the caller set at the start
of a handler — unary or streaming — is that RPC's alone, and so is every task
the handler starts (they copy its context).
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Awaitable, Callable

import grpc

from services.common.errors import DomainError, grpc_code
from services.common.signing import Caller, CallerError, verify
from shoal.descriptors import method_at

log = logging.getLogger("shoal.rpc")

# Extra ways a service may accept a caller (e.g. a plan agent's beacon token).
Authenticator = Callable[[tuple], Caller | None]


_CALLER: contextvars.ContextVar[Caller] = contextvars.ContextVar("shoal_caller")


def current_caller() -> Caller:
    """The verified caller of the RPC being served."""
    try:
        return _CALLER.get()
    except LookupError:
        raise RuntimeError("no verified caller: not inside an RPC behind the caller interceptor") from None


async def _abort(context, error: DomainError):
    await context.abort(grpc_code(error.failure), error.message, error.trailing_metadata())


_KINDS = (
    ("unary_unary", grpc.unary_unary_rpc_method_handler),
    ("stream_unary", grpc.stream_unary_rpc_method_handler),
    ("unary_stream", grpc.unary_stream_rpc_method_handler),
    ("stream_stream", grpc.stream_stream_rpc_method_handler),
)


def _kind(handler: grpc.RpcMethodHandler):
    """The handler's behaviour (name) and the factory that makes one like it."""
    return next((name, make) for name, make in _KINDS if getattr(handler, name))


def _wrap(handler: grpc.RpcMethodHandler, caller: Caller) -> grpc.RpcMethodHandler:
    """The same handler, run as `caller`, with DomainError mapped to a status."""
    name, make = _kind(handler)
    inner = getattr(handler, name)
    if name.endswith("_unary"):

        async def serve(request, context):
            _CALLER.set(caller)
            try:
                return await inner(request, context)
            except DomainError as error:
                await _abort(context, error)

    else:

        async def serve(request, context):
            _CALLER.set(caller)
            try:
                async for item in inner(request, context):
                    yield item
            except DomainError as error:
                await _abort(context, error)

    return make(serve, handler.request_deserializer, handler.response_serializer)


def _refusal(handler: grpc.RpcMethodHandler, code: grpc.StatusCode, message: str):
    name, make = _kind(handler)
    if name.endswith("_unary"):

        async def refuse(request, context):
            await context.abort(code, message)

    else:

        async def refuse(request, context):
            await context.abort(code, message)
            yield  # pragma: no cover - makes this an async generator

    return make(refuse)


class CallerInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, secret: bytes, authenticators: tuple[Authenticator, ...] = ()):
        self._secret = secret
        self._authenticators = authenticators

    def _caller(self, metadata) -> Caller:
        try:
            return verify(self._secret, metadata)
        except CallerError:
            for authenticate in self._authenticators:
                caller = authenticate(metadata)
                if caller is not None:
                    return caller
            raise

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        method = method_at(details.method)
        if method is None or handler is None:
            return handler  # health checking, reflection: open by design
        try:
            caller = self._caller(details.invocation_metadata)
        except CallerError as error:
            log.warning("refused %s: %s", details.method, error)
            return _refusal(handler, grpc.StatusCode.UNAUTHENTICATED, f"caller refused: {error}")
        if not caller.at_least(method.access):
            log.warning("denied %s to %s (%s)", details.method, caller.identity, caller.access)
            return _refusal(
                handler,
                grpc.StatusCode.PERMISSION_DENIED,
                f"{method.name} needs {method.access} access, caller has {caller.access}",
            )
        return _wrap(handler, caller)
