"""The identity service's gRPC servicer (thin over its domain modules)."""

from __future__ import annotations

import grpc

from services.common.config import Settings
from services.common.server import serve
from services.identity.levels_rpc import LevelsRPC
from shoal.v1 import identity_pb2, identity_pb2_grpc


class IdentityServicer(LevelsRPC, identity_pb2_grpc.IdentityServicer):
    def __init__(self, settings: Settings):
        self.settings = settings

    async def Authenticate(self, request, context):
        # No identities are stored yet: nothing matches, so the gateway
        # applies the peer-credential defaults.
        return identity_pb2.AuthenticateResponse(matched=False)


async def run(settings: Settings, args) -> None:
    async def register(server: grpc.aio.Server):
        identity_pb2_grpc.add_IdentityServicer_to_server(IdentityServicer(settings), server)
        return None

    await serve("identity", settings, register, address=getattr(args, "listen", "") or None)
