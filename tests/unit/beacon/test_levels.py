import pytest

from services.beacon.levels import ACCESS, MODIFY, NO_ACCESS, OWNER, check_min_level, levels_for


def test_a_users_levels_are_its_own_and_missing_reads_as_no_access():
    held = levels_for(True, "read", {"a:1": MODIFY}, {"web": OWNER})
    assert held.beacon("a:1") == MODIFY
    assert held.beacon("b:1") == NO_ACCESS
    assert held.application("web") == OWNER
    assert held.application("db") == NO_ACCESS


def test_a_lighthouse_user_gets_nothing_from_its_access_level():
    held = levels_for(True, "admin", {}, {})
    assert held.beacon("a:1") == NO_ACCESS


def test_the_machine_operator_owns_everything():
    held = levels_for(False, "admin")
    assert held.beacon("any:1") == OWNER and held.application("any") == OWNER


@pytest.mark.parametrize("access", ["read", "metrics", "untrusted", ""])
def test_other_non_users_hold_nothing(access):
    held = levels_for(False, access)
    assert held.beacon("a:1") == NO_ACCESS and held.application("web") == NO_ACCESS


def test_min_level_is_access_modify_or_owner():
    assert [check_min_level(n) for n in (ACCESS, MODIFY, OWNER)] == [0, 1, 2]
    for bad in (-1, 3):
        with pytest.raises(ValueError):
            check_min_level(bad)
