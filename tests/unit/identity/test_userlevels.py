"""Lighthouse user levels: who sees and changes whom, the PUT update rules, resource levels."""

from __future__ import annotations

import pytest

from services.common.errors import Failure
from services.identity.userlevels import (
    ACCESS,
    APPLICATIONS,
    BEACONS,
    MODIFY,
    OWNER,
    LighthouseUser,
    UserLevelError,
    UserUpdate,
    apply_user_update,
    can_change_holder,
    can_create_user,
    can_grant,
    can_modify,
    can_view,
    check_view,
    name_key,
    resource_level,
    set_resource_level,
    validate_user_update,
    visible_users,
)

BOSS = LighthouseUser(
    "boss@x",
    auth_level=5,
    permissions={BEACONS: {"b1:80": OWNER, "b2:80": MODIFY, "b3:80": ACCESS}, APPLICATIONS: {}},
)
PEER = LighthouseUser("peer@x", auth_level=5)
LOW = LighthouseUser("low@x", auth_level=2, permissions={BEACONS: {"b1:80": ACCESS}})
ZERO = LighthouseUser("zero@x", auth_level=0)


def _refused(caller, target, body) -> UserLevelError:
    with pytest.raises(UserLevelError) as info:
        validate_user_update(caller, target, body)
    return info.value


def test_constants():
    assert (ACCESS, MODIFY, OWNER) == (0, 1, 2)


# --- view / modify / create -----------------------------------------------------


def test_user_sees_only_strictly_lower_levels_and_itself():
    assert can_view(BOSS, LOW)
    assert can_view(BOSS, BOSS)
    assert not can_view(BOSS, PEER)  # equal level
    assert not can_view(LOW, BOSS)


def test_modify_follows_the_same_rule():
    assert can_modify(BOSS, LOW)
    assert can_modify(LOW, LOW)
    assert not can_modify(PEER, BOSS)
    assert not can_modify(LOW, BOSS)


def test_creating_users_needs_level_one():
    assert can_create_user(LOW)
    assert can_create_user(LighthouseUser("one@x", auth_level=1))
    assert not can_create_user(ZERO)


def test_user_list_is_filtered_to_visible_users():
    assert visible_users(LOW, [BOSS, PEER, LOW, ZERO]) == ["low@x", "zero@x"]


def test_missing_and_invisible_users_are_the_same_404():
    for target in (None, BOSS):
        with pytest.raises(UserLevelError) as info:
            check_view(LOW, target)
        assert info.value.failure is Failure.NOT_FOUND
        assert info.value.body() == {
            "Cause": "users",
            "Message": "User does not exist or current permission too low",
        }


def test_user_api_shape():
    assert LOW.to_api() == {
        "Email": "low@x",
        "AuthLevel": 2,
        "Permissions": {"Beacons": {"b1:80": 0}, "Applications": {}},
    }


# --- PUT /users/{Email} ---------------------------------------------------------


def test_update_of_invisible_user_is_404():
    e = _refused(LOW, BOSS, {"AuthLevel": 1})
    assert e.failure is Failure.NOT_FOUND
    assert e.message == "User does not exist or current permission too low"


def test_update_of_missing_user_is_404():
    assert _refused(BOSS, None, {}).failure is Failure.NOT_FOUND


def test_negative_auth_level_is_400():
    e = _refused(BOSS, LOW, {"AuthLevel": -1})
    assert (e.failure, e.cause, e.message) == (Failure.INVALID, "users", "could not update user")


def test_auth_level_above_own_is_403():
    e = _refused(BOSS, LOW, {"AuthLevel": 6})
    assert (e.failure, e.message) == (Failure.FORBIDDEN, "could not update user")


def test_auth_level_equal_to_own_is_allowed():
    update = validate_user_update(BOSS, LOW, {"AuthLevel": 5})
    assert apply_user_update(LOW, update).auth_level == 5


def test_user_cannot_raise_own_level():
    assert _refused(LOW, LOW, {"AuthLevel": 3}).failure is Failure.FORBIDDEN
    assert validate_user_update(LOW, LOW, {"AuthLevel": 1}).auth_level == 1


def test_non_integer_auth_level_is_400():
    assert _refused(BOSS, LOW, {"AuthLevel": "3"}).failure is Failure.INVALID
    assert _refused(BOSS, LOW, {"AuthLevel": True}).failure is Failure.INVALID


def test_beacon_grant_within_own_level_is_applied():
    update = validate_user_update(BOSS, LOW, {"Beacons": {"b1:80": OWNER, "b2:80": MODIFY}})
    user = apply_user_update(LOW, update)
    assert user.permissions[BEACONS] == {"b1:80": OWNER, "b2:80": MODIFY}
    assert user.auth_level == LOW.auth_level
    assert LOW.permissions[BEACONS] == {"b1:80": ACCESS}  # original untouched


def test_beacon_grant_needs_modify_on_that_beacon():
    # BOSS only has Access (0) on b3.
    e = _refused(BOSS, LOW, {"Beacons": {"b3:80": ACCESS}})
    assert (e.failure, e.message) == (Failure.FORBIDDEN, "could not update user")
    assert _refused(BOSS, LOW, {"Beacons": {"nowhere:80": ACCESS}}).failure is Failure.FORBIDDEN


def test_beacon_grant_above_own_level_there_is_403():
    assert _refused(BOSS, LOW, {"Beacons": {"b2:80": OWNER}}).failure is Failure.FORBIDDEN


def test_one_bad_beacon_entry_fails_the_whole_update():
    e = _refused(BOSS, LOW, {"AuthLevel": 1, "Beacons": {"b1:80": OWNER, "b3:80": ACCESS}})
    assert e.failure is Failure.FORBIDDEN


def test_negative_beacon_level_removes_the_entry():
    update = validate_user_update(BOSS, LOW, {"Beacons": {"b1:80": -1}})
    assert apply_user_update(LOW, update).permissions[BEACONS] == {}


def test_minus_one_on_a_beacon_the_target_holds_nothing_on_is_a_no_op_not_a_refusal():
    """Lighthouse's documented update example: -1 removes, and removing what
    is not there changes nothing, whatever the caller holds on that beacon."""
    update = validate_user_update(BOSS, LOW, {"AuthLevel": 1, "Beacons": {"nowhere:80": -1, "b3:80": -1}})
    assert update.beacons == {}
    assert apply_user_update(LOW, update).permissions[BEACONS] == {"b1:80": ACCESS}
    # A level the target does hold is still removed only by a caller who may grant there.
    holds_nothing = LighthouseUser("mid@x", 4)
    assert _refused(holds_nothing, LOW, {"Beacons": {"b1:80": -1}}).failure is Failure.FORBIDDEN


def test_password_change_is_passed_through_and_empty_means_none():
    assert validate_user_update(BOSS, LOW, {"Password": "new"}).password == "new"
    assert validate_user_update(BOSS, LOW, {"Password": ""}).password is None
    assert validate_user_update(BOSS, LOW, None) == UserUpdate()


def test_malformed_beacons_are_400():
    assert _refused(BOSS, LOW, {"Beacons": ["b1:80"]}).failure is Failure.INVALID
    assert _refused(BOSS, LOW, {"Beacons": {"b1:80": "2"}}).failure is Failure.INVALID


# --- resource levels ------------------------------------------------------------


def test_missing_resource_reads_as_minus_one():
    assert resource_level(BOSS.permissions, BEACONS, "b1:80") == OWNER
    assert resource_level(BOSS.permissions, BEACONS, "other") == -1
    assert resource_level(BOSS.permissions, APPLICATIONS, "app") == -1
    assert resource_level({}, BEACONS, "b1:80") == -1


def test_set_resource_level_writes_and_negative_deletes():
    perms = set_resource_level({}, APPLICATIONS, "web", OWNER)
    assert perms == {BEACONS: {}, APPLICATIONS: {"web": OWNER}}
    perms = set_resource_level(perms, APPLICATIONS, "web", -1)
    assert perms[APPLICATIONS] == {}
    assert set_resource_level(perms, APPLICATIONS, "absent", -5)[APPLICATIONS] == {}


def test_can_grant_rules():
    assert can_grant(BOSS.permissions, BEACONS, "b1:80", OWNER)
    assert can_grant(BOSS.permissions, BEACONS, "b2:80", MODIFY)
    assert not can_grant(BOSS.permissions, BEACONS, "b2:80", OWNER)
    assert not can_grant(BOSS.permissions, BEACONS, "b3:80", ACCESS)
    assert can_grant(BOSS.permissions, BEACONS, "b2:80", -1)


# --- owners, and names ignoring case ----------------------------------------------------


def test_an_owner_is_demoted_or_removed_only_by_another_owner():
    manager = LighthouseUser("manager", 5, {BEACONS: {"b": MODIFY}, APPLICATIONS: {}})
    owner = LighthouseUser("owner", 1, {BEACONS: {"b": OWNER}, APPLICATIONS: {}})
    for level in (MODIFY, ACCESS, -1):
        with pytest.raises(UserLevelError) as info:
            validate_user_update(manager, owner, {BEACONS: {"b": level}})
        assert info.value.failure is Failure.FORBIDDEN
    other_owner = LighthouseUser("boss", 5, {BEACONS: {"b": OWNER}, APPLICATIONS: {}})
    assert validate_user_update(other_owner, owner, {BEACONS: {"b": -1}}).beacons == {"b": -1}
    assert can_change_holder({BEACONS: {"b": MODIFY}}, {BEACONS: {"b": MODIFY}}, BEACONS, "b")
    assert not can_change_holder({BEACONS: {"b": MODIFY}}, {BEACONS: {"b": OWNER}}, BEACONS, "b")


def test_a_user_is_itself_whatever_the_case():
    assert name_key("Boss@Example.com") == name_key("boss@example.com")
    me = LighthouseUser("Intern", 0)
    assert check_view(me, LighthouseUser("intern", 0))
