"""A service's command: its words and an optional trailing `[ ... ]` group
of default arguments (which `pebble run --args` may replace).

Commands are split as Pebble splits them (the shlex of canonical/x-go):
words separated by spaces, tabs and line breaks; '...' taken literally;
"..." where a backslash escapes any character; a backslash outside quotes
escapes the next character; a `#` that starts a word starts a comment to
the end of the line. Its errors are Pebble's: `EOF found when expecting
closing quote`, `EOF found after escape character`.
"""

from __future__ import annotations

_SPACES = " \t\r\n"


def split(command: str) -> list[str]:
    """The words of `command`; ValueError with Pebble's message."""
    words: list[str] = []
    i, n = 0, len(command)
    while i < n:
        c = command[i]
        if c in _SPACES:
            i += 1
            continue
        if c == "#":
            while i < n and command[i] != "\n":
                i += 1
            continue
        word: list[str] = []
        while i < n and command[i] not in _SPACES:
            c = command[i]
            i += 1
            if c == "\\":
                if i == n:
                    raise ValueError("EOF found after escape character")
                word.append(command[i])
                i += 1
            elif c == "'":
                end = command.find("'", i)
                if end < 0:
                    raise ValueError("EOF found when expecting closing quote")
                word.append(command[i:end])
                i = end + 1
            elif c == '"':
                while True:
                    if i == n:
                        raise ValueError("EOF found when expecting closing quote")
                    c = command[i]
                    i += 1
                    if c == '"':
                        break
                    if c == "\\":
                        if i == n:
                            raise ValueError("EOF found after escape character")
                        c = command[i]
                        i += 1
                    word.append(c)
            else:
                word.append(c)
        words.append("".join(word))
    return words


def parse_command(command: str) -> tuple[list[str], list[str]]:
    """Split `command` into its base arguments and the default arguments of
    an optional trailing `[ ... ]` group. ValueError on a malformed group."""
    words = split(command)
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
