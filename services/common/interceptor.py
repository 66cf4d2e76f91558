"""The one server interceptor every Shoal service runs.

It verifies the signed caller (UNAUTHENTICATED when missing, expired or
forged), enforces the RPC's access level from the proto option
(PERMISSION_DENIED), and turns a `DomainError` raised by a servicer into a
gRPC status (services/common/errors.py holds the one table) with its kind
and extra fields in trailing metadata.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import grpc

from services.common.errors import DomainError, grpc_code
from services.common.signing import Caller, CallerError, verify
from shoal.descriptors import methods_by_path

log = logging.getLogger("shoal.rpc")

# Extra ways a service may accept a caller (e.g. a plan agent's beacon token).
Authenticator = Callable[[tuple], Caller | None]


def caller_of(context: grpc.aio.ServicerContext, secret: bytes) -> Caller:
    """The verified caller of the current RPC (the interceptor already checked it)."""
    return verify(secret, context.invocation_metadata())


async def _abort(context, error: DomainError):
    await context.abort(grpc_code(error.failure), error.message, error.trailing_metadata())


def _wrap(handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
    """The same handler, with DomainError mapped to a status."""
    if handler.unary_unary or handler.stream_unary:
        inner = handler.unary_unary or handler.stream_unary

        async def unary(request, context):
            try:
                return await inner(request, context)
            except DomainError as error:
                await _abort(context, error)

        make = (
            grpc.unary_unary_rpc_method_handler
            if handler.unary_unary
            else grpc.stream_unary_rpc_method_handler
        )
        return make(unary, handler.request_deserializer, handler.response_serializer)

    inner_stream = handler.unary_stream or handler.stream_stream

    async def streaming(request, context):
        try:
            async for item in inner_stream(request, context):
                yield item
        except DomainError as error:
            await _abort(context, error)

    make = (
        grpc.unary_stream_rpc_method_handler
        if handler.unary_stream
        else grpc.stream_stream_rpc_method_handler
    )
    return make(streaming, handler.request_deserializer, handler.response_serializer)


def _refusal(handler: grpc.RpcMethodHandler, code: grpc.StatusCode, message: str):
    async def refuse(request, context):
        await context.abort(code, message)

    async def refuse_stream(request, context):
        await context.abort(code, message)
        yield  # pragma: no cover - makes this an async generator

    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(refuse)
    if handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(refuse)
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(refuse_stream)
    return grpc.stream_stream_rpc_method_handler(refuse_stream)


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
        method = methods_by_path().get(details.method)
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
        return _wrap(handler, details.method)
