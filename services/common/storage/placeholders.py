"""PostgreSQL `$n` placeholders, rewritten for SQLite as `?n`.

Queries are written once, PostgreSQL style: `$1`, `$2`, ... numbered from 1,
and a number may appear several times (`WHERE a = $1 OR b = $1`). SQLite's
`?NNN` form has exactly the same meaning, so the rewrite is a rename. Text
inside string literals ('...'), quoted identifiers ("...") and comments is
left alone. PostgreSQL's dollar-quoted strings (`$$...$$`) are not SQL that
SQLite understands, so they are not supported in shared queries.
"""

from __future__ import annotations

import functools
import re

_TOKENS = re.compile(
    r"""
      '(?:[^']|'')*'          # string literal, '' escapes a quote
    | "(?:[^"]|"")*"          # quoted identifier
    | --[^\n]*                # line comment
    | /\*.*?\*/               # block comment
    | \$(?P<n>[0-9]+)\b       # a placeholder
    """,
    re.VERBOSE | re.DOTALL,
)


def _rename(match: re.Match[str]) -> str:
    number = match.group("n")
    if number is None:
        return match.group(0)
    if int(number) < 1:
        raise ValueError(f"placeholders are numbered from $1, not ${number}")
    return "?" + number


@functools.lru_cache(maxsize=1024)
def to_sqlite(sql: str) -> str:
    """`sql` with each `$n` placeholder rewritten to SQLite's `?n`."""
    return _TOKENS.sub(_rename, sql)
