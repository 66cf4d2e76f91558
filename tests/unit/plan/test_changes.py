"""The pure model of changes and tasks: status, err text, lanes, abort, wait, persistence.
The running and aborting rules are Pebble's task runner's (no undo handlers)."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import timedelta

import pytest

from services.common.errors import Failure
from services.common.times import utcnow
from services.plan.changes.manager import NOTIFY, RESTART_LOG, ChangeManager, TaskSpec
from services.plan.changes.model import (
    Change,
    ChangeInvalid,
    ChangeNotFound,
    ChangeWaitTimeout,
    Task,
    aggregate_status,
)
from services.plan.notices import NoticeBook


class Recorder:
    """Handlers for test tasks: `ok` succeeds, `fail` raises, `block` waits for release."""

    def __init__(self) -> None:
        self.order: list[str] = []
        self.started: dict[str, asyncio.Event] = {}
        self.release: dict[str, asyncio.Event] = {}
        self.cancelled: list[str] = []

    def started_event(self, name: str) -> asyncio.Event:
        return self.started.setdefault(name, asyncio.Event())

    def release_event(self, name: str) -> asyncio.Event:
        return self.release.setdefault(name, asyncio.Event())

    async def ok(self, task: Task, change: Change) -> None:
        self.order.append(task.data["name"])
        task.log_info(f"did {task.data['name']}")

    async def fail(self, task: Task, change: Change) -> None:
        self.order.append(task.data["name"])
        raise RuntimeError(f"{task.data['name']} went wrong")

    async def block(self, task: Task, change: Change) -> None:
        name = task.data["name"]
        self.order.append(name)
        self.started_event(name).set()
        try:
            await self.release_event(name).wait()
        except asyncio.CancelledError:
            self.cancelled.append(name)
            raise


async def until(condition, timeout: float = 5) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.001)


def spec(kind: str, name: str) -> TaskSpec:
    return TaskSpec(kind, f"{kind.title()} {name}", {"name": name})


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


@pytest.fixture
async def mgr(rec: Recorder):
    m = ChangeManager()
    m.register("ok", rec.ok)
    m.register("fail", rec.fail)
    m.register("block", rec.block)
    yield m
    await m.close()


def by_name(change: Change) -> dict[str, str]:
    return {t.data["name"]: t.status for t in change.tasks}


# --- status aggregation ------------------------------------------------------


def tasks_with(*statuses: str) -> list[Task]:
    return [Task(id=str(i), kind="k", summary="s", status=s) for i, s in enumerate(statuses, 1)]


@pytest.mark.parametrize(
    "statuses, expected",
    [
        ((), "Hold"),
        (("Abort", "Undoing", "Undo", "Doing", "Do", "Error", "Undone", "Done", "Hold"), "Abort"),
        (("Undoing", "Undo", "Doing", "Do", "Error", "Done"), "Undoing"),
        (("Undo", "Doing", "Do", "Error"), "Undo"),
        (("Doing", "Do", "Error", "Done"), "Doing"),
        (("Do", "Error", "Undone", "Done", "Hold"), "Do"),
        (("Wait", "Error", "Done"), "Wait"),
        (("Error", "Undone", "Done", "Hold"), "Error"),
        (("Undone", "Done", "Hold"), "Undone"),
        (("Done", "Hold"), "Done"),
        (("Hold", "Hold"), "Hold"),
        (("Done",), "Done"),
    ],
)
def test_change_status_is_highest_priority_task_status(statuses, expected):
    assert aggregate_status(tasks_with(*statuses)) == expected


def test_wait_beats_do_only_when_every_do_task_is_blocked_behind_it():
    waiting, blocked = tasks_with("Wait", "Do")
    blocked.wait_tasks = [waiting.id]
    assert aggregate_status([waiting, blocked]) == "Wait"
    free = Task(id="3", kind="k", summary="s", status="Do")
    assert aggregate_status([waiting, blocked, free]) == "Do"


def test_change_without_tasks_is_hold_unless_set():
    assert Change(id="1", kind="replan", summary="x").status == "Hold"
    assert Change(id="1", kind="replan", summary="x", explicit_status="Done").status == "Done"


def test_ready_statuses():
    for status, ready in [
        ("Do", False), ("Doing", False), ("Abort", False), ("Undo", False),
        ("Undoing", False), ("Wait", False),
        ("Done", True), ("Undone", True), ("Hold", True), ("Error", True),
    ]:  # fmt: skip
        assert Task(id="1", kind="k", summary="s", status=status).ready is ready


# --- task log, progress, err ---------------------------------------------------


LOG_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d) (INFO|ERROR) (.*)$")


def test_task_log_format_and_only_last_ten_kept():
    task = Task(id="1", kind="k", summary="s")
    for i in range(12):
        task.log_info(f"line {i}")
    task.log_error("bad thing")
    assert len(task.log) == 10
    assert all(LOG_RE.match(entry) for entry in task.log)
    assert LOG_RE.match(task.log[0]).group(3) == "line 3"
    assert LOG_RE.match(task.log[-1]).group(2, 3) == ("ERROR", "bad thing")


def test_progress_defaults_depend_on_status():
    task = Task(id="1", kind="k", summary="s")
    assert task.to_api()["progress"] == {"label": "", "done": 0, "total": 1}
    task.status = "Doing"
    assert task.to_api()["progress"] == {"label": "", "done": 1, "total": 1}
    task.set_progress("copying", 3, 10)
    assert task.to_api()["progress"] == {"label": "copying", "done": 3, "total": 10}


def test_err_lists_each_error_log_entry_of_each_errored_task():
    t1, t2, t3 = tasks_with("Error", "Error", "Undone")
    t1.summary, t2.summary, t3.summary = 'Start service "a"', 'Start service "b"', "Other"
    t1.log_info("starting")
    t1.log_error("first problem")
    t1.log_error("second problem")
    t2.log_error("exited quickly")
    t3.log_error("not reported: task not in Error")
    change = Change(id="1", kind="start", summary="Start", tasks=[t1, t2, t3])
    assert change.err == (
        "cannot perform the following tasks:\n"
        '- Start service "a" (first problem)\n'
        '- Start service "a" (second problem)\n'
        '- Start service "b" (exited quickly)'
    )
    assert change.to_api()["err"] == change.err


def test_no_err_unless_status_error():
    (t1,) = tasks_with("Hold")
    t1.log_error("held but logged an error")
    change = Change(id="1", kind="start", summary="Start", tasks=[t1])
    assert change.err is None
    assert "err" not in change.to_api()


# --- running ---------------------------------------------------------------------


async def test_tasks_of_a_lane_run_in_order_and_change_ends_done(mgr, rec):
    change = mgr.create(
        "start", 'Start service "a" and 1 more', [[spec("ok", "a"), spec("ok", "b")]]
    )
    assert change.id == "1" and [t.id for t in change.tasks] == ["1", "2"]
    assert change.status == "Do" and not change.ready
    await mgr.wait(change.id, 5)
    assert rec.order == ["a", "b"]
    assert change.status == "Done" and change.ready and change.ready_time is not None
    api = change.to_api()
    assert api["ready"] is True and "err" not in api and "ready-time" in api
    assert [t["status"] for t in api["tasks"]] == ["Done", "Done"]
    assert LOG_RE.match(api["tasks"][0]["log"][0]).group(3) == "did a"


async def test_ids_come_from_independent_counters(mgr):
    c1 = mgr.create("start", "one", [[spec("ok", "a")], [spec("ok", "b")]])
    c2 = mgr.create("stop", "two", [[spec("ok", "c")]])
    assert (c1.id, c2.id) == ("1", "2")
    assert [t.id for t in c1.tasks + c2.tasks] == ["1", "2", "3"]
    assert c1.tasks[0].lanes != c1.tasks[1].lanes
    await mgr.wait(c2.id, 5)
    assert mgr.last_ids == {"change": 2, "task": 3, "lane": 3}


async def test_lanes_run_concurrently(mgr, rec):
    change = mgr.create("start", "Start", [[spec("block", "a")], [spec("block", "b")]])
    await asyncio.wait_for(rec.started_event("a").wait(), 5)
    await asyncio.wait_for(rec.started_event("b").wait(), 5)
    assert by_name(change) == {"a": "Doing", "b": "Doing"}
    assert change.status == "Doing"
    rec.release_event("a").set()
    rec.release_event("b").set()
    await mgr.wait(change.id, 5)
    assert change.status == "Done"


async def test_failure_holds_rest_of_its_lane_but_spares_done_tasks_and_other_lanes(mgr, rec):
    change = mgr.create(
        "start",
        "Start",
        [
            [spec("ok", "a1"), spec("fail", "a2"), spec("ok", "a3")],
            [spec("ok", "b1"), spec("ok", "b2")],
        ],
    )
    await mgr.wait(change.id, 5)
    assert by_name(change) == {
        "a1": "Done",  # aborted (Undo), and back to Done: nothing undoes it
        "a2": "Error",
        "a3": "Hold",
        "b1": "Done",
        "b2": "Done",
    }
    assert "a3" not in rec.order
    assert change.status == "Error"
    assert change.err == "cannot perform the following tasks:\n- Fail a2 (a2 went wrong)"
    failed = change.tasks[1]
    assert LOG_RE.match(failed.log[-1]).group(2, 3) == ("ERROR", "a2 went wrong")


async def test_then_lanes_wait_for_every_task_of_the_first_group(mgr, rec):
    change = mgr.create(
        "restart",
        "Restart",
        [[spec("block", "stop-a")], [spec("ok", "stop-b")]],
        then=[[spec("ok", "start-a")], [spec("ok", "start-b")]],
    )
    await asyncio.wait_for(rec.started_event("stop-a").wait(), 5)
    await asyncio.sleep(0.01)
    assert "start-a" not in rec.order and "start-b" not in rec.order
    rec.release_event("stop-a").set()
    await mgr.wait(change.id, 5)
    assert rec.order.index("start-a") > rec.order.index("stop-a")
    assert rec.order.index("start-b") > rec.order.index("stop-a")
    assert change.status == "Done"


async def test_failed_first_group_task_holds_the_waiting_lanes(mgr, rec):
    change = mgr.create(
        "restart",
        "Restart",
        [[spec("fail", "stop-a")], [spec("ok", "stop-b")]],
        then=[[spec("ok", "start-a")], [spec("ok", "start-b")]],
    )
    await mgr.wait(change.id, 5)
    assert by_name(change) == {
        "stop-a": "Error",
        "stop-b": "Done",
        "start-a": "Hold",
        "start-b": "Hold",
    }
    assert change.status == "Error"


async def test_handlers_may_set_progress_and_data(mgr):
    async def exec_handler(task: Task, change: Change) -> None:
        task.set_progress("running", 1, 2)
        task.set_api_data({"exit-code": 42})

    mgr.register("exec", exec_handler)
    change = mgr.create("exec", "Execute command", [[TaskSpec("exec", "Execute command")]])
    await mgr.wait(change.id, 5)
    task_api = change.to_api()["tasks"][0]
    assert task_api["data"] == {"exit-code": 42}
    assert task_api["progress"] == {"label": "running", "done": 1, "total": 2}


def test_unknown_task_kind_is_refused():
    with pytest.raises(ValueError, match="nope"):
        ChangeManager().create("x", "x", [[TaskSpec("nope", "Nope")]])


async def test_change_with_no_tasks_can_be_created_done():
    seen = []
    mgr = ChangeManager(on_status_change=lambda c, old, new: seen.append((old, new)))
    change = mgr.create("replan", "Replan - no services", status="Done")
    assert change.status == "Done" and change.ready and change.ready_time is not None
    api = change.to_api()
    assert "tasks" not in api and "data" not in api
    assert api["status"] == "Done" and api["ready"] is True
    assert seen == [("", "Hold"), ("", "Done")]  # spawned, then set Done: two notices
    assert await mgr.wait(change.id) is change


# --- abort -------------------------------------------------------------------------


async def test_abort_holds_do_and_cancels_doing(mgr, rec):
    change = mgr.create("start", "Start", [[spec("block", "a"), spec("ok", "b")]])
    await asyncio.wait_for(rec.started_event("a").wait(), 5)
    assert mgr.abort(change.id) is change
    assert by_name(change) == {"a": "Abort", "b": "Hold"}
    assert change.status == "Abort" and not change.ready
    api = change.to_api()
    assert "ready-time" not in api and "ready-time" not in api["tasks"][0]  # Abort is not ready
    assert "ready-time" in api["tasks"][1]  # Hold is
    await mgr.wait(change.id, 5)
    assert rec.cancelled == ["a"]
    assert by_name(change) == {"a": "Done", "b": "Hold"}  # cancelled as told: it stopped
    assert change.status == "Done"
    assert "b" not in rec.order


async def test_abort_of_done_tasks_undoes_them_back_to_done(mgr, rec):
    change = mgr.create("start", "Start", [[spec("ok", "a")], [spec("block", "b")]])
    await asyncio.wait_for(rec.started_event("b").wait(), 5)
    await until(lambda: by_name(change)["a"] == "Done")
    mgr.abort(change.id)
    await mgr.wait(change.id, 5)
    assert by_name(change) == {"a": "Done", "b": "Done"}


async def test_an_undo_task_waits_for_the_tasks_waiting_for_it(mgr, rec):
    change = mgr.create("start", "Start", [[spec("ok", "a"), spec("block", "b")]])
    await asyncio.wait_for(rec.started_event("b").wait(), 5)
    mgr.abort(change.id)
    assert by_name(change) == {"a": "Undo", "b": "Abort"}
    assert change.status == "Abort"
    await mgr.wait(change.id, 5)
    assert by_name(change) == {"a": "Done", "b": "Done"}


class Stubborn:
    """A NOTIFY handler: told of the abort, it decides what the task ends as."""

    def __init__(self, mgr: ChangeManager, outcome: str):
        self.mgr, self.outcome = mgr, outcome
        self.running = asyncio.Event()

    async def __call__(self, task: Task, change: Change) -> None:
        self.running.set()
        await self.mgr.aborted(task).wait()
        if self.outcome == "raise":
            raise RuntimeError("start aborted, sent SIGKILL to process")


@pytest.mark.parametrize("outcome, status", [("raise", "Error"), ("return", "Done")])
async def test_a_notified_handler_decides_how_its_aborted_task_ends(outcome, status):
    moves: list[str] = []
    mgr = ChangeManager(on_status_change=lambda c, old, new: moves.append(new))
    handler = Stubborn(mgr, outcome)
    mgr.register("stubborn", handler, on_abort=NOTIFY)
    change = mgr.create("start", "Start", [[TaskSpec("stubborn", 'Start service "x"', {"name": "x"})]])
    await asyncio.wait_for(handler.running.wait(), 5)
    mgr.abort(change.id)
    assert (change.status, change.tasks[0].status, change.ready) == ("Abort", "Abort", False)
    await mgr.wait(change.id, 5)
    assert change.status == status and change.tasks[0].status == status
    if outcome == "raise":
        assert change.err == ('cannot perform the following tasks:\n- Start service "x" '
                              "(start aborted, sent SIGKILL to process)")
        assert moves == ["Do", "Doing", "Abort", "Error"]
    else:
        assert moves == ["Do", "Doing", "Abort", "Undo", "Done"]
    await mgr.close()


async def test_change_update_counts_follow_pebble(rec):
    """Spawn, then every status move except Doing → Do: 3 for a start that works
    (Do, Doing, Done), 4 for one that fails (its lane is aborted first)."""
    moves: dict[str, list[tuple[str, str]]] = {}
    mgr = ChangeManager(on_status_change=lambda c, old, new: moves.setdefault(c.id, []).append((old, new)))
    mgr.register("ok", rec.ok)
    mgr.register("fail", rec.fail)
    good = mgr.create("start", "Start", [[spec("ok", "a"), spec("ok", "b")], [spec("ok", "c")]])
    bad = mgr.create("start", "Start", [[spec("fail", "d")]])
    restart = mgr.create("restart", "Restart", [[spec("ok", "stop")]], then=[[spec("ok", "start")]])
    for change in (good, bad, restart):
        await mgr.wait(change.id, 5)
    assert moves[good.id] == [("", "Do"), ("", "Doing"), ("Doing", "Done")]
    assert moves[bad.id] == [("", "Do"), ("", "Doing"), ("Doing", "Abort"), ("Abort", "Error")]
    assert [new for _, new in moves[restart.id]] == ["Do", "Doing", "Done"]  # Doing → Do skipped


async def test_abort_before_anything_ran_holds_everything(mgr, rec):
    change = mgr.create("start", "Start", [[spec("ok", "a")], [spec("ok", "b")]])
    mgr.abort(change.id)
    assert change.status == "Hold" and change.ready
    await asyncio.sleep(0.01)
    assert rec.order == []


async def test_abort_of_ready_or_unknown_change_is_refused(mgr):
    change = mgr.create("start", "Start", [[spec("ok", "a")]])
    await mgr.wait(change.id, 5)
    with pytest.raises(ChangeInvalid) as e:
        mgr.abort(change.id)
    assert e.value.message == "cannot abort change 1 with nothing pending"
    assert e.value.failure is Failure.INVALID
    with pytest.raises(ChangeNotFound) as e:
        mgr.abort("42")
    assert e.value.message == 'cannot find change with id "42"' and e.value.failure is Failure.NOT_FOUND


# --- wait -------------------------------------------------------------------------


async def test_wait_times_out_with_the_api_message(mgr, rec):
    change = mgr.create("start", "Start", [[spec("block", "a")]])
    with pytest.raises(ChangeWaitTimeout) as e:
        await mgr.wait(change.id, 0.05)
    assert e.value.message == "timed out waiting for change after 50ms"
    assert e.value.failure is Failure.TIMEOUT
    rec.release_event("a").set()
    assert (await mgr.wait(change.id, 5)).status == "Done"


async def test_wait_for_unknown_change_fails_at_once(mgr):
    with pytest.raises(ChangeNotFound):
        await mgr.wait("7", None)


async def test_wait_without_timeout_returns_when_ready(mgr, rec):
    change = mgr.create("start", "Start", [[spec("block", "a")]])
    waiter = asyncio.ensure_future(mgr.wait(change.id, 0))
    await asyncio.sleep(0.01)
    assert not waiter.done()
    rec.release_event("a").set()
    assert await asyncio.wait_for(waiter, 5) is change


# --- listing ----------------------------------------------------------------------


async def test_list_select_and_for(mgr, rec):
    done = mgr.create("start", "Start a", [[spec("ok", "a")]], data={"service-names": ["a"]})
    await mgr.wait(done.id, 5)
    running = mgr.create(
        "start", "Start b", [[spec("block", "b")]], data={"service-names": ["b", "c"]}
    )
    assert [c.id for c in mgr.list_changes()] == [running.id]
    assert [c.id for c in mgr.list_changes("in-progress")] == [running.id]
    assert [c.id for c in mgr.list_changes("ready")] == [done.id]
    assert [c.id for c in mgr.list_changes("all")] == [done.id, running.id]
    assert [c.id for c in mgr.list_changes("all", for_service="c")] == [running.id]
    assert [c.id for c in mgr.list_changes("all", for_service="a")] == [done.id]
    assert mgr.list_changes("all", for_service="zzz") == []
    with pytest.raises(ChangeInvalid) as e:
        mgr.list_changes("bogus")
    assert e.value.message == "select should be one of: all,in-progress,ready"
    assert mgr.get(done.id) is done
    assert mgr.get_task(running.tasks[0].id) == (running.tasks[0], running)
    with pytest.raises(ChangeNotFound):
        mgr.get("99")


# --- hooks ------------------------------------------------------------------------


async def test_hooks_report_saves_and_status_moves_without_flaps(rec):
    saved: list[str] = []
    moves: list[tuple[str, str]] = []
    mgr = ChangeManager(
        on_change_saved=lambda c: saved.append(c.status),
        on_status_change=lambda c, old, new: moves.append((old, new)),
    )
    mgr.register("ok", rec.ok)
    change = mgr.create("start", "Start", [[spec("ok", "a"), spec("ok", "b")]])
    await mgr.wait(change.id, 5)
    assert moves == [("", "Do"), ("", "Doing"), ("Doing", "Done")]
    assert saved[0] == "Do" and saved[-1] == "Done" and len(saved) > 2


async def test_change_update_notices_from_the_status_hook(rec):
    book = NoticeBook()
    mgr = ChangeManager(
        on_status_change=lambda c, old, new: book.add_change_update(c.id, c.kind, c.notice_data)
    )
    mgr.register("fail", rec.fail)
    change = mgr.create(
        "perform-check",
        "Perform exec check",
        [[spec("fail", "c")]],
        notice_data={"check-name": "c"},
    )
    await mgr.wait(change.id, 5)
    (notice,) = book.query()
    assert (notice.type, notice.key, notice.user_id) == ("change-update", change.id, None)
    assert notice.last_data == {"kind": "perform-check", "check-name": "c"}
    assert notice.occurrences == 4  # spawned (Do), Doing, Abort (its lane), Error


# --- persistence -------------------------------------------------------------------


async def test_to_dict_from_dict_round_trip(mgr):
    async def exec_handler(task: Task, change: Change) -> None:
        task.log_info("hello")
        task.set_progress("half", 1, 2)
        task.set_api_data({"exit-code": 3})
        raise RuntimeError("exit status 3")

    mgr.register("exec", exec_handler)
    change = mgr.create(
        "exec",
        "Execute",
        [[TaskSpec("exec", "Execute command", {"command": ["true"]})]],
        data={"service-names": ["x"]},
        api_data={"note": "n"},
    )
    await mgr.wait(change.id, 5)
    text = json.dumps(change.to_dict())
    copy = Change.from_dict(json.loads(text))
    assert copy == change
    assert copy.to_dict() == change.to_dict()
    assert copy.to_api() == change.to_api()
    assert copy.err == "cannot perform the following tasks:\n- Execute command (exit status 3)"


async def test_load_marks_unready_changes_error_and_keeps_counters(rec):
    ready = Change(id="3", kind="stop", summary="Stop", tasks=tasks_with("Done"))
    ready.tasks[0].id = "8"
    unready = Change(id="5", kind="start", summary="Start", tasks=tasks_with("Done", "Doing", "Do"))
    for t, tid in zip(unready.tasks, ["10", "11", "12"], strict=True):
        t.id, t.lanes = tid, [4]
    persisted = [Change.from_dict(c.to_dict()) for c in (ready, unready)]

    moves = []
    mgr = ChangeManager(on_status_change=lambda c, old, new: moves.append((c.id, old, new)))
    mgr.register("ok", rec.ok)
    mgr.load(persisted, last_ids={"change": 6})
    loaded = mgr.get("5")
    assert [t.status for t in loaded.tasks] == ["Done", "Error", "Error"]
    assert loaded.status == "Error" and loaded.ready_time is not None
    assert LOG_RE.match(loaded.tasks[1].log[-1]).group(2, 3) == ("ERROR", RESTART_LOG)
    assert loaded.err.startswith("cannot perform the following tasks:\n- s (Cannot continue")
    assert moves == [("5", "Doing", "Error")]
    assert mgr.get("3").status == "Done"

    new = mgr.create("start", "Start", [[spec("ok", "a")]])
    assert new.id == "7" and new.tasks[0].id == "13" and new.tasks[0].lanes == [5]
    await mgr.wait(new.id, 5)


# --- pruning -----------------------------------------------------------------------


async def test_prune_removes_old_ready_changes_and_keeps_check_changes():
    removed = []
    mgr = ChangeManager(on_change_removed=lambda c: removed.append(c.id))
    old = mgr.create("replan", "Replan - no services", status="Done")
    fresh = mgr.create("replan", "Replan - no services", status="Done")
    check = mgr.create("perform-check", "Perform check", status="Error")
    now = utcnow()
    old.ready_time = now - timedelta(days=8)
    check.ready_time = now - timedelta(days=30)
    assert mgr.prune(now) == [old.id]
    assert removed == [old.id]
    assert mgr.find(old.id) is None and mgr.find(fresh.id) and mgr.find(check.id)


async def test_prune_keeps_at_most_1000_ready_changes():
    mgr = ChangeManager()
    changes = [mgr.create("replan", "Replan - no services", status="Done") for _ in range(1003)]
    base = utcnow()
    for i, change in enumerate(changes):
        change.ready_time = base - timedelta(seconds=2000 - i)
    assert mgr.prune(base) == ["1", "2", "3"]
    assert len(mgr.list_changes("all")) == 1000
    assert mgr.find(changes[-1].id) is not None


async def test_prune_aborts_unready_changes_older_than_14_days(mgr, rec):
    change = mgr.create("start", "Start", [[spec("block", "a"), spec("ok", "b")]])
    await asyncio.wait_for(rec.started_event("a").wait(), 5)
    mgr.prune(utcnow() + timedelta(days=13))
    assert change.status == "Doing"
    mgr.prune(utcnow() + timedelta(days=15))
    await mgr.wait(change.id, 5)
    assert by_name(change) == {"a": "Done", "b": "Hold"}
