"""Times as Pebble's CLI prints them: relative to today in local time
("today at 07:54 UTC", "yesterday at …", "3 days ago, at …", "in 2 days,
at …", and YYYY-MM-DD beyond 60 days), or with --abs-time, RFC 3339 in
the time's own offset."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

CUTOFF_DAYS = 60
_FRACTION = re.compile(r"(\.\d+)")
GO_ZERO = "0001-01-01T00:00:00Z"


def parse(text: str | None) -> datetime | None:
    """An RFC 3339 time from the API (nanoseconds allowed); None when unset."""
    if not text or text == GO_ZERO:
        return None
    text = _FRACTION.sub(lambda m: m.group(1)[:7], text, count=1)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text)


def _clock(then: datetime) -> str:
    return f"{then:%H:%M} {then.tzname() or then.strftime('%z')}"


def human(then: datetime, now: datetime | None = None) -> str:
    """`then` relative to `now` (default: the current time), in local time."""
    then = then.astimezone()
    now = (now or datetime.now().astimezone()).astimezone()
    days = (then.date() - now.date()).days
    if -CUTOFF_DAYS <= days < -1:
        return f"{-days} days ago, at {_clock(then)}"
    if days == -1:
        return f"yesterday at {_clock(then)}"
    if days == 0:
        return f"today at {_clock(then)}"
    if days == 1:
        return f"tomorrow at {_clock(then)}"
    if 1 < days <= CUTOFF_DAYS:
        return f"in {days} days, at {_clock(then)}"
    return f"{then:%Y-%m-%d}"


def rfc3339(then: datetime) -> str:
    """Go's time.RFC3339: whole seconds, "Z" for a zero offset."""
    offset = then.utcoffset() or timedelta(0)
    if offset == timedelta(0):
        return f"{then:%Y-%m-%dT%H:%M:%S}Z"
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{then:%Y-%m-%dT%H:%M:%S}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def fmt(text: str | None, abs_time: bool = False, placeholder: str = "-") -> str:
    """An API time as Pebble's tables show it; `placeholder` when unset."""
    then = parse(text)
    if then is None:
        return placeholder
    return rfc3339(then) if abs_time else human(then)
