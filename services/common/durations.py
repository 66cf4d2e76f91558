"""Durations in Go's syntax, the one codec that Pebble's API, plan YAML,
notices, exec and token expiries share: `parse_duration` reads exactly
what Go's `time.ParseDuration` reads, within Go's limits (an int64 of
nanoseconds: beyond about 2562047h is invalid), and refuses the rest with
Go's words (`time: invalid duration "soon"`, `time: missing unit in
duration "1.5"`, `time: unknown unit "x" in duration "1x"`);
`format_duration` writes what Go's `time.Duration.String()` writes.

`parse_duration("1m30s") == 90.0` and `format_duration(90.0) == "1m30s"`.
A parsed `Duration` is a float of seconds (what callers compute with) that
also keeps its exact whole nanoseconds, so `2562047h47m16.854775807s`
prints back unchanged.
"""

from __future__ import annotations

from typing import Self

_UNITS = {
    b"ns": 1,
    b"us": 1_000,
    "µs".encode(): 1_000,  # U+00B5 micro sign
    "μs".encode(): 1_000,  # U+03BC Greek mu
    b"ms": 1_000_000,
    b"s": 1_000_000_000,
    b"m": 60_000_000_000,
    b"h": 3_600_000_000_000,
}
_LIMIT = 1 << 63  # Go's Duration is an int64 of nanoseconds

# The longest a long-poll is held, whatever longer wait Go's durations allow
# (~292 years): the plan service answers a notices wait as timed out here,
# and the gateway's deadline for any long-poll is this and its margin.
LONGEST_WAIT = 7 * 24 * 3600.0


class DurationError(ValueError):
    """A duration Go refuses; str() is Go's error text."""


class Duration(float):
    """Seconds, with the exact whole nanoseconds they came from."""

    nanos: int

    def __new__(cls, nanos: int) -> Self:
        value = super().__new__(cls, nanos / 1e9)
        value.nanos = nanos
        return value

    def __reduce__(self):
        return (Duration, (self.nanos,))

    def __deepcopy__(self, memo) -> Duration:
        return self

    def __repr__(self) -> str:
        return f"Duration({format_nanos(self.nanos)})"


def time_quote(data: bytes) -> str:
    """Go's quoting of a duration in its errors: ASCII as is (with `"` and
    `\\` escaped), control characters and every byte of a non-ASCII
    character as `\\xNN`."""
    out = ['"']
    for byte in data:
        if byte >= 0x80 or byte < 0x20:
            out.append(f"\\x{byte:02x}")
        elif byte in b'"\\':
            out.append("\\" + chr(byte))
        else:
            out.append(chr(byte))
    out.append('"')
    return "".join(out)


def _is_digit(byte: int) -> bool:
    return 0x30 <= byte <= 0x39


def _leading_int(data: bytes, i: int) -> tuple[int, int] | None:
    """The digits at `i` as a number and where they end; None past Go's range."""
    value = 0
    while i < len(data) and _is_digit(data[i]):
        if value > _LIMIT // 10:
            return None
        value = value * 10 + data[i] - 0x30
        if value > _LIMIT:
            return None
        i += 1
    return value, i


def _leading_fraction(data: bytes, i: int) -> tuple[int, float, int]:
    """The digits after a point: their value, its scale, where they end (the
    digits past what an int64 holds are read and ignored, as Go does)."""
    value, scale, overflow = 0, 1.0, False
    while i < len(data) and _is_digit(data[i]):
        if not overflow:
            following = value * 10 + data[i] - 0x30
            if value > (_LIMIT - 1) // 10 or following > _LIMIT:
                overflow = True
            else:
                value, scale = following, scale * 10
        i += 1
    return value, scale, i


def parse_duration(text: str) -> Duration:
    """Go's time.ParseDuration: "300ms", "1.5h", "-2h45m", "0"; a
    DurationError (a ValueError) with Go's text for anything Go refuses."""
    if not isinstance(text, str):
        raise DurationError(f"time: invalid duration {text!r}")
    data = text.encode("utf-8", "surrogatepass")
    invalid = DurationError(f"time: invalid duration {time_quote(data)}")
    i, negative = 0, False
    if data[:1] in (b"-", b"+"):
        negative, i = data[:1] == b"-", 1
    if data[i:] == b"0":
        return Duration(0)
    if i == len(data):
        raise invalid
    total = 0
    while i < len(data):
        if not (data[i] == 0x2E or _is_digit(data[i])):  # the next must be [0-9.]
            raise invalid
        start = i
        leading = _leading_int(data, i)
        if leading is None:
            raise invalid
        whole, i = leading
        had_whole = i != start
        fraction, scale, had_fraction = 0, 1.0, False
        if i < len(data) and data[i] == 0x2E:
            start = i + 1
            fraction, scale, i = _leading_fraction(data, start)
            had_fraction = i != start
        if not had_whole and not had_fraction:  # no digits ("." or ".s")
            raise invalid
        start = i
        while i < len(data) and data[i] != 0x2E and not _is_digit(data[i]):
            i += 1
        if i == start:
            raise DurationError(f"time: missing unit in duration {time_quote(data)}")
        unit = _UNITS.get(data[start:i])
        if unit is None:
            raise DurationError(f"time: unknown unit {time_quote(data[start:i])} in duration {time_quote(data)}")
        if whole > _LIMIT // unit:
            raise invalid
        whole *= unit
        if fraction:
            # a float, as Go computes it: nanosecond-exact for fractions of hours
            whole += int(float(fraction) * (unit / scale))
            if whole > _LIMIT:
                raise invalid
        total += whole
        if total > _LIMIT:
            raise invalid
    if not negative and total > _LIMIT - 1:
        raise invalid
    return Duration(-total if negative else total)


def _fraction(value: int, digits: int) -> str:
    text = f"{value:0{digits}d}".rstrip("0")
    return "." + text if text else ""


def format_nanos(nanos: int) -> str:
    """Go's time.Duration.String of a whole number of nanoseconds."""
    if nanos == 0:
        return "0s"
    sign = "-" if nanos < 0 else ""
    n = abs(nanos)
    if n < 1_000:
        return f"{sign}{n}ns"
    if n < 1_000_000:
        return f"{sign}{n // 1_000}{_fraction(n % 1_000, 3)}µs"
    if n < 1_000_000_000:
        return f"{sign}{n // 1_000_000}{_fraction(n % 1_000_000, 6)}ms"
    seconds, fraction = divmod(n, 1_000_000_000)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{secs}{_fraction(fraction, 9)}s"
    if hours:
        return f"{sign}{hours}h{minutes}m{text}"
    if minutes:
        return f"{sign}{minutes}m{text}"
    return sign + text


def format_duration(seconds: float) -> str:
    """Go's `time.Duration.String()` for `seconds` ("1m0s", "500ms", "0s"):
    a parsed Duration's own nanoseconds, else the nearest whole nanosecond."""
    nanos = seconds.nanos if isinstance(seconds, Duration) else round(seconds * 1e9)
    return format_nanos(nanos)
