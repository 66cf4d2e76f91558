"""The identity service's gRPC servicer: thin mixins over the domain modules
(identities, privileges, userlevels, tokens, lockout, audit, recovery,
bootstrap) and the store. At start it makes the bootstrap token when the
service has never had one and no admin can log in from elsewhere."""

from __future__ import annotations

import asyncio
import contextlib

import grpc

from services.common.config import Settings
from services.common.generation import GenerationWriter, generation_path
from services.common.server import serve
from services.identity import audit
from services.identity.audit_rpc import AuditRPC
from services.identity.auth_rpc import AuthRPC
from services.identity.core import audit_key_path
from services.identity.identities_rpc import IdentitiesRPC
from services.identity.levels_rpc import LevelsRPC
from services.identity.setup_rpc import SetupRPC
from services.identity.store import IdentityStore
from services.identity.tokens_rpc import TokensRPC
from services.identity.users_rpc import UsersRPC
from shoal.v1 import identity_pb2_grpc


class IdentityServicer(
    AuthRPC, IdentitiesRPC, UsersRPC, TokensRPC, AuditRPC, SetupRPC, LevelsRPC, identity_pb2_grpc.IdentityServicer
):
    pass


async def run(settings: Settings, args) -> None:
    store = await IdentityStore.open(settings, audit.load_or_create_key(audit_key_path(settings)))
    generation = GenerationWriter(generation_path(settings.home))
    generation.bump()  # what gateways kept may predate this process (a restore, a change while it was down)
    store.callers_changed = generation.bump
    servicer = IdentityServicer(settings, store)
    try:
        await servicer.ensure_bootstrap_token()
    except BaseException:
        servicer.hasher.close()
        await store.close()
        raise

    async def register(server: grpc.aio.Server):
        identity_pb2_grpc.add_IdentityServicer_to_server(servicer, server)
        reporter = asyncio.create_task(servicer.report_locked_refusals())

        async def cleanup() -> None:  # after the last RPC: what is still counted is recorded
            reporter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reporter

        return cleanup

    try:
        await serve("identity", settings, register, address=getattr(args, "listen", "") or None)
    finally:
        servicer.hasher.close()
        await store.close()
        generation.close()
