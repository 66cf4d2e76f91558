import pytest

from services.application.model import (
    NO_PREVIOUS,
    NOT_THIS_APP,
    UNKNOWN_DEPLOYMENT,
    Deployment,
    ModelError,
    check_name,
    history,
    merge_instances,
    parse_count,
    parse_ref,
    parse_target,
    revert_target,
)
from services.common.errors import Failure


def d(id_, app=1):
    return Deployment(id_, app, {"command": f"run {id_}"}, "ann", "2026-01-01T00:00:00Z")


def test_id_is_a_number_or_a_name():
    assert parse_ref("12") == 12
    assert parse_ref("web") == "web"


@pytest.mark.parametrize("name", ["web", "Web_2", "a-b"])
def test_names_are_service_names(name):
    assert check_name(name) == name


@pytest.mark.parametrize("name", ["", "1web", "-web", "we b", "web/x", "a" * 64, "app.x"])
def test_other_names_are_refused(name):
    with pytest.raises(ModelError) as caught:
        check_name(name)
    assert caught.value.failure is Failure.INVALID


def test_history_is_newest_first_numbered_from_the_oldest():
    out = history([d(7), d(3), d(9)])
    assert [(x.id, v) for x, v in out] == [(9, 3), (7, 2), (3, 1)]
    assert [(x.id, v) for x, v in history([d(7), d(3), d(9)], 2)] == [(9, 3), (7, 2)]
    assert history([d(1)], 0) == []


def test_count_is_all_or_a_non_negative_integer():
    assert parse_count("") is None
    assert parse_count("0") == 0 and parse_count("5") == 5
    for bad in ("-1", "x", "1.5"):
        with pytest.raises(ModelError):
            parse_count(bad)


def test_revert_to_an_id_of_this_application():
    assert revert_target(1, [3, 5, 8], 5, owner_of_target=1) == 5


def test_revert_to_an_unknown_id_is_404_and_anothers_is_400():
    with pytest.raises(ModelError) as caught:
        revert_target(1, [3], 99, owner_of_target=None)
    assert (caught.value.failure, caught.value.message) == (Failure.NOT_FOUND, UNKNOWN_DEPLOYMENT)
    with pytest.raises(ModelError) as caught:
        revert_target(1, [3], 4, owner_of_target=2)
    assert (caught.value.failure, caught.value.message) == (Failure.INVALID, NOT_THIS_APP)


def test_negative_targets_count_back_from_the_newest():
    assert revert_target(1, [3, 5, 8], -1, None) == 5
    assert revert_target(1, [8, 3, 5], -2, None) == 3
    with pytest.raises(ModelError, match=NO_PREVIOUS):
        revert_target(1, [3, 5, 8], -3, None)
    with pytest.raises(ModelError, match=NO_PREVIOUS):
        revert_target(1, [3], -1, None)


def test_target_defaults_to_one_step_back():
    assert parse_target("") == -1 and parse_target("4") == 4
    with pytest.raises(ModelError):
        parse_target("last")


def test_instances_merge_keeps_order_and_drops_duplicates():
    assert merge_instances(["a", "b"], add=["c", "a", "c"]) == ["a", "b", "c"]
    assert merge_instances(["a", "b", "c"], remove=["b"]) == ["a", "c"]
    assert merge_instances(["a"], add=["b"], remove=["a", "b"]) == []
