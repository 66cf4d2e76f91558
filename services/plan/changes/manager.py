"""Changes and tasks, the runner: `ChangeManager` creates changes, runs
each task through an async handler registered for its kind, applies Pebble's
failure and abort rules, answers lookups, waits and pruning, and reports
every modification through hooks so its owner can persist it and record
`change-update` notices. No I/O here.

A change's tasks are arranged in lanes: tasks of a lane run one after the
other, lanes run concurrently, and a second group of lanes (`then`) may wait
for every task of the first (restart = stops, then starts).

The rules are those of Pebble's task runner (there are no undo handlers):
- a handler that returns moves its task Doing → Done; one that raises moves
  it to Error, after aborting the rest of its lanes;
- aborting a task: Do → Hold, Done → Undo, Doing → Abort, and the tasks
  waiting for it, and their lanes, are aborted too;
- an Abort task's handler is told (see `register`); when it returns, the task
  is Undo, and an Undo task with nothing to undo goes back to Done once every
  task waiting for it is ready; when it raises, the task is Error;
- a change-update is reported on every move of the change's status except
  Doing → Do and Undoing → Undo, counted from the last one reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from services.common.durations import format_duration
from services.common.times import utcnow
from services.plan.changes.model import (
    ABORT,
    DO,
    DOING,
    DONE,
    ERROR,
    HOLD,
    READY_STATUSES,
    UNDO,
    UNDOING,
    WAIT,
    Change,
    ChangeInvalid,
    ChangeNotFound,
    ChangeWaitTimeout,
    Task,
)

log = logging.getLogger(__name__)

# Statuses a change-update is not reported for, after the one last reported.
_SKIPPED_MOVES = {(DOING, DO), (UNDOING, UNDO)}
PRUNE_READY_AFTER = timedelta(days=7)
ABORT_UNREADY_AFTER = timedelta(days=14)
MAX_READY_CHANGES = 1000
# Check changes are never pruned (spec §4.4).
UNPRUNED_KINDS = frozenset({"perform-check", "recover-check"})

SELECTS = ("all", "in-progress", "ready")
RESTART_LOG = "Cannot continue: the daemon restarted before this task finished."

# What aborting a running task does to its handler (see ChangeManager.register).
CANCEL = "cancel"
NOTIFY = "notify"


@dataclass
class TaskSpec:
    """A task to create: its kind (selects the handler), summary and internal data."""

    kind: str
    summary: str
    data: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[Task, Change], Awaitable[None]]
ChangeHook = Callable[[Change], None]
StatusHook = Callable[[Change, str, str], None]


@dataclass
class _Job:
    """A running handler."""

    future: asyncio.Future
    on_abort: str
    aborted: asyncio.Event = field(default_factory=asyncio.Event)


class ChangeManager:
    """Creates, runs, aborts, waits for and prunes changes.

    Hooks (plain callables; an exception in one is logged, never propagated):
    - `on_change_saved(change)`: after any modification of the change or its tasks.
    - `on_status_change(change, old, new)`: when the change is spawned (`old` is "")
      and whenever its status moves to one other than the last reported, except
      Doing → Do and Undoing → Undo — exactly when Pebble records a
      `change-update` notice (`old` is the status last reported).
    - `on_change_removed(change)`: when pruning drops it.
    """

    def __init__(
        self,
        *,
        on_change_saved: ChangeHook | None = None,
        on_status_change: StatusHook | None = None,
        on_change_removed: ChangeHook | None = None,
        unpruned_kinds: Iterable[str] = UNPRUNED_KINDS,
    ):
        self.on_change_saved = on_change_saved
        self.on_status_change = on_status_change
        self.on_change_removed = on_change_removed
        self._unpruned = frozenset(unpruned_kinds)
        self._handlers: dict[str, tuple[Handler, str]] = {}
        self._changes: dict[str, Change] = {}
        self._observed: dict[str, str] = {}  # change id → its status when last looked at
        self._reported: dict[str, str] = {}  # change id → the status last reported
        self._ready_events: dict[str, asyncio.Event] = {}
        self._runners: dict[str, asyncio.Task] = {}
        self._kicks: dict[str, asyncio.Event] = {}  # change id → wakes its runner
        self._jobs: dict[str, _Job] = {}  # task id → its running handler
        self._quiet: dict[str, int] = {}  # change id → open batches (one save at the end)
        self._last = {"change": 0, "task": 0, "lane": 0}

    # setup

    def register(self, kind: str, handler: Handler, *, on_abort: str = CANCEL) -> None:
        """Run tasks of `kind` with `await handler(task, change)`.

        `on_abort` says what aborting a running task of this kind does: CANCEL
        cancels the handler, and the task ends as if it had returned; NOTIFY
        sets `aborted(task)` and lets the handler decide (return, or raise the
        error the task ends with)."""
        if on_abort not in (CANCEL, NOTIFY):
            raise ValueError(f"unknown on_abort {on_abort!r}")
        self._handlers[kind] = (handler, on_abort)

    def aborted(self, task: Task) -> asyncio.Event:
        """Set once the running `task` is aborted (for NOTIFY handlers)."""
        job = self._jobs.get(task.id)
        if job is None:
            raise ValueError(f"task {task.id} is not running")
        return job.aborted

    @property
    def last_ids(self) -> dict[str, int]:
        """The id counters ("change", "task", "lane"), for persistence."""
        return dict(self._last)

    def load(self, changes: Iterable[Change], last_ids: Mapping[str, int] | None = None) -> None:
        """Restore persisted changes at start. A change that was not ready cannot be
        resumed: each unready task becomes Error with an ERROR log line saying the
        daemon restarted, so the change ends Error."""
        for change in changes:
            self._changes[change.id] = change
            self._bump("change", change.id)
            for t in change.tasks:
                self._bump("task", t.id)
                for lane in t.lanes:
                    self._last["lane"] = max(self._last["lane"], lane)
            self._attach(change)
            self._observed[change.id] = self._reported[change.id] = change.status
            if change.ready:
                continue
            with self._batch(change):
                if change.explicit_status:
                    change.explicit_status = ERROR
                    self._touch(change)
                for t in change.tasks:
                    if not t.ready:
                        t.log_error(RESTART_LOG)
                        t.set_status(ERROR)
        for name, value in (last_ids or {}).items():
            if name in self._last:
                self._last[name] = max(self._last[name], int(value))

    async def close(self) -> None:
        """Stop running changes without touching their state (daemon shutdown): the
        handlers are cancelled and their tasks stay as they were."""
        runners = list(self._runners.values())
        for r in runners:
            r.cancel()
        await asyncio.gather(*runners, return_exceptions=True)

    # creating

    def create(
        self,
        kind: str,
        summary: str,
        lanes: Sequence[Sequence[TaskSpec]] = (),
        *,
        then: Sequence[Sequence[TaskSpec]] = (),
        data: Mapping[str, Any] | None = None,
        api_data: Mapping[str, Any] | None = None,
        notice_data: Mapping[str, str] | None = None,
        status: str | None = None,
    ) -> Change:
        """Create a change and start running it.

        `lanes`: each lane's tasks run in order; lanes run concurrently. Every task of
        `then` (lanes too) waits for every task of `lanes`. `status` sets the status of
        a change without tasks (e.g. Done for "<Action> - no services"), after its
        spawn has been reported. Must be called from a running event loop when there
        are tasks."""
        specs = [spec for lane in (*lanes, *then) for spec in lane]
        missing = sorted({s.kind for s in specs if s.kind not in self._handlers})
        if missing:
            raise ValueError(f"no handler for task kind(s): {', '.join(missing)}")
        if status is not None and specs:
            raise ValueError("only a change without tasks can be given a status")
        loop = asyncio.get_running_loop() if specs else None
        change = Change(
            id=self._next("change"),
            kind=kind,
            summary=summary,
            data=dict(data or {}),
            api_data=dict(api_data or {}),
            notice_data=dict(notice_data or {}),
        )
        first = self._add_lanes(change, lanes, [])
        self._add_lanes(change, then, [t.id for t in first])
        self._changes[change.id] = change
        self._attach(change)
        self._observed[change.id] = change.status
        self._reported[change.id] = ""  # the spawn is reported, and counts as nothing
        self._call_status_hook(change, "", change.status)
        if status is not None:
            change.explicit_status = status
            self._touch(change)
        else:
            self._save(change)
        if loop is not None:
            self._kicks[change.id] = asyncio.Event()
            self._runners[change.id] = loop.create_task(
                self._run(change), name=f"change-{change.id}"
            )
        return change

    def set_status(self, change_id: str, status: str) -> Change:
        """Set a change's status explicitly (overrides what its tasks say)."""
        change = self.get(change_id)
        change.explicit_status = status
        self._touch(change)
        return change

    # reading

    def get(self, change_id: str) -> Change:
        change = self._changes.get(change_id)
        if change is None:
            raise ChangeNotFound(f'cannot find change with id "{change_id}"')
        return change

    def find(self, change_id: str) -> Change | None:
        return self._changes.get(change_id)

    def get_task(self, task_id: str) -> tuple[Task, Change] | None:
        for change in self._changes.values():
            task = change.task(task_id)
            if task is not None:
                return task, change
        return None

    def list_changes(self, select: str = "in-progress", for_service: str = "") -> list[Change]:
        """Changes as `GET /v1/changes` selects them, ordered by id."""
        if select not in SELECTS:
            raise ChangeInvalid(f"select should be one of: {','.join(SELECTS)}")
        out = []
        for change in self._changes.values():
            if select == "in-progress" and change.ready:
                continue
            if select == "ready" and not change.ready:
                continue
            if for_service and for_service not in change.service_names:
                continue
            out.append(change)
        return sorted(out, key=lambda c: int(c.id))

    async def wait(self, change_id: str, timeout: float | None = None) -> Change:
        """The change once it is ready. `timeout` in seconds; None or 0 waits for ever.
        Raises `ChangeNotFound` (before waiting) or `ChangeWaitTimeout`."""
        change = self.get(change_id)
        if change.ready:
            return change
        event = self._ready_events.setdefault(change_id, asyncio.Event())
        try:
            await asyncio.wait_for(event.wait(), timeout or None)
        except TimeoutError:
            raise ChangeWaitTimeout(
                f"timed out waiting for change after {format_duration(timeout or 0)}"
            ) from None
        return change

    # aborting and pruning

    def abort(self, change_id: str) -> Change:
        """Abort every task, as Pebble does: Do → Hold, Doing → Abort (its handler is
        told, see `register`), Done → Undo (then Done again: nothing to undo)."""
        change = self.get(change_id)
        if change.ready:
            raise ChangeInvalid(f"cannot abort change {change_id} with nothing pending")
        with self._batch(change):
            self._abort_tasks(change, list(change.tasks), set(), set())
        self._kick(change)
        return change

    def prune(self, now: datetime | None = None) -> list[str]:
        """Abort unready changes spawned over 14 days ago, then remove ready changes
        ready for over 7 days and the oldest beyond 1000 ready ones. Check changes are
        left alone. Returns the removed ids."""
        now = now or utcnow()
        prunable = [c for c in self._changes.values() if c.kind not in self._unpruned]
        for change in prunable:
            if not change.ready and now - change.spawn_time > ABORT_UNREADY_AFTER:
                self.abort(change.id)
        ready = sorted(
            (c for c in prunable if c.ready),
            key=lambda c: (c.ready_time or c.spawn_time, int(c.id)),
        )
        keep_from = max(0, len(ready) - MAX_READY_CHANGES)
        removed = []
        for i, change in enumerate(ready):
            if i < keep_from or now - (change.ready_time or change.spawn_time) > PRUNE_READY_AFTER:
                self._remove(change)
                removed.append(change.id)
        return removed

    # running

    async def _run(self, change: Change) -> None:
        """Run the change's tasks until nothing is left to run (Pebble's ensure loop,
        for one change): start what may start, settle what finished, repeat."""
        kick = self._kicks[change.id]
        own: list[str] = []  # ids of the tasks this runner started
        try:
            while True:
                with self._batch(change):
                    own.extend(self._ensure(change))
                running = {self._jobs[tid].future: tid for tid in own if tid in self._jobs}
                if not running:
                    break
                kick.clear()
                kicked = asyncio.ensure_future(kick.wait())
                try:
                    done, _ = await asyncio.wait(
                        [*running, kicked], return_when=asyncio.FIRST_COMPLETED
                    )
                finally:
                    kicked.cancel()
                with self._batch(change):
                    for future in done:
                        if future in running:
                            self._settle(change, change.task(running[future]), future)
            self._hold_stuck(change)
        except asyncio.CancelledError:
            jobs = [self._jobs.pop(tid) for tid in own if tid in self._jobs]
            for job in jobs:
                job.future.cancel()
            await asyncio.gather(*(job.future for job in jobs), return_exceptions=True)
            raise
        finally:
            self._runners.pop(change.id, None)
            self._kicks.pop(change.id, None)

    def _ensure(self, change: Change) -> list[str]:
        """One pass over the tasks, repeated while it moves something: start the
        runnable ones (returns their ids), hold Abort tasks that are not running,
        put Undo tasks back to Done (nothing to undo) once their waiters are ready."""
        started = []
        by_id = {t.id: t for t in change.tasks}
        waiters: dict[str, list[Task]] = {}
        for t in change.tasks:
            for w in t.wait_tasks:
                waiters.setdefault(w, []).append(t)
        moved = True
        while moved:
            moved = False
            for task in change.tasks:
                running = task.id in self._jobs
                if task.status == ABORT and not running:
                    task.set_status(HOLD)  # stopped in flight and cannot be undone
                    moved = True
                    continue
                if running or task.ready or task.status == WAIT:
                    continue
                if _must_wait(task, by_id, waiters):
                    continue
                if task.status == UNDO:
                    task.set_status(DONE)
                    moved = True
                elif task.status == DO:
                    self._start(change, task)
                    started.append(task.id)
                    moved = True
        return started

    def _start(self, change: Change, task: Task) -> None:
        handler, on_abort = self._handlers[task.kind]
        task.set_status(DOING)
        self._jobs[task.id] = _Job(asyncio.ensure_future(handler(task, change)), on_abort)

    def _settle(self, change: Change, task: Task, future: asyncio.Future) -> None:
        """A handler has finished: the task moves on from its result."""
        job = self._jobs.pop(task.id)
        if future.cancelled():
            if job.on_abort == CANCEL and job.aborted.is_set():
                exc = None  # cancelled by an abort: it stopped as it was told to
            else:
                exc = asyncio.CancelledError("task was cancelled")
        else:
            exc = future.exception()
        if exc is None:
            if task.status == DOING:
                task.set_status(DONE)
            elif task.status == ABORT:
                task.set_status(UNDO)  # it was done after all; nothing undoes it
            return
        self._abort_lanes(change, list(task.lanes), set(), set())
        task.set_status(ERROR)
        task.log_error(_error_text(exc))

    def _abort_lanes(
        self, change: Change, lanes: list[int], aborted_lanes: set[int], seen: set[str]
    ) -> None:
        """Abort the tasks of these lanes, except those also in a lane whose every
        other task is still live (Pebble's AbortLanes)."""
        has_live: set[int] = set()
        has_dead: set[int] = set()
        in_lanes = []
        for t in change.tasks:
            if set(t.lanes) & set(lanes):
                in_lanes.append(t)
                continue
            live = _effective_status(t) in (DO, DOING, DONE)
            (has_live if live else has_dead).update(t.lanes)
        doomed = [t for t in in_lanes if not any(l in has_live and l not in has_dead for l in t.lanes)]
        aborted_lanes.update(lanes)
        if doomed:
            self._abort_tasks(change, doomed, aborted_lanes, seen)

    def _abort_tasks(
        self, change: Change, tasks: list[Task], aborted_lanes: set[int], seen: set[str]
    ) -> None:
        """Abort these tasks and every task waiting for one of them, then the rest of
        their lanes (Pebble's abortTasks)."""
        waiters: dict[str, list[Task]] = {}
        for t in change.tasks:
            for w in t.wait_tasks:
                waiters.setdefault(w, []).append(t)
        lanes: list[int] = []
        queue = list(tasks)
        while queue:
            t = queue.pop(0)
            if t.id in seen:
                continue
            seen.add(t.id)
            status = _effective_status(t)
            if status == DO:
                t.set_status(HOLD)
            elif status == DOING:
                t.set_status(ABORT)
                self._tell_aborted(t)
            elif status == DONE:
                t.set_status(UNDO)
            if any(lane not in aborted_lanes for lane in t.lanes):
                lanes.extend(t.lanes)
            queue.extend(w for w in waiters.get(t.id, []) if w.id not in seen)
        if lanes:
            self._abort_lanes(change, lanes, aborted_lanes, seen)

    def _tell_aborted(self, task: Task) -> None:
        job = self._jobs.get(task.id)
        if job is None or job.aborted.is_set():
            return
        job.aborted.set()
        if job.on_abort == CANCEL:
            job.future.cancel()

    def _kick(self, change: Change) -> None:
        kick = self._kicks.get(change.id)
        if kick is not None:
            kick.set()

    def _hold_stuck(self, change: Change) -> None:
        """Safety net: Do tasks left with nothing that could ever run them."""
        with self._batch(change):
            for t in change.tasks:
                if t.status == DO:
                    log.warning("change %s: task %s can never run; holding it", change.id, t.id)
                    t.set_status(HOLD)

    # bookkeeping

    def _add_lanes(
        self, change: Change, lanes: Sequence[Sequence[TaskSpec]], wait_all: list[str]
    ) -> list[Task]:
        created = []
        for specs in lanes:
            if not specs:
                continue
            lane = int(self._next("lane"))
            previous: Task | None = None
            for spec in specs:
                waits = list(wait_all) + ([previous.id] if previous else [])
                task = Task(
                    id=self._next("task"),
                    kind=spec.kind,
                    summary=spec.summary,
                    spawn_time=change.spawn_time,
                    data=dict(spec.data),
                    lanes=[lane],
                    wait_tasks=waits,
                    change_id=change.id,
                )
                change.tasks.append(task)
                created.append(task)
                previous = task
        return created

    def _attach(self, change: Change) -> None:
        for t in change.tasks:
            t.change_id = change.id
            t._notify = lambda c=change: self._touch(c)

    @contextlib.contextmanager
    def _batch(self, change: Change) -> Iterator[None]:
        """Several modifications saved once (status moves are still reported as
        each happens, as Pebble reports them)."""
        self._quiet[change.id] = self._quiet.get(change.id, 0) + 1
        try:
            yield
        finally:
            self._quiet[change.id] -= 1
            if not self._quiet[change.id]:
                del self._quiet[change.id]
                if change.id in self._changes:
                    self._save(change)

    def _touch(self, change: Change) -> None:
        """Something in `change` changed: report a status move, mark it ready, save."""
        if change.id not in self._changes:
            return
        new = change.status
        if new != self._observed.get(change.id):
            self._observed[change.id] = new
            if new in READY_STATUSES and change.ready_time is None:
                change.ready_time = utcnow()
            reported = self._reported.get(change.id, "")
            if new != reported and (reported, new) not in _SKIPPED_MOVES:
                self._reported[change.id] = new
                self._call_status_hook(change, reported, new)
        if change.ready:
            event = self._ready_events.pop(change.id, None)
            if event is not None:
                event.set()
        if change.id not in self._quiet:
            self._save(change)

    def _remove(self, change: Change) -> None:
        self._changes.pop(change.id, None)
        self._observed.pop(change.id, None)
        self._reported.pop(change.id, None)
        for t in change.tasks:
            t._notify = None
        if self.on_change_removed is not None:
            _safely(self.on_change_removed, change)

    def _save(self, change: Change) -> None:
        if self.on_change_saved is not None:
            _safely(self.on_change_saved, change)

    def _call_status_hook(self, change: Change, old: str, new: str) -> None:
        if self.on_status_change is not None:
            _safely(self.on_status_change, change, old, new)

    def _next(self, counter: str) -> str:
        self._last[counter] += 1
        return str(self._last[counter])

    def _bump(self, counter: str, value: str) -> None:
        if value.isdigit():
            self._last[counter] = max(self._last[counter], int(value))


def _must_wait(task: Task, by_id: Mapping[str, Task], waiters: Mapping[str, list[Task]]) -> bool:
    """Pebble's rule: a Do task waits until every task it waits for is Done; an
    Undo task until every task waiting for it is ready."""
    if task.status == DO:
        return any(by_id[w].status != DONE for w in task.wait_tasks if w in by_id)
    if task.status == UNDO:
        return any(not t.ready for t in waiters.get(task.id, ()))
    return False


def _effective_status(task: Task) -> str:
    """A waiting task counts as what it waits to become (Done)."""
    return DONE if task.status == WAIT else task.status


def _error_text(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _safely(hook: Callable[..., None], *args: Any) -> None:
    try:
        hook(*args)
    except Exception:
        log.exception("change hook %r failed", hook)
