"""Daemon error messages wrapped as Pebble's CLI wraps them after "error: ":
to the terminal's width (80 when it is not a terminal, at most 100, less
one column), continuation lines indented under the message. Paragraphs are
filled to minimise the raggedness of their lines, breaking after
punctuation where it costs little (the rule Go's doc-comment printer
follows); indented lines are kept as they are."""

from __future__ import annotations

import os
import shutil

PUNCTUATION = ".,:;"
NOT_AT_PUNCTUATION = 64


def terminal_width() -> int:
    width = 0
    if os.isatty(1):
        width = shutil.get_terminal_size((0, 0)).columns
    if width <= 0:
        try:
            width = int(os.environ.get("COLUMNS", "0"))
        except ValueError:
            width = 0
    return 80 if width < 40 else width


def wrap_words(words: list[str], width: int) -> list[list[str]]:
    """`words` in lines of at most `width` characters where possible, the
    lines' leftover space squared (plus a penalty for not ending at
    punctuation) as small as it can be; a last line that fits costs nothing."""
    count = len(words)
    if not count:
        return []
    ends = [0]
    for word in words:
        ends.append(ends[-1] + len(word) + 1)

    def weight(i: int, j: int) -> tuple[int, int]:
        length = ends[j] - 1 - ends[i]
        if j == count and length <= width:
            return (0, 0)
        penalty = 0 if words[j - 1][-1] in PUNCTUATION else NOT_AT_PUNCTUATION
        square = (width - length) ** 2
        return (square, penalty) if length > width else (0, square + penalty)

    best: list[tuple[int, int]] = [(0, 0)] + [(0, 0)] * count
    start = [0] * (count + 1)
    for j in range(1, count + 1):
        options = []
        for i in range(j):
            w = weight(i, j)
            options.append(((best[i][0] + w[0], best[i][1] + w[1]), i))
        best[j], start[j] = min(options)
    lines = []
    j = count
    while j > 0:
        lines.append(words[start[j]:j])
        j = start[j]
    return lines[::-1]


def fill(message: str, indent: int, width: int | None = None) -> str:
    """`message` wrapped for printing after an `indent`-wide prefix."""
    width = min(terminal_width() if width is None else width, 100) - 1
    pad = " " * indent
    blocks: list[str] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            words = " ".join(paragraph).split()
            blocks.append("\n".join(pad + " ".join(line) for line in wrap_words(words, width - indent)))
            paragraph.clear()

    for line in message.split("\n"):
        if not line.strip():
            flush()
        elif line[0] in " \t":
            flush()
            blocks.append(pad + line.rstrip())
        else:
            paragraph.append(line)
    flush()
    return "\n\n".join(blocks).strip()
