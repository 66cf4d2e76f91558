"""Which notices a `GET /v1/notices` caller sees: Pebble's rule, in one
place for the plan service (services/plan/notices.py, which holds the
notices) and the gateway (gateway/routes/view_notices.py, which answers
from its view of them).

The rule reads any notice-like object with `id`, `user_id` (None: public),
`type`, `key`, `last_repeated` and `expired(now)`: the plan service's
`Notice`, or the gateway's record of a notice its view holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from services.common.errors import DomainError, Failure
from services.common.gojson import go_quote
from services.common.times import parse_time

CHANGE_UPDATE = "change-update"
CUSTOM = "custom"
WARNING = "warning"
KNOWN_TYPES = frozenset({CHANGE_UPDATE, CUSTOM, WARNING})

_MAX_UINT32 = 2**32 - 1


class NoticeError(DomainError):
    """A notice API error with Pebble's message."""


class NoticeInvalid(NoticeError):
    failure = Failure.INVALID


class NoticeForbidden(NoticeError):
    failure = Failure.FORBIDDEN


class NoticeNotFound(NoticeError):
    failure = Failure.NOT_FOUND


class NoticeLike(Protocol):
    id: str
    user_id: int | None
    type: str
    key: str
    last_repeated: datetime

    def expired(self, now: datetime) -> bool: ...


def expires_at(last_occurred: datetime, expire_after: float) -> datetime:
    """When a notice expires: `expire_after` seconds after it last occurred."""
    try:
        return last_occurred + timedelta(seconds=expire_after)
    except OverflowError:
        return datetime.max.replace(tzinfo=last_occurred.tzinfo)


def expired(last_occurred: datetime, expire_after: float, now: datetime) -> bool:
    """A notice is gone once it is past `expires_at`."""
    return expires_at(last_occurred, expire_after) < now


@dataclass
class NoticeFilter:
    """What a query matches. Visibility: with `all_users` every notice; otherwise
    public notices plus those of `user_id` (public only when `user_id` is None).
    `nothing`: the types asked for are all unknown, so nothing matches and the
    API answers an empty list at once (without waiting)."""

    user_id: int | None = None
    all_users: bool = False
    types: list[str] = field(default_factory=list)  # empty = any type
    keys: list[str] = field(default_factory=list)  # empty = any key
    after: datetime | None = None  # only notices last repeated strictly after
    nothing: bool = False

    def matches(self, n: NoticeLike) -> bool:
        if self.nothing:
            return False
        if not self.all_users and n.user_id is not None and n.user_id != self.user_id:
            return False
        if self.types and n.type not in self.types:
            return False
        if self.keys and n.key not in self.keys:
            return False
        return self.after is None or n.last_repeated > self.after

    def key(self) -> tuple:
        """Everything the answer to this filter depends on, the notices aside."""
        return self.user_id, self.all_users, tuple(self.types), tuple(self.keys), self.after, self.nothing

    @classmethod
    def from_query(
        cls,
        caller_uid: int | None,
        is_admin: bool,
        *,
        user_id: Iterable[str] = (),
        users: Iterable[str] = (),
        types: Iterable[str] = (),
        keys: Iterable[str] = (),
        after: str = "",
    ) -> NoticeFilter:
        """Build the filter of `GET /v1/notices` from its query parameters (each
        given as the list of its values, `after` as its one value), refused as
        Pebble refuses them and in its order: user-id, users, types (all
        unknown: a filter matching `nothing`, and `after` is not looked at),
        after."""
        if caller_uid is None:
            raise NoticeForbidden("cannot determine UID of request, so cannot retrieve notices")
        flt = cls(user_id=caller_uid)
        user_ids = list(user_id)
        if user_ids:
            if not is_admin:
                raise NoticeForbidden('only admins may use the "user-id" filter')
            flt.user_id = _parse_user_id(user_ids)
        user_sets = list(users)
        if user_sets:
            if not is_admin:
                raise NoticeForbidden('only admins may use the "users" filter')
            if user_ids:
                raise NoticeInvalid('cannot use both "users" and "user-id" parameters')
            if user_sets[0] != "all":
                raise NoticeInvalid('invalid "users" filter: must be "all"')
            flt.all_users = True
        asked = _list_param(types)
        flt.types = list(dict.fromkeys(t for t in asked if t in KNOWN_TYPES))
        if asked and not flt.types:
            flt.nothing = True
            return flt
        flt.keys = _list_param(keys)
        if after:
            try:
                flt.after = parse_time(after)
            except ValueError as exc:
                raise NoticeInvalid(f'invalid "after" timestamp: {exc}') from None
        return flt

    @classmethod
    def of_request(cls, request, caller_uid: int | None, is_admin: bool) -> NoticeFilter:
        """The filter of a `ListNoticesRequest` (shoal.v1.plan) sent by a caller."""
        return cls.from_query(caller_uid, is_admin, user_id=list(request.user_id),
                              users=[request.users] if request.users else [],
                              types=list(request.types), keys=list(request.keys), after=request.after)


def select(notices: Iterable[NoticeLike], filters: NoticeFilter, now: datetime) -> list:
    """The unexpired notices `filters` matches, ordered by last-repeated (then id)."""
    if filters.nothing or (filters.types and not any(t in KNOWN_TYPES for t in filters.types)):
        return []
    found = [n for n in notices if not n.expired(now) and filters.matches(n)]
    found.sort(key=lambda n: (n.last_repeated, int(n.id)))
    return found


def _parse_user_id(values: list[str]) -> int:
    """The one user ID of the "user-id" filter: read as Go's strconv.ParseInt
    reads it (its texts), then held to a uint32."""
    items = _list_param(values)
    if len(items) != 1:
        raise NoticeInvalid('invalid "user-id" filter: must only include one "user-id"')
    number = _go_parse_int(items[0])
    if not 0 <= number <= _MAX_UINT32:
        raise NoticeInvalid(f'invalid "user-id" filter: user ID is not a valid uint32: {number}')
    return number


def _go_parse_int(text: str) -> int:
    """Go's strconv.ParseInt(text, 10, 64); NoticeInvalid with its text."""
    digits = text[1:] if text[:1] in "+-" else text
    value = 0
    for char in digits:
        if not ("0" <= char <= "9"):
            break
        value = value * 10 + ord(char) - 48
        if value > 2**64 - 1:  # past a uint64 Go stops at once: out of range
            raise NoticeInvalid(f'invalid "user-id" filter: strconv.ParseInt: parsing {go_quote(text)}: '
                                "value out of range")
    else:
        if digits:
            negative = text[:1] == "-"
            if value > 2**63 - (0 if negative else 1):
                raise NoticeInvalid(f'invalid "user-id" filter: strconv.ParseInt: parsing {go_quote(text)}: '
                                    "value out of range")
            return -value if negative else value
    raise NoticeInvalid(f'invalid "user-id" filter: strconv.ParseInt: parsing {go_quote(text)}: invalid syntax')


def _list_param(values: Iterable[str]) -> list[str]:
    """Repeated and/or comma-separated values, trimmed, empties dropped."""
    return [item.strip() for v in values for item in v.split(",") if item.strip()]
