"""Shoal's opt-in supervision (README "Supervision beyond Pebble"), without
gRPC: the fields in layers (parsed, validated, merged, dumped), the
supervisor's one-shot, restart-limit and start-retries state machines with
real processes, and the health-gating rules."""

from __future__ import annotations

import asyncio
import time

import pytest

from services.plan.gating import (
    FAILED,
    MET,
    WAITING,
    CheckView,
    DependencyError,
    Observation,
    dependencies_to_wait_for,
    judge,
    wait_for_dependencies,
)
from services.plan.plan.dump import plan_to_yaml
from services.plan.plan.errors import LayerError, PlanError
from services.plan.plan.merge import build_plan
from services.plan.plan.model import Service
from services.plan.plan.parse import parse_layer
from services.plan.supervisor import StartError, Supervisor

FAST = 0.4  # okay delay: long enough for a quick `sh -c` to exit within it on a busy machine

FULL = """
services:
  db:
    override: replace
    command: sleep 10
    ready-checks: [db-up]
    ready-timeout: 5s
    restart-limit: 3
    restart-window: 1m
    start-retries: 2
  migrate:
    override: replace
    command: /bin/true
    kind: one-shot
  app:
    override: replace
    command: sleep 10
    requires: [db, migrate]
    after: [db, migrate]
checks:
  db-up:
    override: replace
    level: ready
    tcp: {port: 5432}
"""


def plan_of(*texts: str):
    return build_plan([parse_layer(i + 1, f"l{i}", t) for i, t in enumerate(texts)])


def one_service(fields: str) -> str:
    return "services:\n  s:\n    override: replace\n    command: sleep 1\n" + "".join(
        f"    {line}\n" for line in fields.splitlines())


# -- layers ----------------------------------------------------------------------


def test_the_fields_are_read_and_shown_in_the_plan():
    plan = plan_of(FULL)
    db = plan.services["db"]
    assert (db.ready_checks, db.ready_timeout, db.restart_limit, db.restart_window, db.start_retries) == (
        ["db-up"], 5.0, 3, 60.0, 2)
    assert plan.services["migrate"].one_shot
    text = plan_to_yaml(plan)
    assert "ready-checks:\n            - db-up\n        ready-timeout: 5s\n        restart-limit: 3\n" \
           "        restart-window: 1m0s\n        start-retries: 2\n" in text
    assert "kind: one-shot" in text
    assert plan_of(text.replace("services:", "services:", 1)).services == plan.services  # reads back


def test_a_layer_without_the_fields_shows_none_of_them():
    text = plan_to_yaml(plan_of(one_service("")))
    for key in ("kind", "ready-", "restart-", "start-retries"):
        assert key not in text


@pytest.mark.parametrize(("fields", "message"), [
    ("kind: oneshot", 'plan service "s" kind must be "long-running" or "one-shot", not "oneshot"'),
    ("restart-limit: -1", 'plan service "s" restart-limit must be between 0 and 1000000, not -1'),
    ("start-retries: 101", 'plan service "s" start-retries must be between 0 and 100, not 101'),
    ("ready-timeout: 0s", 'plan service "s" ready-timeout must be greater than zero, not 0s'),
    ("restart-window: -1s", 'plan service "s" restart-window must be greater than zero, not -1s'),
    ("ready-checks: ['']", 'plan service "s" ready-checks cannot name an empty check'),
    ("restart-limit: three", "cannot unmarshal !!str `three` into int"),
    ("ready-timeout: soon", 'invalid duration "soon"'),
    ("ready-checks: x", "cannot unmarshal !!str `x` into []string"),
])
def test_bad_values_are_refused_by_the_layer(fields, message):
    with pytest.raises(LayerError) as info:
        parse_layer(1, "l", one_service(fields))
    assert message in str(info.value)


@pytest.mark.parametrize(("fields", "message"), [
    ("ready-checks: [nope]", 'plan service "s" ready-checks names non-existent check "nope"'),
    ("ready-checks: [alive]", 'plan service "s" ready-checks names check "alive", which is not level "ready"'),
    ("kind: one-shot\nready-checks: [ready]", 'plan service "s" is one-shot: its dependents wait for it'),
    ("ready-timeout: 3s", 'plan service "s" ready-timeout needs ready-checks or kind one-shot'),
    ("restart-window: 3s", 'plan service "s" restart-window needs restart-limit'),
])
def test_fields_that_do_not_fit_the_plan_are_refused(fields, message):
    checks = ("checks:\n  alive:\n    override: replace\n    level: alive\n    exec: {command: 'true'}\n"
              "  ready:\n    override: replace\n    level: ready\n    exec: {command: 'true'}\n")
    with pytest.raises(PlanError) as info:
        plan_of(one_service(fields) + checks)
    assert message in str(info.value)


def test_layers_merge_the_fields_as_pebble_merges_service_fields():
    base = one_service("kind: one-shot\nrestart-limit: 2\nready-timeout: 10s")
    over = ("services:\n  s:\n    override: merge\n    restart-limit: 5\n"
            "checks:\n  c:\n    override: replace\n    level: ready\n    exec: {command: 'true'}\n")
    merged = plan_of(base, over).services["s"]
    assert (merged.kind, merged.restart_limit, merged.ready_timeout) == ("one-shot", 5, 10.0)
    lists = plan_of(
        one_service("ready-checks: [c]") + "checks:\n  c:\n    override: replace\n    level: ready\n"
        "    exec: {command: 'true'}\n  d:\n    override: replace\n    level: ready\n    exec: {command: 'true'}\n",
        "services:\n  s:\n    override: merge\n    ready-checks: [d]\n",
    )
    assert lists.services["s"].ready_checks == ["c", "d"]  # appended, as after/before/requires
    replaced = plan_of(base, "services:\n  s:\n    override: replace\n    command: sleep 2\n").services["s"]
    assert (replaced.kind, replaced.restart_limit) == ("", None)


# -- supervisor: one-shot, restart-limit, start-retries -----------------------------


@pytest.fixture
async def sup_and_limits(tmp_path):
    limits: list[tuple[str, int, float]] = []
    supervisor = Supervisor(tmp_path / "pids.json", okay_delay=FAST, kill_grace=2.0,
                            on_restart_limit=lambda *args: limits.append(args))
    yield supervisor, limits
    await supervisor.stop_all()


async def until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def svc(name: str, command: str, **fields) -> Service:
    fields.setdefault("kill_delay", 1.0)
    fields.setdefault("backoff_delay", 0.05)
    return Service(name=name, command=command, **fields)


async def test_a_one_shot_service_that_exits_0_within_the_okay_delay_is_done(sup_and_limits):
    sup, _ = sup_and_limits
    assert await sup.start(svc("m", "/bin/true", kind="one-shot")) is True
    await until(lambda: sup.state("m") == "done")
    assert sup.status("m").current == "done"
    await asyncio.sleep(0.3)
    assert sup.start_count("m") == 1  # not restarted
    assert await sup.stop("m") == 'Service "m" had already exited.'
    assert sup.status("m").current == "inactive"


async def test_a_one_shot_service_that_runs_past_the_okay_delay_is_done_when_it_exits_0(sup_and_limits):
    sup, _ = sup_and_limits
    await sup.start(svc("m", "sleep 0.8", kind="one-shot"))
    assert sup.status("m").current == "active"
    await until(lambda: sup.status("m").current == "done")
    assert sup.start_count("m") == 1


async def test_a_one_shot_service_that_fails_follows_on_failure(sup_and_limits):
    sup, _ = sup_and_limits
    with pytest.raises(StartError, match="exited quickly with code 3, will ignore"):
        await sup.start(svc("m", "sh -c 'exit 3'", kind="one-shot", on_failure="ignore"))
    assert sup.status("m").current == "error"
    assert sup.exit_code("m") == 3


async def test_a_long_running_service_that_exits_0_is_restarted_as_in_pebble(sup_and_limits):
    sup, _ = sup_and_limits
    await sup.start(svc("l", "sh -c 'sleep 0.5'"))
    await until(lambda: sup.start_count("l") >= 2)


async def test_past_its_restart_limit_a_service_is_error_stays_stopped_and_is_reported(sup_and_limits):
    sup, limits = sup_and_limits
    await sup.start(svc("f", "sh -c 'sleep 0.5; exit 1'", restart_limit=2, restart_window=30.0,
                        backoff_delay=0.05))
    await until(lambda: sup.state("f") == "failed", timeout=8)
    assert sup.status("f").current == "error"
    assert sup.start_count("f") == 3  # the start and 2 restarts
    assert limits == [("f", 2, 30.0)]
    await asyncio.sleep(0.4)
    assert sup.start_count("f") == 3 and sup.pid("f") is None
    # a start asked for gets the whole limit again
    await sup.start(svc("f", "sleep 5", restart_limit=2, restart_window=30.0))
    assert sup.status("f").current == "active"


async def test_restarts_for_a_failed_check_count_towards_the_limit(sup_and_limits):
    sup, limits = sup_and_limits
    await sup.start(svc("c", "sleep 30", restart_limit=1, restart_window=30.0, backoff_delay=0.05))
    await sup.check_failed("c", "restart")
    await until(lambda: sup.start_count("c") == 2 and sup.state("c") == "running")
    await sup.check_failed("c", "restart")
    await until(lambda: sup.state("c") == "failed")
    assert sup.status("c").current == "error" and sup.pid("c") is None
    assert limits == [("c", 1, 30.0)]


async def test_restarts_outside_the_window_do_not_count(sup_and_limits):
    sup, limits = sup_and_limits
    await sup.start(svc("f", "sh -c 'sleep 0.5; exit 1'", restart_limit=1, restart_window=0.3,
                        backoff_delay=0.05))
    await until(lambda: sup.start_count("f") >= 4, timeout=8)
    assert limits == [] and sup.state("f") != "failed"


async def test_a_restart_limit_of_zero_never_restarts(sup_and_limits):
    sup, limits = sup_and_limits
    with pytest.raises(StartError, match="used up its restart-limit"):
        await sup.start(svc("f", "sh -c 'exit 1'", restart_limit=0))
    assert sup.status("f").current == "error" and len(limits) == 1


async def test_start_retries_retry_a_quick_exit_within_the_same_start(sup_and_limits, tmp_path):
    sup, _ = sup_and_limits
    marker = tmp_path / "tries"
    # fails twice within the okay delay, then stays up
    command = f"sh -c 'echo x >> {marker}; test $(wc -l < {marker}) -ge 3 || exit 4; sleep 5'"
    said: list[str] = []
    assert await sup.start(svc("r", command, start_retries=3), task_log=said.append) is True
    assert sup.status("r").current == "active"
    assert sup.start_count("r") == 3
    assert len(said) == 2 and said[0].startswith("Service exited quickly with code 4; start retry 1 of 3 in ")
    assert said[1].startswith("Service exited quickly with code 4; start retry 2 of 3 in ")


async def test_start_retries_used_up_fail_the_start(sup_and_limits):
    sup, _ = sup_and_limits
    said: list[str] = []
    with pytest.raises(StartError, match="exited quickly with code 1, will restart"):
        await sup.start(svc("r", "sh -c 'exit 1'", start_retries=2), task_log=said.append)
    assert len(said) == 2 and sup.start_count("r") == 3


async def test_a_stop_during_a_start_retry_ends_the_start(sup_and_limits):
    sup, _ = sup_and_limits
    start = asyncio.ensure_future(sup.start(svc("r", "sh -c 'exit 1'", start_retries=5, backoff_delay=1.0)))
    await until(lambda: sup.state("r") == "backoff")
    await sup.stop("r")
    with pytest.raises(StartError, match="stopped or aborted before its retry"):
        await start
    assert sup.status("r").current == "inactive"


async def test_without_start_retries_a_quick_exit_fails_the_start_as_in_pebble(sup_and_limits):
    sup, _ = sup_and_limits
    with pytest.raises(StartError, match="exited quickly with code 1, will restart"):
        await sup.start(svc("r", "sh -c 'exit 1'"))
    assert sup.start_count("r") == 1


# -- gating ---------------------------------------------------------------------------


def test_a_dependent_waits_for_gating_dependencies_it_requires_or_comes_after():
    plan = plan_of(FULL, "services:\n  plain:\n    override: replace\n    command: sleep 1\n"
                   "  late:\n    override: replace\n    command: sleep 1\n    after: [db, plain]\n")
    assert dependencies_to_wait_for(plan, "app", ["app", "db", "migrate"], []) == ["db", "migrate"]
    assert dependencies_to_wait_for(plan, "late", ["late"], []) == []  # db is not being started
    assert dependencies_to_wait_for(plan, "late", ["late"], ["db"]) == ["db"]
    assert dependencies_to_wait_for(plan, "db", ["db"], []) == []


ONE_SHOT = Service("m", command="x", kind="one-shot")
GATED = Service("db", command="x", ready_checks=["up"])


@pytest.mark.parametrize(("dependency", "seen", "verdict", "why"), [
    (ONE_SHOT, Observation(None), WAITING, "it has not been started"),
    (ONE_SHOT, Observation("running"), WAITING, "it is still running"),
    (ONE_SHOT, Observation("done", 0), MET, "it exited with code 0"),
    (ONE_SHOT, Observation("exited", 2), FAILED, "it exited with code 2"),
    (ONE_SHOT, Observation("backoff", 2), WAITING, "it is backing off after exiting with code 2"),
    (ONE_SHOT, Observation("failed", 2), FAILED, "it used up its restart-limit"),
    (ONE_SHOT, Observation("stopped"), FAILED, "it was stopped before it completed"),
    (GATED, Observation("running"), WAITING, 'check "up" is not running'),
    (GATED, Observation("running", checks={"up": CheckView("up", 0)}), WAITING, 'check "up" has not passed yet'),
    (GATED, Observation("running", checks={"up": CheckView("up", 0, "dial tcp: refused")}), WAITING,
     'check "up" is failing: dial tcp: refused'),
    (GATED, Observation("running", checks={"up": CheckView("up", 1)}), MET, "its ready checks passed"),
    (GATED, Observation("stopped", checks={"up": CheckView("up", 1)}), FAILED, "it is not running"),
])
def test_judge(dependency, seen, verdict, why):
    assert judge(dependency, seen) == (verdict, why)


async def test_the_wait_ends_when_the_dependency_is_ready_and_logs_what_it_waited_for():
    plan = plan_of(FULL)
    seen = {"db": Observation("running", checks={"db-up": CheckView("up", 0, "refused")}),
            "migrate": Observation("done", 0)}
    said: list[str] = []

    async def later():
        await asyncio.sleep(0.2)
        seen["db"] = Observation("running", checks={"db-up": CheckView("up", 1)})

    asyncio.ensure_future(later())
    await wait_for_dependencies(plan, "app", ["db", "migrate"], seen.__getitem__, task_log=said.append)
    assert said[0] == 'Waiting up to 5s for service "db": its ready checks "db-up" to pass.'
    assert said[1].startswith('Service "db" is ready (its ready checks passed) after ')
    assert said[2] == 'Waiting up to 30s for service "migrate": to exit with code 0 (one-shot).'
    assert said[3].startswith('Service "migrate" is ready (it exited with code 0) after ')


async def test_the_wait_fails_naming_the_dependency_on_failure_or_timeout():
    plan = plan_of(FULL.replace("ready-timeout: 5s", "ready-timeout: 200ms"))
    with pytest.raises(DependencyError, match='dependency "migrate" failed: it exited with code 1'):
        await wait_for_dependencies(plan, "app", ["migrate"], lambda _: Observation("exited", 1),
                                    task_log=lambda _: None)
    began = time.monotonic()
    failing = Observation("running", checks={"db-up": CheckView("down", 0, "connection refused")})
    with pytest.raises(DependencyError) as info:
        await wait_for_dependencies(plan, "app", ["db"], lambda _: failing, task_log=lambda _: None)
    assert info.value.message == ('dependency "db" not ready after 200ms: '
                                  'check "db-up" is failing: connection refused')
    assert 0.15 < time.monotonic() - began < 2


async def test_an_aborted_wait_ends_at_once():
    plan = plan_of(FULL)
    aborted = asyncio.Event()
    aborted.set()
    with pytest.raises(DependencyError, match='start aborted while waiting for dependency "db"'):
        await wait_for_dependencies(plan, "app", ["db"], lambda _: Observation(None),
                                    task_log=lambda _: None, aborted=aborted)
