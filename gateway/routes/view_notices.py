"""`GET /v1/notices` from the view (the `view` option's filter "notices").

The plan service's view entry is every unexpired notice, in order, whoever
asks (services/plan/server.py). Each request is answered with the notices
Pebble's rule lets its caller see for its query — the plan service's own
rule, `services.common.notice_filter`, given the caller the RPC would be
given (its uid, whether it is an admin) — and expiry is looked at when
answering, as the RPC does.

What the filter cannot answer as the RPC would goes to the RPC: a
`timeout` (a long-poll), a query that does not transcode, one the rule
refuses (Pebble's words come from the RPC), a caller with no uid.

The encoded answer is kept per filter (computed from the caller's uid and
admin-ness and the query, so it holds all the answer depends on besides
the notices), until the entry changes or a held notice expires.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web

from gateway import shaping
from gateway.transcode import BadRequest, build_request, to_json_value
from services.common.durations import parse_duration
from services.common.notice_filter import NoticeError, NoticeFilter, expired, expires_at, select
from services.common.signing import Caller
from services.common.times import parse_time, utcnow
from shoal.descriptors import Method

MAX_KEPT = 256  # encoded answers kept per entry (queries with `after` vary)
_NEVER = datetime.max.replace(tzinfo=UTC)


@dataclass
class ViewedNotice:
    """A notice the view holds, as the filter rule reads it."""

    id: str
    user_id: int | None
    type: str
    key: str
    last_repeated: datetime
    last_occurred: datetime
    expire_after: float
    message: object  # the plan.Notice message

    def expired(self, now: datetime) -> bool:
        return expired(self.last_occurred, self.expire_after, now)

    @property
    def expires(self) -> datetime:
        return expires_at(self.last_occurred, self.expire_after)


def _viewed(message) -> ViewedNotice:
    return ViewedNotice(
        id=message.id,
        user_id=message.user_id if message.HasField("user_id") else None,
        type=message.type,
        key=message.key,
        last_repeated=parse_time(message.last_repeated),
        last_occurred=parse_time(message.last_occurred),
        expire_after=parse_duration(message.expire_after) if message.HasField("expire_after") else 0.0,
        message=message,
    )


class NoticesFilter:
    """The answers of one route (ListNotices) from its view entry."""

    def __init__(self, method: Method):
        self.method = method
        self._entry = None  # the entry the records below were read from
        self._records: list[ViewedNotice] = []
        self._by_message: dict[bytes, ViewedNotice] = {}
        self._kept: dict[tuple, tuple[int, bytes]] = {}
        self._next_expiry = _NEVER

    def answer(self, request: web.Request, caller: Caller, entry) -> tuple[int, bytes] | None:
        """The (status, body) of `request` from `entry`, or None: ask the RPC."""
        if caller.uid is None:
            return None
        query = list(request.query.items())
        if any(name == "timeout" for name, _ in query):
            return None
        try:
            message = build_request(self.method, {}, query, None, request.headers)
            filters = NoticeFilter.of_request(message, caller.uid, caller.at_least("admin"))
        except (BadRequest, NoticeError):
            return None
        now = utcnow()
        self._read(entry, now)
        key = filters.key()
        kept = self._kept.get(key)
        if kept is None:
            found = select(self._records, filters, now)
            response = self.method.response_class(notices=[n.message for n in found])
            shaped = shaping.answer(self.method, to_json_value(self.method, response), True)
            kept = (shaped.status, shaped.body)
            if len(self._kept) >= MAX_KEPT:
                self._kept.clear()
            self._kept[key] = kept
        return kept

    def _read(self, entry, now: datetime) -> None:
        """Records of the entry's notices (reading only those that changed),
        and the kept answers dropped when it changed or a notice expired."""
        if entry is not self._entry:
            previous, self._by_message = self._by_message, {}
            for message in entry.notices:
                raw = message.SerializeToString(deterministic=True)
                self._by_message[raw] = previous.get(raw) or _viewed(message)
            self._records = list(self._by_message.values())
            self._entry = entry
            self._kept.clear()
            self._next_expiry = self._soonest(now)
        elif now >= self._next_expiry:
            self._kept.clear()
            self._next_expiry = self._soonest(now)

    def _soonest(self, now: datetime) -> datetime:
        return min((n.expires for n in self._records if n.expires >= now), default=_NEVER)


FILTERS = {"notices": NoticesFilter}
