"""How Pebble's YAML library (go-yaml v3) reads a plain scalar, and Go's
number parsing underneath it — so that Shoal decodes a layer's values, and
decides when the plan's YAML must quote a string, exactly as Pebble does.

- `resolve(text)`: the tag (and value) an unquoted, untagged scalar takes:
  null, bool, int, float, timestamp, merge or str. Only YAML 1.2's `true`,
  `false`, `null`, `~` and friends are special; `yes`/`on` stay strings (but
  are still quoted on output, as the encoder does for YAML 1.1 readers).
- `plain_is_safe(text)`: whether a string may be written without quotes.
- `parse_int` / `parse_float`: Go's `strconv.ParseInt(s, 0, 64)`,
  `ParseUint(s, 0, 64)` and `ParseFloat(s, 64)`, raising ValueError.
"""

from __future__ import annotations

import math
import re
from datetime import date

NULL = "tag:yaml.org,2002:null"
BOOL = "tag:yaml.org,2002:bool"
INT = "tag:yaml.org,2002:int"
FLOAT = "tag:yaml.org,2002:float"
STR = "tag:yaml.org,2002:str"
TIMESTAMP = "tag:yaml.org,2002:timestamp"
MERGE = "tag:yaml.org,2002:merge"
MAP = "tag:yaml.org,2002:map"
SEQ = "tag:yaml.org,2002:seq"
BINARY = "tag:yaml.org,2002:binary"
LONG_PREFIX = "tag:yaml.org,2002:"

INT64_MAX = (1 << 63) - 1
UINT64_MAX = (1 << 64) - 1

_WORDS: dict[str, tuple[str, object]] = {}
for _value, _tag, _spellings in (
    (True, BOOL, ("true", "True", "TRUE")),
    (False, BOOL, ("false", "False", "FALSE")),
    (None, NULL, ("", "~", "null", "Null", "NULL")),
    (math.nan, FLOAT, (".nan", ".NaN", ".NAN")),
    (math.inf, FLOAT, (".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF")),
    (-math.inf, FLOAT, ("-.inf", "-.Inf", "-.INF")),
    ("<<", MERGE, ("<<",)),
):
    for _spelling in _spellings:
        _WORDS[_spelling] = (_tag, _value)

# The first character decides which readings are tried (anything else is a string).
_SIGN, _DIGIT, _WORD, _DOT = "S", "D", "M", "."
_HINTS = {"+": _SIGN, "-": _SIGN, ".": _DOT, **dict.fromkeys("0123456789", _DIGIT),
          **dict.fromkeys("yYnNtTfFoO~", _WORD)}

_YAML_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_BASE60_FLOAT = re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$")
_OLD_BOOLS = frozenset(["y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "n", "N", "no", "No", "NO", "off", "Off", "OFF"])

# Go's float syntax: digit runs may hold single underscores between digits.
_D = r"[0-9](?:_?[0-9])*"
_H = r"_?[0-9a-fA-F](?:_?[0-9a-fA-F])*"
_DECIMAL_FLOAT = re.compile(rf"[+-]?(?:{_D}(?:\.(?:{_D})?)?|\.{_D})(?:[eE][+-]?{_D})?")
_HEX_FLOAT = re.compile(rf"[+-]?0[xX](?:{_H}(?:\.(?:[0-9a-fA-F](?:_?[0-9a-fA-F])*)?)?|\.{_H})[pP][+-]?{_D}")
_SPECIAL_FLOAT = re.compile(r"(?i)[+-]?(?:inf|infinity)|nan")

# go-yaml's timestamp layouts: date, and date with a time (T/t and a zone, or
# a space and no zone); one- or two-digit fields as Go's time.Parse reads them.
_DATE = r"(\d{4})-(\d\d?)-(\d\d?)"
_CLOCK = r"(\d\d?):(\d\d?):(\d\d?)(?:[.,]\d+)?"
_TIMESTAMPS = (
    re.compile(rf"{_DATE}[Tt]{_CLOCK}(?:Z|[+-]\d\d:\d\d)"),
    re.compile(rf"{_DATE} {_CLOCK}"),
    re.compile(_DATE),
)


def parse_int(text: str, unsigned: bool = False) -> int:
    """Go's strconv.ParseInt(text, 0, 64) (ParseUint with `unsigned`):
    decimal, 0x/0o/0b prefixes, a leading 0 for octal; ValueError."""
    body = text
    negative = False
    if not unsigned and body[:1] in ("+", "-"):
        negative = body[0] == "-"
        body = body[1:]
    if not body:
        raise ValueError(text)
    base = 10
    if body[0] == "0":
        prefix = body[1:2].lower()
        if len(body) >= 3 and prefix in ("b", "o", "x"):
            base, body = {"b": 2, "o": 8, "x": 16}[prefix], body[2:]
        else:
            base, body = 8, body[1:]
    digits = "0123456789abcdef"[:base]
    if not all(c.lower() in digits for c in body):
        raise ValueError(text)
    value = int(body, base) if body else 0
    limit = UINT64_MAX if unsigned else (INT64_MAX + 1 if negative else INT64_MAX)
    if value > limit:
        raise ValueError(text)
    return -value if negative else value


def parse_float(text: str) -> float:
    """Go's strconv.ParseFloat(text, 64); ValueError when malformed or out
    of range (Go's ErrRange: a finite number too large for a float64)."""
    if _SPECIAL_FLOAT.fullmatch(text):
        lowered = text.lower().lstrip("+")
        return math.nan if lowered == "nan" else (-math.inf if lowered.startswith("-") else math.inf)
    if _DECIMAL_FLOAT.fullmatch(text):
        value = float(text.replace("_", ""))
    elif _HEX_FLOAT.fullmatch(text):
        body = text.replace("_", "")
        sign = -1.0 if body.startswith("-") else 1.0
        try:
            value = sign * float.fromhex(body.lstrip("+-"))
        except OverflowError:
            raise ValueError(text) from None
    else:
        raise ValueError(text)
    if math.isinf(value):
        raise ValueError(text)
    return value


def is_timestamp(text: str) -> bool:
    for layout in _TIMESTAMPS:
        match = layout.fullmatch(text)
        if not match:
            continue
        year, month, day = (int(part) for part in match.groups()[:3])
        try:
            date(year or 2000, month, day)  # Go's year 0 is a leap year, as 2000
        except ValueError:
            continue
        clock = match.groups()[3:]
        if clock and (int(clock[0]) > 23 or int(clock[1]) > 59 or int(clock[2]) > 59):
            continue
        return True
    return False


def resolve(text: str) -> tuple[str, object]:
    """The tag and value an unquoted, untagged scalar `text` takes."""
    hint = _HINTS.get(text[:1], "N" if not text else "")
    if not hint:
        return STR, text
    if text in _WORDS and text != "<<":
        return _WORDS[text]
    if hint == _DOT:
        try:
            return FLOAT, parse_float(text)
        except ValueError:
            return STR, text
    if hint in (_DIGIT, _SIGN):
        if is_timestamp(text):
            return TIMESTAMP, text
        plain = text.replace("_", "")
        for unsigned in (False, True):
            try:
                return INT, parse_int(plain, unsigned)
            except ValueError:
                pass
        if _YAML_FLOAT.match(plain):
            try:
                return FLOAT, parse_float(plain)
            except ValueError:
                pass
    return STR, text


def plain_is_safe(text: str) -> bool:
    """Whether go-yaml writes the string `text` unquoted (leaving the
    emitter's own checks for indicators and spaces aside): it must read back
    as a string, and not as a YAML 1.1 bool or base-60 number either."""
    if resolve(text)[0] != STR:
        return False
    if text in _OLD_BOOLS:
        return False
    return not (text[:1] in "+-0123456789" and text and ":" in text and _BASE60_FLOAT.match(text))


def short_tag(tag: str) -> str:
    """`!!int` for the long form of a core tag; other tags as they are."""
    return "!!" + tag[len(LONG_PREFIX):] if tag.startswith(LONG_PREFIX) else tag


