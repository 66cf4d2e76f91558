"""The identity service as the beacon and application services see it: a
user's levels, setting one of them (the creator of a beacon or an
application becomes its owner), removing every user's level on a deleted
beacon, recording an audit event (the audit log lives there), and the user lookups a beacon route makes for its caller.

Calls are signed with the calling service's own identity, except the user
lookups (`user`, `grant`), which carry the verified caller itself: the
identity service then applies its own rules to it (who sees and changes
whom, how names compare), exactly as for `/api/v0.2/users/...`, so no user
rule is written twice. Nothing is cached, so replicas always read the same
levels.
"""

from __future__ import annotations

import json

import grpc

from services.beacon.levels import Levels, levels_for
from services.common import errors, signing
from services.common.channels import open_channel
from services.common.config import Settings
from services.common.errors import EXTRA, KIND, DomainError, Failure
from shoal.v1 import identity_pb2, identity_pb2_grpc

DEADLINE = 10.0
FORWARDED_TTL = 30.0

_FAILURES = {
    grpc.StatusCode.INVALID_ARGUMENT: Failure.INVALID,
    grpc.StatusCode.UNAUTHENTICATED: Failure.UNAUTHENTICATED,
    grpc.StatusCode.PERMISSION_DENIED: Failure.FORBIDDEN,
    grpc.StatusCode.NOT_FOUND: Failure.NOT_FOUND,
    grpc.StatusCode.FAILED_PRECONDITION: Failure.CONFLICT,
    grpc.StatusCode.RESOURCE_EXHAUSTED: Failure.RATE_LIMITED,
}


def _unavailable(error: grpc.aio.AioRpcError) -> errors.DomainError:
    return errors.unavailable(f"identity service unavailable: {error.details() or error.code().name}")


def relayed(error: grpc.aio.AioRpcError) -> DomainError:
    """The identity service's refusal of the caller, passed on as it gave it
    (its message, kind and extra fields); anything else is "unavailable"."""
    failure = _FAILURES.get(error.code())
    if failure is None:
        return _unavailable(error)
    trailers = dict(error.trailing_metadata() or ())
    extra = json.loads(trailers[EXTRA]) if EXTRA in trailers else None
    return DomainError(error.details() or "", failure, kind=trailers.get(KIND, ""), extra=extra)


class Directory:
    def __init__(self, settings: Settings, service: str):
        self._secret = settings.secret
        self._caller = signing.service_caller(service)
        self._channel = open_channel(settings.address("identity"))
        self._stub = identity_pb2_grpc.IdentityStub(self._channel)

    def _metadata(self):
        return signing.sign(self._secret, self._caller)

    async def levels(self, user: str, access: str) -> Levels:
        """`user`'s levels; `access` is the caller's access level."""
        if not user:
            return Levels()
        try:
            answer = await self._stub.GetUserLevels(
                identity_pb2.GetUserLevelsRequest(user=user), metadata=self._metadata(), timeout=DEADLINE
            )
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.UNIMPLEMENTED:  # an identity service without users
                return levels_for(False, access)
            raise _unavailable(error) from None
        return levels_for(answer.found, access, dict(answer.beacons), dict(answer.applications))

    async def set_level(self, user: str, kind: str, resource: str, level: int) -> None:
        try:
            await self._stub.SetResourceLevel(
                identity_pb2.SetResourceLevelRequest(user=user, kind=kind, resource=resource, level=level),
                metadata=self._metadata(),
                timeout=DEADLINE,
            )
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.UNIMPLEMENTED:
                return
            raise _unavailable(error) from None

    async def record(self, event: str, caller: signing.Caller, path: str, details: str, success: bool = True) -> None:
        """A signed audit event in the identity service's log; unavailable
        when it cannot be recorded (the caller then changes nothing)."""
        request = identity_pb2.RecordAuditEventRequest(
            event=event, user=caller.identity, ip=caller.origin, path=path, success=success, details=details
        )
        try:
            await self._stub.RecordAuditEvent(request, metadata=self._metadata(), timeout=DEADLINE)
        except grpc.aio.AioRpcError as error:
            raise _unavailable(error) from None

    async def forget(self, kind: str, resource: str, event: str, caller: signing.Caller, path: str,
                     details: str) -> int:
        """Remove every user's level on `resource` and record the audit event
        saying why, in one transaction there; unavailable when that cannot be
        done (the caller then changes nothing). How many users held one."""
        recorded = identity_pb2.RecordAuditEventRequest(
            event=event, user=caller.identity, ip=caller.origin, path=path, success=True, details=details
        )
        request = identity_pb2.ForgetResourceRequest(kind=kind, resource=resource, event=recorded)
        try:
            answer = await self._stub.ForgetResource(request, metadata=self._metadata(), timeout=DEADLINE)
        except grpc.aio.AioRpcError as error:
            raise _unavailable(error) from None
        return answer.users

    # -- as the caller ----------------------------------------------------------
    def _as(self, caller: signing.Caller):
        return signing.sign(self._secret, caller, ttl=FORWARDED_TTL)

    async def user(self, caller: signing.Caller, email: str) -> identity_pb2.User:
        """`email`'s user as `caller` may see it (GET /users/{Email}'s rules)."""
        try:
            return await self._stub.GetUser(
                identity_pb2.GetUserRequest(email=email), metadata=self._as(caller), timeout=DEADLINE
            )
        except grpc.aio.AioRpcError as error:
            raise relayed(error) from None

    async def grant(self, caller: signing.Caller, email: str, beacon: str, level: int) -> None:
        """PUT /users/{Email} {"Beacons": {beacon: level}} by `caller`, with its rules and audit event."""
        request = identity_pb2.UpdateUserRequest(email=email, beacons={beacon: level})
        try:
            await self._stub.UpdateUser(request, metadata=self._as(caller), timeout=DEADLINE)
        except grpc.aio.AioRpcError as error:
            raise relayed(error) from None

    async def close(self) -> None:
        await self._channel.close()
