"""Durations in Go's syntax, which Pebble's API and plan YAML use, within
Go's limits (an int64 of nanoseconds: beyond about 2562047h is invalid).

`parse_duration("1m30s") == 90.0` and `format_duration(90.0) == "1m30s"`.
Seconds are floats here; formatting works on whole nanoseconds as Go does.
"""

from __future__ import annotations

import re

_UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,  # micro sign
    "μs": 1_000,  # Greek mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)([a-zµμ]+)")
_MAX_NANOS = 2**63 - 1  # Go's Duration is an int64 of nanoseconds: ~2562047h47m16.854775807s


def parse_duration(text: str) -> float:
    """Seconds in `text` ("300ms", "1.5h", "2h45m"); ValueError if invalid."""
    if not isinstance(text, str):
        raise ValueError(f"invalid duration {text!r}")  # noqa: TRY004 - callers catch ValueError for any bad duration
    body = text
    sign = 1
    if body[:1] in "+-" and body:
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    if body == "0":
        return 0.0
    if not body:
        raise ValueError(f'invalid duration "{text}"')
    total = 0
    position = 0
    while position < len(body):
        match = _PART.match(body, position)
        if not match or match.group(1) in ("", ".") or match.group(2) not in _UNITS:
            raise ValueError(f'invalid duration "{text}"')
        number, unit = match.groups()
        whole, _, fraction = number.partition(".")
        scale = _UNITS[unit]
        total += int(whole or "0") * scale
        if fraction:
            total += int(fraction) * scale // 10 ** len(fraction)
        position = match.end()
        if total > _MAX_NANOS + (sign < 0):
            raise ValueError(f'invalid duration "{text}"')  # beyond what Go's Duration holds, as Go refuses it
    return sign * total / 1e9


def _trim(digits: str) -> str:
    digits = digits.rstrip("0")
    return "." + digits if digits else ""


def format_duration(seconds: float) -> str:
    """Go's `time.Duration.String()` for `seconds` ("1m0s", "500ms", "0s")."""
    nanos = round(seconds * 1e9)
    if nanos == 0:
        return "0s"
    sign = "-" if nanos < 0 else ""
    nanos = abs(nanos)
    if nanos < 1_000:
        return f"{sign}{nanos}ns"
    if nanos < 1_000_000:
        return f"{sign}{nanos // 1_000}{_trim(f'{nanos % 1_000:03d}')}µs"
    if nanos < 1_000_000_000:
        return f"{sign}{nanos // 1_000_000}{_trim(f'{nanos % 1_000_000:06d}')}ms"
    whole, fraction = divmod(nanos, 1_000_000_000)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{secs}{_trim(f'{fraction:09d}')}s"
    if hours:
        return f"{sign}{hours}h{minutes}m{text}"
    if minutes:
        return f"{sign}{minutes}m{text}"
    return sign + text
