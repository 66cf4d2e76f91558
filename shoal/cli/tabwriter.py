"""Tables laid out as Pebble's CLI lays them out with Go's text/tabwriter
(minimum cell width 5, padding 2, spaces): cells end with a tab, a line's
last cell is written as it is, and a column's width is that of its widest
cell plus the padding over each run of consecutive lines that have a cell
in that column."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

MIN_WIDTH = 5
PADDING = 2


def layout(text: str, min_width: int = MIN_WIDTH, padding: int = PADDING) -> str:
    """`text` (lines of tab-terminated cells) aligned into columns."""
    lines = [line.split("\t") for line in text.split("\n")]
    widths: list[list[int]] = [[0] * (len(cells) - 1) for cells in lines]
    for column in range(max((len(cells) - 1 for cells in lines), default=0)):
        row = 0
        while row < len(lines):
            if len(lines[row]) - 1 <= column:
                row += 1
                continue
            end = row
            width = min_width
            while end < len(lines) and len(lines[end]) - 1 > column:
                width = max(width, len(lines[end][column]) + padding)
                end += 1
            for each in range(row, end):
                widths[each][column] = width
            row = end
    out = []
    for cells, cell_widths in zip(lines, widths, strict=True):
        out.append("".join(cell.ljust(width) for cell, width in zip(cells, cell_widths, strict=False))
                   + cells[-1])
    return "\n".join(out)


def table(rows: Iterable[Sequence[object]]) -> str:
    """Rows of cells (the first one usually the headers) as Pebble prints a
    table, each line ending with a newline."""
    text = "".join("\t".join(str(cell) for cell in row) + "\n" for row in rows)
    return layout(text)
