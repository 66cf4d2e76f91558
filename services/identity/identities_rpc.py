"""GET/POST /v1/identities over the store (rules in identities.py; who may
create or change which identity in privileges.py)."""

from __future__ import annotations

from google.protobuf import empty_pb2, json_format

from services.common.interceptor import current_caller
from services.common.jsonvalues import whole_numbers
from services.identity import audit
from services.identity.core import IdentityCore
from services.identity.identities import apply_identity_action, decode_identities, render_identities
from services.identity.privileges import PrivilegeError, check_identity_changes, holding
from shoal.v1 import identity_pb2

PATH = "/v1/identities"


def _changed(before: dict, after: dict) -> list[str]:
    return sorted(n for n in before.keys() | after.keys() if before.get(n) != after.get(n))


class IdentitiesRPC(IdentityCore):
    async def ListIdentities(self, request, context):
        stored = await self.store.identities()
        rendered = render_identities({name: s.identity for name, s in stored.items()})
        return json_format.ParseDict({"identities": rendered}, identity_pb2.ListIdentitiesResponse())

    async def IdentitiesAction(self, request, context):
        caller = current_caller()
        given = whole_numbers(json_format.MessageToDict(request.identities)) if request.HasField("identities") else None
        payload = decode_identities(given)
        held = holding(caller)

        def change(current):
            after = apply_identity_action(current, request.action, payload)
            check_identity_changes(held, current, after)
            return after

        def event(before, after):
            changed = _changed(before, after)
            return self.event(audit.IDENTITIES_CHANGED, caller, path=PATH,
                              details=f"{request.action}: {', '.join(changed) or 'no change'}")

        try:
            before, after = await self.store.change_identities(change, event)
        except PrivilegeError as refused:
            await self.record(audit.IDENTITIES_CHANGED, user=caller.identity, ip=caller.origin, path=PATH,
                              success=False, details=f"{request.action}: {refused.message}")
            raise
        for name in _changed(before, after):
            if self.hasher.cache is not None:
                self.hasher.cache.invalidate(name)
        return empty_pb2.Empty()
