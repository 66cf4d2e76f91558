"""The identity service's level RPCs as the beacon and application services
read them (services/identity/levels_rpc.py)."""

import pytest

from services.common.errors import DomainError, grpc_code
from services.identity.levels_rpc import LevelsRPC, user_levels
from services.identity.userlevels import LighthouseUser
from shoal.v1 import identity_pb2


def test_a_users_levels_travel_as_maps():
    user = LighthouseUser("ann@example.com", 1, {"Beacons": {"a:1": 2}, "Applications": {"web": 0}})
    levels = user_levels(user)
    assert levels.found and levels.auth_level == 1
    assert dict(levels.beacons) == {"a:1": 2} and dict(levels.applications) == {"web": 0}
    assert user_levels(None) == identity_pb2.UserLevels(found=False)


async def test_without_a_store_nobody_is_a_lighthouse_user():
    answer = await LevelsRPC().GetUserLevels(identity_pb2.GetUserLevelsRequest(user="ann"), None)
    assert not answer.found


@pytest.mark.parametrize("kind, resource", [("Users", "a:1"), ("beacons", "a:1"), ("Beacons", ""), ("Beacons", "x" * 513)])
async def test_a_resource_level_needs_a_known_kind_and_a_resource(kind, resource):
    request = identity_pb2.SetResourceLevelRequest(user="ann", kind=kind, resource=resource, level=2)
    with pytest.raises(DomainError) as caught:
        await LevelsRPC().SetResourceLevel(request, None)
    assert grpc_code(caught.value.failure).name == "INVALID_ARGUMENT"
