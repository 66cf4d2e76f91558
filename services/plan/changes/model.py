"""Changes and tasks, the model: what a change and its tasks hold, their
statuses (a change's is derived from its tasks'), Pebble's JSON objects for
them and the form they are persisted in. The manager (manager.py) runs them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from services.common.errors import DomainError, Failure
from services.common.times import format_time, format_time_seconds, utcnow

# Statuses, as the API spells them.
DO = "Do"
DOING = "Doing"
DONE = "Done"
ABORT = "Abort"
UNDO = "Undo"
UNDOING = "Undoing"
UNDONE = "Undone"
HOLD = "Hold"
ERROR = "Error"
WAIT = "Wait"
READY_STATUSES = frozenset({DONE, UNDONE, HOLD, ERROR})
# Change status = the first of these present among its tasks.
STATUS_PRIORITY = (ABORT, UNDOING, UNDO, DOING, DO, WAIT, ERROR, UNDONE, DONE, HOLD)

MAX_LOG_ENTRIES = 10


# --- errors ------------------------------------------------------------------


class ChangeError(DomainError):
    """A changes API error with Pebble's message."""


class ChangeInvalid(ChangeError):
    failure = Failure.INVALID


class ChangeNotFound(ChangeError):
    failure = Failure.NOT_FOUND


class ChangeWaitTimeout(ChangeError):
    failure = Failure.TIMEOUT


# --- tasks -------------------------------------------------------------------


@dataclass
class Progress:
    label: str = ""
    done: int = 0
    total: int = 1


@dataclass
class Task:
    id: str
    kind: str
    summary: str
    status: str = DO
    log: list[str] = field(default_factory=list)
    progress: Progress | None = None  # None = never set (API shows a default)
    spawn_time: datetime = field(default_factory=utcnow)
    ready_time: datetime | None = None
    data: dict[str, Any] = field(default_factory=dict)  # internal (e.g. service name)
    api_data: dict[str, Any] = field(default_factory=dict)  # the API's task `data`
    lanes: list[int] = field(default_factory=list)
    wait_tasks: list[str] = field(default_factory=list)  # ids that must be Done first
    change_id: str = ""
    # Called after every modification made through the methods below.
    _notify: Callable[[], None] | None = field(default=None, repr=False, compare=False)

    @property
    def ready(self) -> bool:
        return self.status in READY_STATUSES

    def set_status(self, status: str) -> None:
        """Move to `status`, as Pebble's tasks move: the ready time is stamped
        when the task becomes ready (and kept after), and an aborted task
        asked to be Done stays Abort, so that it is undone."""
        old = self.status
        if status == old or (status == DONE and old == ABORT):
            return
        self.status = status
        if old not in READY_STATUSES and status in READY_STATUSES:
            self.ready_time = utcnow()
        self._changed()

    def log_info(self, text: str) -> None:
        self._log("INFO", text)

    def log_error(self, text: str) -> None:
        self._log("ERROR", text)

    def set_progress(self, label: str, done: int, total: int) -> None:
        self.progress = Progress(label, done, total)
        self._changed()

    def set_api_data(self, data: Mapping[str, Any]) -> None:
        self.api_data = dict(data)
        self._changed()

    def errors(self) -> list[str]:
        """The texts of the ERROR entries still in the log."""
        out = []
        for entry in self.log:
            parts = entry.split(" ", 2)
            if len(parts) == 3 and parts[1] == "ERROR":
                out.append(parts[2])
        return out

    def api_progress(self) -> Progress:
        if self.progress is not None:
            return self.progress
        return Progress("", 0, 1) if self.status == DO else Progress("", 1, 1)

    def to_api(self) -> dict[str, Any]:
        """Pebble's JSON object for this task."""
        progress = self.api_progress()
        body: dict[str, Any] = {"log": list(self.log)} if self.log else {}
        body["progress"] = {"label": progress.label, "done": progress.done, "total": progress.total}
        return _api_object(self, self.status, body)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form for persistence (see `from_dict`)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "summary": self.summary,
            "status": self.status,
            "log": list(self.log),
            "progress": None if self.progress is None else vars(self.progress).copy(),
            **_stored_times(self),
            "data": dict(self.data),
            "api_data": dict(self.api_data),
            "lanes": list(self.lanes),
            "wait_tasks": list(self.wait_tasks),
            "change_id": self.change_id,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Task:
        return _restore(cls, d, progress=lambda p: None if p is None else Progress(**p))

    def _log(self, level: str, text: str) -> None:
        self.log.append(f"{format_time_seconds(utcnow())} {level} {text}")
        del self.log[:-MAX_LOG_ENTRIES]
        self._changed()

    def _changed(self) -> None:
        if self._notify is not None:
            self._notify()


# --- changes -----------------------------------------------------------------


@dataclass
class Change:
    id: str
    kind: str
    summary: str
    tasks: list[Task] = field(default_factory=list)
    spawn_time: datetime = field(default_factory=utcnow)
    ready_time: datetime | None = None
    data: dict[str, Any] = field(default_factory=dict)  # internal, e.g. "service-names"
    api_data: dict[str, Any] = field(default_factory=dict)  # the API's change `data`
    notice_data: dict[str, str] = field(default_factory=dict)  # extra change-update data
    explicit_status: str = ""  # set explicitly (e.g. "no services" → Done); wins over tasks

    @property
    def status(self) -> str:
        if self.explicit_status:
            return self.explicit_status
        return aggregate_status(self.tasks)

    @property
    def ready(self) -> bool:
        return self.status in READY_STATUSES

    @property
    def service_names(self) -> list[str]:
        return list(self.data.get("service-names") or [])

    @property
    def err(self) -> str | None:
        """Pebble's error text, only while the change's status is Error."""
        if self.status != ERROR:
            return None
        lines = [
            f"- {t.summary} ({text})"
            for t in self.tasks
            if t.status == ERROR
            for text in t.errors()
        ]
        if not lines:
            return (
                f'internal inconsistency: change "{self.kind}" in Error status'
                " with no task errors logged"
            )
        return "cannot perform the following tasks:\n" + "\n".join(lines)

    def task(self, task_id: str) -> Task | None:
        return next((t for t in self.tasks if t.id == task_id), None)

    def to_api(self) -> dict[str, Any]:
        """Pebble's JSON object for this change."""
        status = self.status
        body: dict[str, Any] = {"tasks": [t.to_api() for t in self.tasks]} if self.tasks else {}
        body["ready"] = status in READY_STATUSES
        if self.err is not None:
            body["err"] = self.err
        return _api_object(self, status, body)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form for persistence (see `from_dict`)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "summary": self.summary,
            "tasks": [t.to_dict() for t in self.tasks],
            **_stored_times(self),
            "data": dict(self.data),
            "api_data": dict(self.api_data),
            "notice_data": dict(self.notice_data),
            "explicit_status": self.explicit_status,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Change:
        return _restore(cls, d, tasks=lambda tasks: [Task.from_dict(t) for t in tasks])


def aggregate_status(tasks: Sequence[Task]) -> str:
    """A change's status from its tasks: the highest in `STATUS_PRIORITY`, except
    that Wait beats Do when every Do task is blocked behind a Wait task. No tasks → Hold."""
    present = {t.status for t in tasks}
    if WAIT in present and DO in present and _all_do_blocked(tasks):
        present.discard(DO)
    for status in STATUS_PRIORITY:
        if status in present:
            return status
    return HOLD


def _all_do_blocked(tasks: Sequence[Task]) -> bool:
    by_id = {t.id: t for t in tasks}

    def blocked(t: Task, seen: set[str]) -> bool:
        for tid in t.wait_tasks:
            w = by_id.get(tid)
            if w is None or tid in seen:
                continue
            seen.add(tid)
            if w.status == WAIT or blocked(w, seen):
                return True
        return False

    return all(blocked(t, set()) for t in tasks if t.status == DO)


# --- the API's objects and the persisted form, for tasks and changes alike -----


def _api_object(item: Task | Change, status: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """Pebble's JSON object: id, kind, summary and status, then `body`, then
    the spawn and ready times and the API data."""
    out: dict[str, Any] = {"id": item.id, "kind": item.kind, "summary": item.summary, "status": status, **body}
    out["spawn-time"] = format_time(item.spawn_time, local=True)
    if item.ready_time is not None:
        out["ready-time"] = format_time(item.ready_time, local=True)
    if item.api_data:
        out["data"] = dict(item.api_data)
    return out


def _stored_times(item: Task | Change) -> dict[str, str | None]:
    return {
        "spawn_time": item.spawn_time.isoformat(),
        "ready_time": None if item.ready_time is None else item.ready_time.isoformat(),
    }


def _restore(cls, d: Mapping[str, Any], **convert: Callable[[Any], Any]):
    """An instance of `cls` from its persisted form; `convert` turns a
    field's stored value back into the field's type (times always)."""
    convert = {"spawn_time": datetime.fromisoformat, "ready_time": _time_or_none, **convert}
    known = {f.name for f in fields(cls) if not f.name.startswith("_")}  # not the change hook
    return cls(**{k: convert[k](v) if k in convert else v for k, v in d.items() if k in known})


def _time_or_none(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)
