"""Rollout strategies, batches, check verdicts and the rolling state machine (no gRPC)."""

import pytest

from services.application.model import ModelError
from services.application.rollout import (
    AT_ONCE,
    FAILED,
    READY,
    ROLLED_OUT,
    WAITING,
    CheckSeen,
    Rollout,
    Strategy,
    batches,
    checks_verdict,
    parse_strategy,
)
from services.common.errors import Failure

HOSTS = ["a", "b", "c", "d", "e"]


@pytest.mark.parametrize(
    "args, expected",
    [
        (("",), AT_ONCE),
        (("all",), AT_ONCE),
        (("rolling",), Strategy("rolling", 1, 60.0)),
        (("rolling", "2"), Strategy("rolling", 2, 60.0)),
        (("rolling", "", "3", "1.5s"), Strategy("rolling", 3, 1.5)),
    ],
)
def test_strategies_parse(args, expected):
    assert parse_strategy(*args) == expected


@pytest.mark.parametrize(
    "args, message",
    [
        (("some",), 'strategy must be "all" or "rolling", got "some"'),
        (("all", "2"), "need strategy=rolling"),
        (("", "", "", "5s"), "need strategy=rolling"),
        (("rolling", "2", "2"), "give batch or maxUnavailable, not both"),
        (("rolling", "two"), 'batch must be an integer, got "two"'),
        (("rolling", "0"), "batch must be at least 1"),
        (("rolling", "", "-1"), "maxUnavailable must be at least 1"),
        (("rolling", "", "", "soon"), 'deadline: time: invalid duration "soon"'),
        (("rolling", "", "", "0s"), "deadline must be more than 0s and at most 1h"),
        (("rolling", "", "", "2h"), "deadline must be more than 0s and at most 1h"),
    ],
)
def test_bad_strategies_are_refused(args, message):
    with pytest.raises(ModelError, match=message) as caught:
        parse_strategy(*args)
    assert caught.value.failure is Failure.INVALID


def test_batches_cut_the_instances_in_order():
    assert batches(HOSTS, AT_ONCE) == [HOSTS]
    assert batches(HOSTS, Strategy("rolling", 2)) == [["a", "b"], ["c", "d"], ["e"]]
    assert batches(HOSTS, Strategy("rolling", 9)) == [HOSTS]
    assert batches([], Strategy("rolling", 2)) == []


def seen(status="up", successes=0, failures=0, change="1", name="ready"):
    return CheckSeen(name, status, successes, failures, change)


def test_no_checks_means_ready_once_started():
    assert checks_verdict([], {}, {}) == (READY, "started")


@pytest.mark.parametrize(
    "before, now, verdict",
    [
        (None, None, WAITING),  # not shown yet
        (None, seen(successes=0), WAITING),  # a new run that has not succeeded yet
        (None, seen(successes=1), READY),
        (seen(successes=4), seen(successes=4), WAITING),  # the run from before the start: needs a new success
        (seen(successes=4), seen(successes=5), READY),
        (seen(successes=4, change="1"), seen(successes=1, change="2"), READY),  # a new run
        (seen(successes=4, change="1"), seen(successes=0, change="2"), WAITING),
        (None, seen("down", failures=1), FAILED),
        (seen("down", failures=3), seen("down", failures=3), WAITING),  # down from before: not yet counted again
        (seen("down", failures=3), seen("down", failures=4), FAILED),
        (seen("down", failures=3, change="1"), seen("down", failures=3, change="2"), FAILED),
        (seen("down", failures=3), seen("up", successes=1, change="3"), READY),  # recovered
    ],
)
def test_a_check_passes_only_with_a_success_since_the_start(before, now, verdict):
    got, why = checks_verdict(["ready"], {"ready": before} if before else {}, {"ready": now} if now else {})
    assert got == verdict, why


def test_every_check_must_pass_and_the_verdict_says_which_waits_or_failed():
    now = {"a": seen(successes=1, name="a"), "b": seen(successes=0, name="b")}
    assert checks_verdict(["a", "b"], {}, now) == (WAITING, "waiting for check(s) b")
    now["b"] = seen("down", failures=2, name="b")
    assert checks_verdict(["a", "b"], {}, now) == (FAILED, "check b is down (2 failure(s))")
    now["b"] = seen(successes=1, name="b")
    assert checks_verdict(["a", "b"], {}, now) == (READY, "checks up")


def test_a_rollout_that_succeeds_updates_every_batch_and_rolls_nothing_back():
    rollout = Rollout(batches(HOSTS, Strategy("rolling", 2)))
    seen_batches = []
    while batch := rollout.next_batch():
        seen_batches.append(batch)
        rollout.batch_done({})
    assert seen_batches == [["a", "b"], ["c", "d"], ["e"]]
    assert rollout.finished and not rollout.stopped
    assert rollout.to_roll_back == [] and rollout.untouched == []
    assert rollout.outcome() == ROLLED_OUT


def test_the_first_failure_stops_the_rollout_and_rolls_back_what_was_updated():
    rollout = Rollout(batches(HOSTS, Strategy("rolling", 2)))
    rollout.batch_done({})
    assert rollout.next_batch() == ["c", "d"]
    rollout.batch_done({"d": "check ready is down (1 failure(s))"})
    assert rollout.stopped and rollout.finished and rollout.next_batch() == []
    assert rollout.to_roll_back == ["a", "b", "c", "d"]
    assert rollout.untouched == ["e"]
    assert rollout.outcome() == "rolled back: d: check ready is down (1 failure(s))"
    assert rollout.outcome(["c"]) == "rolled back: d: check ready is down (1 failure(s)) (rollback failed on c)"
    with pytest.raises(RuntimeError):
        rollout.batch_done({})


def test_a_failure_in_the_first_batch_leaves_the_others_untouched():
    rollout = Rollout(batches(HOSTS, Strategy("rolling", 1)))
    rollout.batch_done({"a": "restart did not finish within the deadline"})
    assert rollout.to_roll_back == ["a"] and rollout.untouched == ["b", "c", "d", "e"]
