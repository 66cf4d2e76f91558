"""A service's command: its words and an optional trailing `[ ... ]` group
of default arguments (which `pebble run --args` may replace)."""

from __future__ import annotations

import shlex


def parse_command(command: str) -> tuple[list[str], list[str]]:
    """Split `command` into its base arguments and the default arguments of
    an optional trailing `[ ... ]` group. ValueError on a malformed group."""
    try:
        words = shlex.split(command)
    except ValueError as error:
        raise ValueError(str(error).lower()) from None
    base: list[str] = []
    extra: list[str] = []
    in_group = had_group = False
    for index, word in enumerate(words):
        if in_group:
            if word == "[":
                raise ValueError("cannot nest [ ... ] groups")
            if word == "]":
                in_group = False
            else:
                extra.append(word)
            continue
        if had_group:
            raise ValueError("cannot have any arguments after [ ... ] group")
        if word == "[":
            if index == 0:
                raise ValueError("cannot start command with [ ... ] group")
            in_group = had_group = True
            continue
        if word == "]":
            raise ValueError("cannot have ] outside of [ ... ] group")
        base.append(word)
    return base, extra
