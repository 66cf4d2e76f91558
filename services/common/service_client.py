"""For Shoal's own services and tools: call a service over gRPC directly,
with the generated stubs and the signed service caller (what the gateway
does). It needs the cluster secret, so it lives beside the services, not in
the SDK."""

from __future__ import annotations

from typing import Self

from services.common import signing
from services.common.channels import open_channel
from services.common.config import Settings
from shoal.v1 import application_pb2_grpc, beacon_pb2_grpc, identity_pb2_grpc, plan_pb2_grpc

STUBS = {
    "identity": identity_pb2_grpc.IdentityStub,
    "plan": plan_pb2_grpc.PlanStub,
    "beacon": beacon_pb2_grpc.BeaconStub,
    "application": application_pb2_grpc.ApplicationStub,
}


class ServiceClient:
    """A stub for `service` and the metadata to send with each call:

        async with ServiceClient("identity", settings, caller="beacon") as svc:
            await svc.stub.GetUserLevels(request, metadata=svc.metadata())
    """

    def __init__(self, service: str, settings: Settings, caller: str):
        self.settings = settings
        self.caller = caller
        self.channel = open_channel(settings.address(service))
        self.stub = STUBS[service](self.channel)

    def metadata(self, ttl: float = 60.0):
        return signing.sign(self.settings.secret, signing.service_caller(self.caller), ttl=ttl)

    async def close(self) -> None:
        await self.channel.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()
