"""The identity service's gRPC servicer: thin mixins over the domain modules
(identities, userlevels, tokens, lockout, audit, recovery) and the store."""

from __future__ import annotations

import grpc

from services.common.config import Settings
from services.common.server import serve
from services.identity.audit_rpc import AuditRPC
from services.identity.auth_rpc import AuthRPC
from services.identity.identities_rpc import IdentitiesRPC
from services.identity.levels_rpc import LevelsRPC
from services.identity.store import IdentityStore
from services.identity.tokens_rpc import TokensRPC
from services.identity.users_rpc import UsersRPC
from shoal.v1 import identity_pb2_grpc


class IdentityServicer(
    AuthRPC, IdentitiesRPC, UsersRPC, TokensRPC, AuditRPC, LevelsRPC, identity_pb2_grpc.IdentityServicer
):
    pass


async def run(settings: Settings, args) -> None:
    store = await IdentityStore.open(settings)
    servicer = IdentityServicer(settings, store)

    async def register(server: grpc.aio.Server):
        identity_pb2_grpc.add_IdentityServicer_to_server(servicer, server)

    try:
        await serve("identity", settings, register, address=getattr(args, "listen", "") or None)
    finally:
        servicer.hasher.close()
        await store.close()
