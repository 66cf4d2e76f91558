"""Where an application's instances are, for one caller: the beacon service
resolves each host (an instance address or alias) to the instance's address
and its beacon's token, if the caller holds the level asked for on that
beacon. Calls are signed with the application service's own identity."""

from __future__ import annotations

import asyncio

import grpc

from services.application import stream
from services.application.actions import Resolver
from services.application.agents import AgentCallError, Target
from services.application.model import unique
from services.beacon import levels
from services.common import errors, signing
from services.common.channels import open_channel
from services.common.config import Settings
from shoal.v1 import beacon_pb2, beacon_pb2_grpc

RESOLVE_DEADLINE = 10.0


class Instances:
    def __init__(self, settings: Settings):
        self._secret = settings.secret
        self._channel = open_channel(settings.address("beacon"))
        self._beacon = beacon_pb2_grpc.BeaconStub(self._channel)

    async def close(self) -> None:
        await self._channel.close()

    async def _resolve(self, caller: signing.Caller, host: str, min_level: int) -> beacon_pb2.ResolvedInstance:
        request = beacon_pb2.ResolveInstanceRequest(
            host=host, min_level=min_level, on_behalf_of=caller.identity, on_behalf_of_access=caller.access
        )
        metadata = signing.sign(self._secret, signing.service_caller("application"))
        return await self._beacon.ResolveInstance(request, metadata=metadata, timeout=RESOLVE_DEADLINE)

    async def deployable(self, caller: signing.Caller, hosts: list[str]) -> list[str]:
        """The instance addresses of `hosts`, each one the caller may change
        (level ≥ 1 on its beacon); refused as a whole otherwise."""

        async def one(host: str) -> str:
            try:
                return (await self._resolve(caller, host, levels.MODIFY)).instance_address
            except grpc.aio.AioRpcError as error:
                code = error.code()
                if code == grpc.StatusCode.NOT_FOUND:
                    raise errors.invalid(f"applications: unknown instance {host}") from None
                if code == grpc.StatusCode.PERMISSION_DENIED:
                    raise errors.denied(f"applications: user not permitted to deploy to instance {host}") from None
                raise errors.unavailable(f"beacon service unavailable: {error.details()}") from None

        return unique(await asyncio.gather(*(one(h) for h in unique(hosts))))

    async def members(self, caller: signing.Caller, current: list[str], hosts: list[str]) -> list[str]:
        """Which of `current` the `hosts` (addresses or aliases) name."""
        found = []
        for host in unique(hosts):
            if host not in current:
                try:
                    host = (await self._resolve(caller, host, levels.ACCESS)).instance_address
                except grpc.aio.AioRpcError:
                    continue
            if host in current and host not in found:
                found.append(host)
        return found

    def resolver(self, caller: signing.Caller) -> Resolver:
        """Each instance's address and token for an action's run; an instance
        that cannot be resolved fails alone, with its reason."""

        async def resolve(instance: str) -> Target:
            try:
                found = await self._resolve(caller, instance, levels.ACCESS)
            except grpc.aio.AioRpcError as error:
                code = error.code()
                if code == grpc.StatusCode.NOT_FOUND:
                    outcome = stream.failed(instance, f"unknown instance {instance}", 404)
                elif code == grpc.StatusCode.PERMISSION_DENIED:
                    outcome = stream.failed(instance, f"user not permitted to access instance {instance}", 403)
                else:
                    outcome = stream.failed(instance, f"beacon service unavailable: {error.details()}", 502)
                raise AgentCallError(outcome) from None
            return Target(instance, found.dial_target or found.instance_address, found.token)

        return resolve
