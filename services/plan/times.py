"""Times as Pebble's API writes them: RFC3339 with up to nanosecond
precision (Go's RFC3339Nano), in UTC or the local zone; aware datetimes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_RFC3339_RE = re.compile(
    r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$", re.IGNORECASE
)


def utcnow() -> datetime:
    return datetime.now(UTC)


def format_time(dt: datetime, *, local: bool = False) -> str:
    """RFC3339 with up to nanosecond precision (Go's RFC3339Nano): trailing zeros of
    the fraction dropped, `Z` for UTC. `local=True` renders in the local time zone."""
    dt = dt.astimezone() if local else dt.astimezone(UTC)
    text = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if dt.microsecond:
        text += f".{dt.microsecond:06d}".rstrip("0")
    return text + _zone(dt)


def format_time_seconds(dt: datetime) -> str:
    """RFC3339 to the second in the local time zone (task log entries)."""
    dt = dt.astimezone()
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + _zone(dt)


def _zone(dt: datetime) -> str:
    offset = dt.utcoffset() or timedelta(0)
    if not offset:
        return "Z"
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"


def parse_time(text: str) -> datetime:
    """Parse an RFC3339 timestamp (nanoseconds accepted, truncated to microseconds)."""
    m = _RFC3339_RE.match(text.strip())
    if not m:
        raise ValueError(f"cannot parse {text!r} as RFC3339 time")
    base, frac, zone = m.groups()
    frac = (frac or "")[:7]  # "." + at most 6 digits
    zone = "+00:00" if zone.upper() == "Z" else zone
    return datetime.fromisoformat(base + frac + zone).astimezone(UTC)
