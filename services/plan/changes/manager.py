"""Changes and tasks, the runner: `ChangeManager` creates changes, runs
each task through an async handler registered for its kind, applies Pebble's
failure and abort rules, answers lookups, waits and pruning, and reports
every modification through hooks so its owner can persist it and record
`change-update` notices. No I/O here.

A change's tasks are arranged in lanes: tasks of a lane run one after the
other, lanes run concurrently, and a second group of lanes (`then`) may wait
for every task of the first (restart = stops, then starts).
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
    UNDONE,
    WAIT,
    Change,
    ChangeInvalid,
    ChangeNotFound,
    ChangeWaitTimeout,
    Task,
)
from services.plan.times import utcnow

log = logging.getLogger(__name__)

# Change status flips that do not record a change-update notice.
_FLAPS = {frozenset({DO, DOING}), frozenset({UNDO, UNDOING})}
PRUNE_READY_AFTER = timedelta(days=7)
ABORT_UNREADY_AFTER = timedelta(days=14)
MAX_READY_CHANGES = 1000
# Check changes are never pruned (spec §4.4).
UNPRUNED_KINDS = frozenset({"perform-check", "recover-check"})

SELECTS = ("all", "in-progress", "ready")
RESTART_LOG = "Cannot continue: the daemon restarted before this task finished."


@dataclass
class TaskSpec:
    """A task to create: its kind (selects the handler), summary and internal data."""

    kind: str
    summary: str
    data: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[Task, Change], Awaitable[None]]
ChangeHook = Callable[[Change], None]
StatusHook = Callable[[Change, str, str], None]


class ChangeManager:
    """Creates, runs, aborts, waits for and prunes changes.

    Hooks (plain callables; an exception in one is logged, never propagated):
    - `on_change_saved(change)`: after any modification of the change or its tasks.
    - `on_status_change(change, old, new)`: when the change is spawned (`old` is "")
      and whenever its status moves, except Do<->Doing and Undo<->Undoing flips —
      i.e. exactly when Pebble records a `change-update` notice.
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
        self._handlers: dict[str, Handler] = {}
        self._changes: dict[str, Change] = {}
        self._last_status: dict[str, str] = {}
        self._ready_events: dict[str, asyncio.Event] = {}
        self._runners: dict[str, asyncio.Task] = {}
        self._running: dict[str, asyncio.Task] = {}  # task id → its handler's asyncio task
        self._quiet: dict[str, int] = {}  # change id → open batches (no reports meanwhile)
        self._last = {"change": 0, "task": 0, "lane": 0}

    # setup

    def register(self, kind: str, handler: Handler) -> None:
        """Run tasks of `kind` with `await handler(task, change)`."""
        self._handlers[kind] = handler

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
            self._last_status[change.id] = change.status
            if change.ready:
                continue
            with self._batch(change):
                if change.explicit_status:
                    change.explicit_status = ERROR
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
        a change without tasks (e.g. Done for "<Action> - no services").
        Must be called from a running event loop when there are tasks."""
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
            explicit_status=status or "",
        )
        first = self._add_lanes(change, lanes, [])
        self._add_lanes(change, then, [t.id for t in first])
        if change.ready:
            change.ready_time = utcnow()
        self._changes[change.id] = change
        self._attach(change)
        self._last_status[change.id] = change.status
        self._call_status_hook(change, "", change.status)
        self._save(change)
        if loop is not None:
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
        """Abort every pending task: Do → Hold, Doing → Abort (handler cancelled; the
        task ends Undone, or Error if the handler fails another way), Done → Undone."""
        change = self.get(change_id)
        if change.ready:
            raise ChangeInvalid(f"cannot abort change {change_id} with nothing pending")
        with self._batch(change):
            for task in change.tasks:
                self._abort_task(task)
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
        running: dict[asyncio.Task, Task] = {}
        try:
            while True:
                with self._batch(change):
                    for task in self._runnable(change):
                        task.set_status(DOING)
                        handler = self._handlers[task.kind]
                        job = asyncio.ensure_future(handler(task, change))
                        running[job] = task
                        self._running[task.id] = job
                if not running:
                    break
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                with self._batch(change):
                    for job in done:
                        task = running.pop(job)
                        self._running.pop(task.id, None)
                        self._finish(change, task, job)
            self._hold_stuck(change)
        except asyncio.CancelledError:
            for job in running:
                job.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            for task in running.values():
                self._running.pop(task.id, None)
            raise
        finally:
            self._runners.pop(change.id, None)

    @staticmethod
    def _runnable(change: Change) -> list[Task]:
        by_id = {t.id: t for t in change.tasks}
        return [
            t
            for t in change.tasks
            if t.status == DO and all(by_id[w].status == DONE for w in t.wait_tasks if w in by_id)
        ]

    def _finish(self, change: Change, task: Task, job: asyncio.Task) -> None:
        cancelled = job.cancelled()
        exc = None if cancelled else job.exception()
        if task.status == ABORT:
            # Aborted while running: stopped (or finished anyway) → undone; there
            # are no undo handlers, so Undo goes straight to Undone.
            if exc is None:
                task.set_status(UNDONE)
                return
            task.log_error(_error_text(exc))
            task.set_status(ERROR)
            return
        if task.status != DOING:
            return
        if cancelled:
            exc = asyncio.CancelledError("task was cancelled")
        if exc is None:
            task.set_status(DONE)
            return
        task.log_error(_error_text(exc))
        task.set_status(ERROR)
        self._abort_lanes(change, task)

    def _abort_lanes(self, change: Change, failed: Task) -> None:
        """After `failed` errored: abort the rest of its lanes and, transitively, every
        task waiting on an aborted task and the lanes of those. Other lanes go on."""
        if not failed.lanes:
            for t in change.tasks:
                self._abort_task(t)
            return
        waiters: dict[str, list[Task]] = {}
        for t in change.tasks:
            for w in t.wait_tasks:
                waiters.setdefault(w, []).append(t)
        lanes = set(failed.lanes)
        queue = [t for t in change.tasks if lanes & set(t.lanes)]
        seen: set[str] = set()
        while queue:
            t = queue.pop()
            if t.id in seen:
                continue
            seen.add(t.id)
            self._abort_task(t)
            new_lanes = set(t.lanes) - lanes
            if new_lanes:
                lanes |= new_lanes
                queue.extend(x for x in change.tasks if new_lanes & set(x.lanes))
            queue.extend(waiters.get(t.id, []))

    def _abort_task(self, task: Task) -> None:
        if task.status == DO:
            task.set_status(HOLD)
        elif task.status == DOING:
            task.set_status(ABORT)
            job = self._running.get(task.id)
            if job is not None:
                job.cancel()
        elif task.status in (DONE, WAIT):
            task.set_status(UNDO)
            task.set_status(UNDONE)  # no undo handlers

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
        """Several modifications reported as one (one status move, one save)."""
        self._quiet[change.id] = self._quiet.get(change.id, 0) + 1
        try:
            yield
        finally:
            self._quiet[change.id] -= 1
            if not self._quiet[change.id]:
                del self._quiet[change.id]
                self._touch(change)

    def _touch(self, change: Change) -> None:
        """Something in `change` changed: report status moves, readiness, and save."""
        if change.id not in self._changes or change.id in self._quiet:
            return
        new = change.status
        old = self._last_status.get(change.id, new)
        if new != old:
            self._last_status[change.id] = new
            if new in READY_STATUSES and old not in READY_STATUSES:
                change.ready_time = utcnow()
            elif new not in READY_STATUSES:
                change.ready_time = None
            if frozenset({old, new}) not in _FLAPS:
                self._call_status_hook(change, old, new)
        if change.ready:
            event = self._ready_events.pop(change.id, None)
            if event is not None:
                event.set()
        self._save(change)

    def _remove(self, change: Change) -> None:
        self._changes.pop(change.id, None)
        self._last_status.pop(change.id, None)
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


def _error_text(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _safely(hook: Callable[..., None], *args: Any) -> None:
    try:
        hook(*args)
    except Exception:
        log.exception("change hook %r failed", hook)
