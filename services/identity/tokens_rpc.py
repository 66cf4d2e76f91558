"""API tokens: /api/security/tokens*, validate-token, regenerate-token
(rules in tokens.py).

A caller that is itself a token may only manage tokens whose scopes it
holds (the escalation guard); every outcome, refusals too, is audited, and
a token written is written with its audit event, in one transaction.
`regenerate-token` renews Shoal's primary token (id "primary", all scopes,
the one quick-setup may set), making it if there is none; since it makes a
"*" token, only a full admin may."""

from __future__ import annotations

from dataclasses import replace

from google.protobuf import empty_pb2, json_format

from services.common import errors
from services.common.interceptor import current_caller
from services.identity import audit
from services.identity.core import IdentityCore
from services.identity.privileges import FULL_ADMIN, PrivilegeError, holding
from services.identity.tokens import (
    ALL,
    PRIMARY_ID,
    EscalationError,
    TokenRecord,
    check_escalation,
    create_token,
    hash_token,
    parse_expires_in,
    rotate_token,
    validate_name,
    validate_scopes,
    validate_update,
)
from shoal.v1 import identity_pb2

PATH = "/api/security/tokens"


def _record(record: TokenRecord) -> identity_pb2.TokenRecord:
    return json_format.ParseDict(record.to_dto(), identity_pb2.TokenRecord())


def _list(value) -> list:
    return json_format.MessageToDict(value) if value is not None else None


class TokensRPC(IdentityCore):
    def _token_scopes(self, caller):
        """The caller's scopes when it is a token, else None (no guard)."""
        return caller.scopes if caller.identity.startswith("token:") else None

    async def _guarded(self, caller, action: str, scopes, event: str, target: str) -> None:
        try:
            check_escalation(self._token_scopes(caller), action, scopes)
        except EscalationError as error:
            await self.record(event, user=caller.identity, ip=caller.origin, path=PATH, success=False,
                              details=f"{target}: {error.message}")
            raise

    async def _existing(self, token_id: str) -> TokenRecord:
        record = await self.store.token(token_id)
        if record is None:
            raise errors.not_found("Token not found", kind="not_found")
        return record

    async def ListTokens(self, request, context):
        return identity_pb2.ListTokensResponse(tokens=[_record(r) for r in await self.store.tokens()])

    async def CreateToken(self, request, context):
        caller = current_caller()
        name = validate_name(request.name)
        scopes = validate_scopes(_list(request.scopes) if request.HasField("scopes") else None)
        expires_in = parse_expires_in(request.expires_in)
        await self._guarded(caller, "create", scopes, audit.TOKEN_CREATED, name)
        raw, record = create_token(name, self.now(), scopes, expires_in)
        await self.store.add_token(record, self.event(audit.TOKEN_CREATED, caller, path=PATH,
                                                      details=f"{record.id} {name} scopes={','.join(scopes)}"))
        return identity_pb2.TokenWithSecret(token=raw, record=_record(record))

    async def GetToken(self, request, context):
        return identity_pb2.TokenRecordResponse(record=_record(await self._existing(request.id)))

    async def UpdateToken(self, request, context):
        caller = current_caller()
        body = {}
        if request.HasField("name"):
            body["name"] = request.name
        if request.HasField("scopes"):
            body["scopes"] = _list(request.scopes)
        update = validate_update(body)
        record = await self._existing(request.id)
        await self._guarded(caller, "update", record.scopes, audit.TOKEN_UPDATED, record.id)
        if update.scopes is not None:
            await self._guarded(caller, "grant", update.scopes, audit.TOKEN_UPDATED, record.id)
        new = replace(record, name=update.name or record.name, scopes=update.scopes or record.scopes)
        event = self.event(audit.TOKEN_UPDATED, caller, path=PATH,
                           details=f"{record.id} {new.name} scopes={','.join(new.scopes)}")
        if not await self.store.save_token(new, record.hash, event):
            raise errors.conflict("the token changed meanwhile; try again")
        return identity_pb2.TokenRecordResponse(record=_record(new))

    async def DeleteToken(self, request, context):
        caller = current_caller()
        record = await self._existing(request.id)
        await self._guarded(caller, "delete", record.scopes, audit.TOKEN_DELETED, record.id)
        event = self.event(audit.TOKEN_DELETED, caller, path=PATH, details=f"{record.id} {record.name}")
        if not await self.store.delete_token(record.id, event):
            raise errors.not_found("Token not found", kind="not_found")
        return empty_pb2.Empty()

    async def RotateToken(self, request, context):
        caller = current_caller()
        record = await self._existing(request.id)
        await self._guarded(caller, "rotate", record.scopes, audit.TOKEN_ROTATED, record.id)
        raw, new = rotate_token(record)
        event = self.event(audit.TOKEN_ROTATED, caller, path=PATH, details=f"{record.id} {record.name}")
        if not await self.store.save_token(new, record.hash, event):
            raise errors.conflict("the token changed meanwhile; try again")
        return identity_pb2.TokenWithSecret(token=raw, record=_record(new))

    async def RegenerateToken(self, request, context):
        caller = current_caller()
        path = "/api/security/regenerate-token"
        if not holding(caller).full_admin:
            await self.record(audit.TOKEN_ROTATED, user=caller.identity, ip=caller.origin, path=path,
                              success=False, details="primary token: not a full admin")
            raise PrivilegeError(f"the primary API token has every scope: only {FULL_ADMIN} may renew it",
                                 kind="forbidden")
        current = await self.store.token(PRIMARY_ID)
        if current is None:
            raw, new = create_token("primary API token", self.now(), (ALL,), token_id=PRIMARY_ID)
            await self.store.add_token(new, self.event(audit.TOKEN_CREATED, caller, path=path,
                                                       details=f"{PRIMARY_ID} {new.name} scopes={ALL}"))
        else:
            raw, new = rotate_token(replace(current, scopes=(ALL,)))
            event = self.event(audit.TOKEN_ROTATED, caller, path=path, details=f"{PRIMARY_ID} {new.name}")
            if not await self.store.save_token(new, current.hash, event):
                raise errors.conflict("the token changed meanwhile; try again")
        return identity_pb2.RegenerateTokenResponse(
            success=True, token=raw, deployment_type="shoal", requires_restart=False,
            message="New API token generated and active immediately! Save this token - it won't be shown again.",
        )

    async def ValidateToken(self, request, context):
        record = await self.store.token_by_hash(hash_token(request.token)) if request.token else None
        if record is None or not record.matches(request.token, self.now()):
            return identity_pb2.ValidateTokenResponse(valid=False, message="Token is invalid or expired")
        return identity_pb2.ValidateTokenResponse(valid=True, message="Token is valid")
