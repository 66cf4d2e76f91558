"""The identity service as the beacon and application services see it: a
user's levels, and setting one of them (the creator of a beacon or an
application becomes its owner). Calls are signed with the calling service's
own identity; nothing is cached, so replicas always read the same levels."""

from __future__ import annotations

import grpc

from services.beacon.levels import Levels, levels_for
from services.common import errors, signing
from services.common.channels import open_channel
from services.common.config import Settings
from shoal.v1 import identity_pb2, identity_pb2_grpc

DEADLINE = 10.0


def _unavailable(error: grpc.aio.AioRpcError) -> errors.DomainError:
    return errors.unavailable(f"identity service unavailable: {error.details() or error.code().name}")


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

    async def close(self) -> None:
        await self._channel.close()
