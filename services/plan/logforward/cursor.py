"""One target's place in one service's output buffer.

Pebble's forwarder reads each service's output ring buffer (100 KiB) with
its own iterator, starting at the oldest data the buffer holds. Output never
waits for a target: a target that falls more than the buffer behind finds
its place overwritten, carries on from the oldest line still there, and is
told so with a `(... output truncated ...)` entry. A `Cursor` is that
iterator over Shoal's `LogBuffer`: a position, nothing copied until the
target takes lines, and at most `PREFETCH` lines held between buffer reads
(Pebble's reader holds up to its 4 KiB parser buffer).
"""

from __future__ import annotations

from collections import deque
from datetime import datetime

from services.plan.logbuffer import LogBuffer, LogEntry
from services.plan.logforward.entries import Entry, from_log_entry, truncated_after

PREFETCH = 100  # lines read from the buffer at a time


class Cursor:
    def __init__(self, buffer: LogBuffer, position: int | None = None):
        self.buffer = buffer
        self.service = buffer.service
        self.position = buffer.first_position if position is None else position  # next line to read
        self.dropped_lines = 0
        self._lines: deque[LogEntry] = deque()  # read from the buffer, not taken yet
        self._pieces: deque[Entry] = deque()  # the rest of a line cut in pieces
        self._truncated = False
        self._last: Entry | None = None  # the last entry taken

    def _fill(self) -> None:
        if self._lines:
            return
        first = self.buffer.first_position
        if self.position < first:
            self.dropped_lines += first - self.position
            self.position = first
            self._truncated = self._last is not None  # nothing to mark before the first line taken
        if self.position < self.buffer.position:
            lines = self.buffer.read(self.position, PREFETCH)
            self._lines.extend(lines)
            self.position += len(lines)

    def pending(self) -> bool:
        return bool(self._pieces or self._lines or self._truncated) or self.position < self.buffer.position

    def peek_time(self) -> datetime | None:
        """The time of the entry `take` would return (None: nothing to take)."""
        if self._pieces:
            return self._pieces[0].time
        self._fill()
        if self._truncated:
            return self._last.time
        return self._lines[0].time if self._lines else None

    def take(self) -> Entry | None:
        """The next entry for the target, or None."""
        if not self._pieces:
            self._fill()
            if self._truncated:
                self._truncated = False
                self._last = truncated_after(self._last)
                return self._last
            if not self._lines:
                return None
            self._pieces.extend(from_log_entry(self._lines.popleft()))
        self._last = self._pieces.popleft()
        return self._last
