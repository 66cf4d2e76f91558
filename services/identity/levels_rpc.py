"""The identity service's INTERNAL level RPCs, for the beacon and application
services: a user's AuthLevel and resource levels (GetUserLevels), and
setting one resource level (SetResourceLevel: the creator of a beacon or an
application becomes its owner; a level < 0 removes the entry), and removing
every user's level on a resource that goes away (ForgetResource: a deleted
beacon's levels go with it, so a later beacon at its address inherits none).

A mixin for IdentityServicer, over two functions of the identity store:

    await store.lighthouse_user(email) -> LighthouseUser | None
    await store.set_resource_level(email, kind, resource, level) -> LighthouseUser | None
        (one atomic read-modify-write; None when there is no such user)
    await store.forget_resource(kind, resource, event) -> int
        (every holder's level removed and the event recorded, in one transaction)

Until the servicer has a store, every name reads as "not a Lighthouse user".
"""

from __future__ import annotations

from services.common import errors
from services.identity.audit_rpc import recorded_event
from services.identity.userlevels import APPLICATIONS, BEACONS, KINDS, LighthouseUser
from shoal.v1 import identity_pb2

MAX_RESOURCE = 512


def user_levels(user: LighthouseUser | None) -> identity_pb2.UserLevels:
    if user is None:
        return identity_pb2.UserLevels(found=False)
    return identity_pb2.UserLevels(
        found=True,
        auth_level=user.auth_level,
        beacons=dict(user.permissions.get(BEACONS, {})),
        applications=dict(user.permissions.get(APPLICATIONS, {})),
    )


def _check_resource(kind: str, resource: str) -> None:
    if kind not in KINDS:
        raise errors.invalid(f'kind must be one of {", ".join(KINDS)}, not "{kind}"')
    if not resource or len(resource) > MAX_RESOURCE:
        raise errors.invalid("resource must name a beacon address or an application")


class LevelsRPC:
    """GetUserLevels, SetResourceLevel and ForgetResource (INTERNAL: service callers only)."""

    def _levels_store(self):
        return getattr(self, "store", None)

    async def GetUserLevels(self, request, context):
        store = self._levels_store()
        if store is None or not request.user:
            return user_levels(None)
        return user_levels(await store.lighthouse_user(request.user))

    async def SetResourceLevel(self, request, context):
        _check_resource(request.kind, request.resource)
        store = self._levels_store()
        if store is None or not request.user:
            return user_levels(None)
        return user_levels(
            await store.set_resource_level(request.user, request.kind, request.resource, request.level)
        )

    async def ForgetResource(self, request, context):
        _check_resource(request.kind, request.resource)
        event = recorded_event(request.event)
        store = self._levels_store()
        if store is None:
            raise errors.unavailable("no audit log to record the change in")
        forgotten = await store.forget_resource(request.kind, request.resource, event)
        return identity_pb2.ForgetResourceResponse(users=forgotten)
