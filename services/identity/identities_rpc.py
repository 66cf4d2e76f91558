"""GET/POST /v1/identities over the store (rules in identities.py)."""

from __future__ import annotations

from google.protobuf import empty_pb2, json_format

from services.common.interceptor import current_caller
from services.common.jsonvalues import whole_numbers
from services.identity import audit
from services.identity.core import IdentityCore
from services.identity.identities import apply_identity_action, decode_identities, render_identities
from shoal.v1 import identity_pb2

PATH = "/v1/identities"


class IdentitiesRPC(IdentityCore):
    async def ListIdentities(self, request, context):
        stored = await self.store.identities()
        rendered = render_identities({name: s.identity for name, s in stored.items()})
        return json_format.ParseDict({"identities": rendered}, identity_pb2.ListIdentitiesResponse())

    async def IdentitiesAction(self, request, context):
        caller = current_caller()
        given = whole_numbers(json_format.MessageToDict(request.identities)) if request.HasField("identities") else None
        payload = decode_identities(given)
        before, after = await self.store.change_identities(
            lambda current: apply_identity_action(current, request.action, payload)
        )
        changed = sorted(n for n in before.keys() | after.keys() if before.get(n) != after.get(n))
        for name in changed:
            if self.hasher.cache is not None:
                self.hasher.cache.invalidate(name)
        await self.record(audit.IDENTITIES_CHANGED, user=caller.identity, ip=caller.origin, path=PATH,
                          details=f"{request.action}: {', '.join(changed) or 'no change'}")
        return empty_pb2.Empty()
