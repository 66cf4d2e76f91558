"""A layer's durations, exactly as Go's time.ParseDuration reads them and
time.Duration.String writes them: whole nanoseconds in a signed 64-bit
range, so `99999999999h` is refused as Pebble refuses it, and the plan
shows `2562047h47m16.854775807s` back unchanged.

`Duration` is a float of seconds (what the supervisor and the checks
manager compute with) that also carries its exact nanoseconds.
"""

from __future__ import annotations

from typing import Self

_UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,  # U+00B5 micro sign
    "μs": 1_000,  # U+03BC Greek mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_LIMIT = 1 << 63


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
        return f"Duration({format_duration(self.nanos)})"


def _leading_int(text: str, i: int) -> tuple[int, int]:
    value = 0
    while i < len(text) and "0" <= text[i] <= "9":
        value = value * 10 + ord(text[i]) - 48
        if value > _LIMIT:
            raise ValueError(text)
        i += 1
    return value, i


def _leading_fraction(text: str, i: int) -> tuple[int, float, int]:
    value, scale, overflow = 0, 1.0, False
    while i < len(text) and "0" <= text[i] <= "9":
        if not overflow:
            following = value * 10 + ord(text[i]) - 48
            if value > (_LIMIT - 1) // 10 or following > _LIMIT:
                overflow = True
            else:
                value, scale = following, scale * 10
        i += 1
    return value, scale, i


def parse_duration(text: str) -> Duration:
    """Go's time.ParseDuration; ValueError for anything it refuses."""
    i, negative = 0, False
    if text[:1] in ("-", "+"):
        negative, i = text[0] == "-", 1
    if text[i:] == "0":
        return Duration(0)
    if i == len(text):
        raise ValueError(text)
    total = 0
    while i < len(text):
        if not (text[i] == "." or "0" <= text[i] <= "9"):
            raise ValueError(text)
        start = i
        whole, i = _leading_int(text, i)
        had_whole = i != start
        fraction, scale, had_fraction = 0, 1.0, False
        if i < len(text) and text[i] == ".":
            start = i + 1
            fraction, scale, i = _leading_fraction(text, start)
            had_fraction = i != start
        if not had_whole and not had_fraction:
            raise ValueError(text)
        start = i
        while i < len(text) and text[i] != "." and not "0" <= text[i] <= "9":
            i += 1
        unit = _UNITS.get(text[start:i])
        if unit is None:
            raise ValueError(text)
        if whole > _LIMIT // unit:
            raise ValueError(text)
        whole *= unit
        if fraction:
            whole += int(float(fraction) * (unit / scale))
            if whole > _LIMIT:
                raise ValueError(text)
        total += whole
        if total > _LIMIT:
            raise ValueError(text)
    if not negative and total > _LIMIT - 1:
        raise ValueError(text)
    return Duration(-total if negative else total)


def _fraction(value: int, digits: int) -> str:
    text = f"{value:0{digits}d}".rstrip("0")
    return "." + text if text else ""


def format_duration(nanos: int) -> str:
    """Go's time.Duration.String ("1m0s", "500ms", "0s")."""
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


def seconds_text(value: float) -> str:
    """A duration the model holds (a Duration, or plain seconds) in Go's form."""
    nanos = value.nanos if isinstance(value, Duration) else round(value * 1e9)
    return format_duration(nanos)
