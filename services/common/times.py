"""Times as Pebble's API writes them: RFC3339 with up to nanosecond
precision (Go's RFC3339Nano), in UTC or the local zone; aware datetimes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.common.durations import time_quote


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


_RFC3339 = "2006-01-02T15:04:05Z07:00"


class TimeParseError(ValueError):
    """A time Go's time.Parse refuses; str() is Go's text."""


def _go_quote(text: str) -> str:
    return time_quote(text.encode("utf-8", "surrogatepass"))  # as time's errors quote


def _digit(text: str, i: int) -> bool:
    return i < len(text) and "0" <= text[i] <= "9"


def _number(text: str, fixed: bool) -> tuple[int, str] | None:
    """Go's getnum: one or two digits (two when `fixed`) and the rest."""
    if not _digit(text, 0):
        return None
    if not _digit(text, 1):
        return None if fixed else (int(text[0]), text[1:])
    return int(text[:2]), text[2:]


def _days_in(month: int, year: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def parse_time(text: str) -> datetime:
    """Go's time.Parse(time.RFC3339, text), as lenient as Go's (one-digit
    hours, a comma before the fraction, offsets up to 24:00), in UTC; a
    TimeParseError (a ValueError) in Go's words otherwise (`parsing time
    "yesterday" as "2006-01-02T15:04:05Z07:00": cannot parse "yesterday" as
    "2006"`). Nanoseconds are kept to the microsecond, years before 1 and
    after 9999 held at datetime's own limits."""

    def cannot(value: str, element: str) -> TimeParseError:
        return TimeParseError(f"parsing time {_go_quote(text)} as {_go_quote(_RFC3339)}: "
                              f"cannot parse {_go_quote(value)} as {_go_quote(element)}")

    def out_of_range(what: str) -> TimeParseError:
        return TimeParseError(f"parsing time {_go_quote(text)}: {what} out of range")

    def skip(value: str, literal: str) -> str:
        if not value.startswith(literal):
            raise cannot(value, literal)
        return value[len(literal):]

    value = text
    if len(value) < 4 or not _digit(value, 0) or not value[:4].isascii() or not value[:4].isdigit():
        raise cannot(value, "2006")
    year, value = int(value[:4]), value[4:]
    fields = []
    for literal, element, fixed, limit, name in (("-", "01", True, 12, "month"), ("-", "02", True, None, None),
                                                 ("T", "15", False, 23, "hour"), (":", "04", True, 59, "minute"),
                                                 (":", "05", True, 59, "second")):
        value = skip(value, literal)
        number = _number(value, fixed)
        if number is None:
            raise cannot(value, element)
        found, value = number
        if limit is not None and not (1 if name == "month" else 0) <= found <= limit:
            raise out_of_range(name)
        fields.append(found)
    month, day, hour, minute, second = fields
    nanos = 0
    if len(value) >= 2 and value[0] in ".," and _digit(value, 1):
        end = 2
        while _digit(value, end):
            end += 1
        digits = value[1:min(end, 10)]
        nanos = int(digits) * 10 ** (9 - len(digits))
        value = value[end:]
    offset = 0
    if value[:1] == "Z":
        value = value[1:]
    else:
        if len(value) < 6 or value[3] != ":":
            raise cannot(value, "Z07:00")
        hours, minutes = _number(value[1:3], True), _number(value[4:6], True)
        hour_offset = hours[0] if hours else 0
        minute_offset = minutes[0] if minutes and hours else 0
        if hour_offset > 24:  # out of range is told before a bad sign or digits, as Go does
            raise out_of_range("time zone offset hour")
        if minute_offset > 60:
            raise out_of_range("time zone offset minute")
        if hours is None or minutes is None or value[0] not in "+-":
            raise cannot(value, "Z07:00")
        offset = (hour_offset * 60 + minute_offset) * 60 * (-1 if value[0] == "-" else 1)
        value = value[6:]
    if value:
        raise TimeParseError(f"parsing time {_go_quote(text)}: extra text: {_go_quote(value)}")
    if not 1 <= day <= _days_in(month, year):
        raise out_of_range("day")
    seconds = _days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset
    lowest = _days_from_civil(1, 1, 1) * 86400
    highest = _days_from_civil(9999, 12, 31) * 86400 + 86399
    if seconds < lowest:
        return datetime.min.replace(tzinfo=UTC)
    if seconds > highest:
        return datetime.max.replace(tzinfo=UTC)
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds, microseconds=nanos // 1000)


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (any year, 0 too)."""
    year -= month <= 2
    era = year // 400
    of_era = year - era * 400
    of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    of_era_days = of_era * 365 + of_era // 4 - of_era // 100 + of_year
    return era * 146097 + of_era_days - 719468
