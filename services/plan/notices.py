"""Notices: the plan service's pure, in-memory model of Pebble notices.

A notice is identified by (user-id, type, key); adding it again records a new
occurrence of the same notice. `NoticeBook` holds them, prunes expired ones,
answers filtered queries and long-polls, and validates the POST API body.
No I/O: `on_saved`/`on_removed` hooks let the owner persist what changes.

Times are timezone-aware datetimes (UTC); durations are float seconds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from services.common import gojson
from services.common.durations import LONGEST_WAIT, format_duration, parse_duration
from services.common.gojson import go_quote
from services.common.jsonvalues import whole_numbers
from services.common.notice_filter import (  # noqa: F401 - the filter rule's names, for this model's users
    CHANGE_UPDATE,
    CUSTOM,
    KNOWN_TYPES,
    WARNING,
    NoticeError,
    NoticeFilter,
    NoticeForbidden,
    NoticeInvalid,
    NoticeNotFound,
    expired,
    select,
)
from services.common.times import format_time, utcnow

log = logging.getLogger(__name__)

DEFAULT_EXPIRE_AFTER = 7 * 24 * 3600.0
MAX_NOTICES = 1000
MAX_KEY_BYTES = 256
MAX_DATA_BYTES = 4096

_KEY_RE = re.compile(
    r"^[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+(-[a-z0-9]+)*)+(/[a-z0-9]+(-[a-z0-9]+)*)+$"
)
# --- the notice --------------------------------------------------------------


@dataclass
class Notice:
    id: str
    user_id: int | None  # None = public (visible to every user)
    type: str
    key: str
    first_occurred: datetime
    last_occurred: datetime
    last_repeated: datetime
    occurrences: int = 1
    last_data: dict[str, str] = field(default_factory=dict)
    repeat_after: float | None = None  # seconds; None/0 = every occurrence repeats
    expire_after: float = DEFAULT_EXPIRE_AFTER  # seconds after last occurrence

    def expired(self, now: datetime) -> bool:
        return expired(self.last_occurred, self.expire_after, now)

    def to_api(self) -> dict[str, Any]:
        """Pebble's JSON object for this notice."""
        out: dict[str, Any] = {
            "id": self.id,
            "user-id": self.user_id,
            "type": self.type,
            "key": self.key,
            "first-occurred": format_time(self.first_occurred),
            "last-occurred": format_time(self.last_occurred),
            "last-repeated": format_time(self.last_repeated),
            "occurrences": self.occurrences,
        }
        if self.last_data:
            out["last-data"] = dict(self.last_data)
        if self.repeat_after:
            out["repeat-after"] = format_duration(self.repeat_after)
        if self.expire_after:
            out["expire-after"] = format_duration(self.expire_after)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form for persistence (see `from_dict`)."""
        return {
            "id": self.id,
            "user_id": self.user_id,
            "type": self.type,
            "key": self.key,
            "first_occurred": self.first_occurred.isoformat(),
            "last_occurred": self.last_occurred.isoformat(),
            "last_repeated": self.last_repeated.isoformat(),
            "occurrences": self.occurrences,
            "last_data": dict(self.last_data),
            "repeat_after": self.repeat_after,
            "expire_after": self.expire_after,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Notice:
        return cls(
            id=str(d["id"]),
            user_id=d.get("user_id"),
            type=d["type"],
            key=d["key"],
            first_occurred=datetime.fromisoformat(d["first_occurred"]),
            last_occurred=datetime.fromisoformat(d["last_occurred"]),
            last_repeated=datetime.fromisoformat(d["last_repeated"]),
            occurrences=int(d.get("occurrences", 1)),
            last_data=dict(d.get("last_data") or {}),
            repeat_after=d.get("repeat_after"),
            expire_after=float(d.get("expire_after", DEFAULT_EXPIRE_AFTER)),
        )


# --- POST validation ---------------------------------------------------------


@dataclass
class NoticeRequest:
    """A validated `POST /v1/notices` body, ready for `NoticeBook.add`."""

    type: str
    key: str
    repeat_after: float | None
    data: dict[str, str]


_DATA_TYPE = gojson.map_of(gojson.STRING)  # map[string]string, as Pebble decodes the data


def validate_add(action: str, type: str, key: str, repeat_after: str = "", data: Any = None) -> NoticeRequest:
    """Check a `POST /v1/notices` body as Pebble does, in its order and words;
    raises `NoticeInvalid`.

    `repeat_after` is the body's Go duration text ("" for none; a negative
    one is taken, as Pebble takes it). `data` is the body's `data` as any JSON
    value (left out, or null, for none): its size is measured as JSON, then it
    must decode as Go's map[string]string.
    """
    if action != "add":
        raise NoticeInvalid(f"invalid action {go_quote(action)}")
    if type != CUSTOM:
        raise NoticeInvalid(f'invalid type {go_quote(type)} (can only add "custom" notices)')
    if not _KEY_RE.match(key):
        raise NoticeInvalid(f'invalid key {go_quote(key)} (must be in "example.com/path" format)')
    if len(key.encode()) > MAX_KEY_BYTES:
        raise NoticeInvalid(f"key must be {MAX_KEY_BYTES} bytes or less")
    repeat = None
    if repeat_after:
        try:
            repeat = parse_duration(repeat_after)
        except ValueError as error:
            raise NoticeInvalid(f"invalid repeat-after: {error}") from None
    return NoticeRequest(type, key, repeat or None, _validate_data(data))


def _validate_data(data: Any) -> dict[str, str]:
    if data is None:  # left out, or null: Go's nil map
        return {}
    data = whole_numbers(data)  # numbers came through protobuf as floats
    raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    if len(raw) > MAX_DATA_BYTES:
        raise NoticeInvalid(f"total size of data must be {MAX_DATA_BYTES} bytes or less")
    try:
        decoded = gojson.check(gojson.from_plain(data), _DATA_TYPE)
    except gojson.GoJSONError as error:
        raise NoticeInvalid(f"cannot decode notice data: {error}") from None
    return dict(decoded or {})


# --- the book ----------------------------------------------------------------

SaveHook = Callable[[Notice], None]


class NoticeBook:
    """All notices, keyed by (user-id, type, key), with long-poll waiters."""

    def __init__(
        self,
        *,
        on_saved: SaveHook | None = None,
        on_removed: SaveHook | None = None,
        clock: Callable[[], datetime] = utcnow,
        max_notices: int = MAX_NOTICES,
        longest_wait: float = LONGEST_WAIT,
    ):
        self.on_saved = on_saved
        self.on_removed = on_removed
        self._clock = clock
        self._max = max_notices
        self._longest_wait = longest_wait
        self._by_id: dict[str, Notice] = {}
        self._by_key: dict[tuple[int | None, str, str], Notice] = {}
        self._last_id = 0
        self._changed = asyncio.Event()

    @property
    def last_id(self) -> int:
        """The id counter, for persistence (pass back to `load`)."""
        return self._last_id

    def load(self, notices: Iterable[Notice], last_id: int = 0) -> None:
        """Restore persisted notices (at start); expired ones are dropped."""
        now = self._clock()
        for n in notices:
            self._last_id = max(self._last_id, int(n.id))
            if n.expired(now):
                continue
            self._by_id[n.id] = n
            self._by_key[(n.user_id, n.type, n.key)] = n
        self._last_id = max(self._last_id, last_id)

    def add(
        self,
        user_id: int | None,
        type: str,
        key: str,
        data: Mapping[str, str] | None = None,
        repeat_after: float | None = None,
        now: datetime | None = None,
        *,
        expire_after: float | None = None,
    ) -> Notice:
        """Record an occurrence of notice (user_id, type, key) and wake waiters."""
        return self.commit(self.stage(user_id, type, key, data, repeat_after, now, expire_after=expire_after))

    def stage(
        self,
        user_id: int | None,
        type: str,
        key: str,
        data: Mapping[str, str] | None = None,
        repeat_after: float | None = None,
        now: datetime | None = None,
        *,
        expire_after: float | None = None,
    ) -> Notice:
        """The notice as an occurrence would leave it, not yet in the book (no
        one sees it until `commit`), so that the owner can write it first. A new
        notice takes the next id now: one refused write leaves a gap."""
        if type not in KNOWN_TYPES:
            raise ValueError(f"unknown notice type {type!r}")
        if not key:
            raise ValueError("notice key must not be empty")
        now = now or self._clock()
        self.prune(now)
        current = self._by_key.get((user_id, type, key))
        if current is None:
            self._last_id += 1
            notice = Notice(
                id=str(self._last_id),
                user_id=user_id,
                type=type,
                key=key,
                first_occurred=now,
                last_occurred=now,
                last_repeated=now,
                last_data=dict(data or {}),
                repeat_after=repeat_after or None,
            )
        else:
            notice = replace(current, last_data=dict(data or {}))
            notice.occurrences += 1
            notice.last_occurred = now
            notice.repeat_after = repeat_after or None
            due = notice.last_repeated + timedelta(seconds=notice.repeat_after or 0)
            if not notice.repeat_after or now > due:  # strictly after, as Pebble
                notice.last_repeated = now
        if expire_after is not None:
            notice.expire_after = expire_after
        return notice

    def commit(self, notice: Notice) -> Notice:
        """Put a staged notice in the book and wake waiters. A notice already
        there takes the staged values in place (it stays the same object)."""
        current = self._by_id.get(notice.id)
        if current is not None:
            current.__dict__.update(notice.__dict__)
            notice = current
        self._by_id[notice.id] = notice
        self._by_key[(notice.user_id, notice.type, notice.key)] = notice
        self._call(self.on_saved, notice)
        self._enforce_max()
        self._wake()
        return notice

    def current(self, notice: Notice) -> Notice | None:
        """What the book holds now under a staged notice's id (None: it is new)."""
        return self._by_id.get(notice.id)

    def add_change_update(
        self, change_id: str, kind: str, extra: Mapping[str, str] | None = None
    ) -> Notice:
        """Public `change-update` notice keyed by change id, data {"kind": kind, **extra}."""
        return self.add(None, CHANGE_UPDATE, change_id, {"kind": kind, **(extra or {})})

    def add_warning(self, message: str, repeat_after: float | None = None) -> Notice:
        """Public `warning` notice keyed by its message."""
        return self.add(None, WARNING, message, None, repeat_after)

    def latest_warning(self) -> datetime | None:
        """When the newest warning was last repeated (the envelope's `latest-warning`)."""
        now = self._clock()
        times = [
            n.last_repeated
            for n in self._by_id.values()
            if n.type == WARNING and not n.expired(now)
        ]
        return max(times, default=None)

    def query(self, filters: NoticeFilter | None = None) -> list[Notice]:
        """Unexpired matching notices, ordered by last-repeated ascending (then id)."""
        return select(self._by_id.values(), filters or NoticeFilter(), self._clock())

    async def wait(self, filters: NoticeFilter | None, timeout: float | None) -> list[Notice]:
        """Long-poll: the matching notices as soon as there is at least one; `[]` once
        `timeout` seconds pass, or the longest wait held (also for None), so that
        the caller has its answer before the gateway's deadline."""
        loop = asyncio.get_running_loop()
        bounded = self._longest_wait if timeout is None else min(timeout, self._longest_wait)
        deadline = loop.time() + bounded
        while True:
            changed = self._changed  # taken before querying so no wake-up is missed
            found = self.query(filters)
            if found:
                return found
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                return []

    def get(self, notice_id: str, caller_uid: int | None, is_admin: bool) -> Notice:
        """One notice as `GET /v1/notices/{id}` sees it (not found, forbidden, as the API)."""
        notice = self._by_id.get(notice_id)
        if notice is None or notice.expired(self._clock()):
            raise NoticeNotFound(f'cannot find notice with ID "{notice_id}"')
        if not is_admin and notice.user_id is not None and notice.user_id != caller_uid:
            raise NoticeForbidden(f'not allowed to access notice with id "{notice_id}"')
        return notice

    def prune(self, now: datetime | None = None) -> list[str]:
        """Drop expired notices; returns their ids."""
        now = now or self._clock()
        gone = [n for n in self._by_id.values() if n.expired(now)]
        for n in gone:
            self._remove(n)
        return [n.id for n in gone]

    def __len__(self) -> int:
        return len(self._by_id)

    # internals

    def _enforce_max(self) -> None:
        excess = len(self._by_id) - self._max
        if excess <= 0:
            return
        oldest = sorted(self._by_id.values(), key=lambda n: (n.last_occurred, int(n.id)))
        for n in oldest[:excess]:
            self._remove(n)

    def _remove(self, n: Notice) -> None:
        self._by_id.pop(n.id, None)
        self._by_key.pop((n.user_id, n.type, n.key), None)
        self._call(self.on_removed, n)

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    @staticmethod
    def _call(hook: SaveHook | None, notice: Notice) -> None:
        if hook is None:
            return
        try:
            hook(notice)
        except Exception:
            log.exception("notice hook failed for notice %s", notice.id)
