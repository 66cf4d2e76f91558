"""Label values with `$VAR` and `${VAR}` taken from the service's environment.

Pebble expands them with Go's `os.Expand` rules, reimplemented here:
- `$NAME` takes the longest run of ASCII letters, digits and `_`;
- `${NAME}` takes everything up to the next `}`;
- `$` followed by one of `*#$@!?-` or a digit names that one character
  (also as `${x}`);
- `${}` and an unclosed `${` are dropped; a `$` followed by nothing that
  can start a name (or at the very end) stays as it is;
- an unknown variable expands to the empty string.
"""

from __future__ import annotations

from collections.abc import Mapping

_SPECIAL = frozenset("*#$@!?-0123456789")


def _is_name_char(c: str) -> bool:
    return c == "_" or ("0" <= c <= "9") or ("a" <= c <= "z") or ("A" <= c <= "Z")


def _name_at(s: str) -> tuple[str, int]:
    """The variable name at the start of `s` (just after a `$`) and how many
    characters it spans; ("", n > 0) is bad syntax to drop, ("", 0) no name."""
    if s[0] == "{":
        if len(s) > 2 and s[1] in _SPECIAL and s[2] == "}":
            return s[1], 3
        end = s.find("}", 1)
        if end == 1:
            return "", 2
        if end < 0:
            return "", 1
        return s[1:end], end + 1
    if s[0] in _SPECIAL:
        return s[0], 1
    i = 0
    while i < len(s) and _is_name_char(s[i]):
        i += 1
    return s[:i], i


def expand(text: str, env: Mapping[str, str]) -> str:
    """`text` with its variables replaced from `env` (Go's os.Expand)."""
    out: list[str] = []
    start = 0
    j = 0
    while j < len(text):
        if text[j] == "$" and j + 1 < len(text):
            out.append(text[start:j])
            name, width = _name_at(text[j + 1:])
            if name:
                out.append(env.get(name, ""))
            elif width == 0:
                out.append("$")
            j += width
            start = j + 1
        j += 1
    if not out:
        return text
    return "".join(out) + text[start:]


def evaluate(labels: Mapping[str, str], env: Mapping[str, str]) -> dict[str, str]:
    """A target's labels for one service, expanded with that service's environment."""
    return {key: expand(value, env) for key, value in labels.items()}
