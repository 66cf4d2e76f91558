"""The identity service's INTERNAL level RPCs, for the beacon and application
services: a user's AuthLevel and resource levels (GetUserLevels), and
setting one resource level (SetResourceLevel: the creator of a beacon or an
application becomes its owner; a level < 0 removes the entry).

A mixin for IdentityServicer, over two functions of the identity store:

    await store.lighthouse_user(email) -> LighthouseUser | None
    await store.set_resource_level(email, kind, resource, level) -> LighthouseUser | None
        (one atomic read-modify-write; None when there is no such user)

Until the servicer has a store, every name reads as "not a Lighthouse user".
"""

from __future__ import annotations

from services.common import errors
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


class LevelsRPC:
    """GetUserLevels and SetResourceLevel (INTERNAL: service callers only)."""

    def _levels_store(self):
        return getattr(self, "store", None)

    async def GetUserLevels(self, request, context):
        store = self._levels_store()
        if store is None or not request.user:
            return user_levels(None)
        return user_levels(await store.lighthouse_user(request.user))

    async def SetResourceLevel(self, request, context):
        if request.kind not in KINDS:
            raise errors.invalid(f'kind must be one of {", ".join(KINDS)}, not "{request.kind}"')
        if not request.resource or len(request.resource) > MAX_RESOURCE:
            raise errors.invalid("resource must name a beacon address or an application")
        store = self._levels_store()
        if store is None or not request.user:
            return user_levels(None)
        return user_levels(
            await store.set_resource_level(request.user, request.kind, request.resource, request.level)
        )
