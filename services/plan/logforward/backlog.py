"""One service's lines that one target has not taken yet.

Pebble's forwarder reads each service's output buffer (100 KiB) with its own
cursor; output is never held up by a slow target, and a target that falls
more than the buffer behind loses the oldest lines and is told so with a
`(... output truncated ...)` entry. A `Backlog` is that cursor: lines are
pushed as the service writes them (constant time, never waiting), held up to
`max_bytes` of text, oldest dropped first, and taken by the target's
gatherer in order, with the truncation marker where lines were dropped.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from services.plan.logbuffer import MAX_BYTES, LogEntry
from services.plan.logforward.entries import Entry, from_log_entry, truncated_after


def _size(entry: LogEntry) -> int:
    message = entry.message
    return (len(message) if message.isascii() else len(message.encode("utf-8", "replace"))) + 1


class Backlog:
    def __init__(self, service: str, max_bytes: int = MAX_BYTES, lines: Iterable[LogEntry] = ()):
        self.service = service
        self.max_bytes = max_bytes
        self._lines: deque[tuple[LogEntry, int]] = deque()
        self._bytes = 0
        self._dropped = False  # lines were dropped since the last one taken
        self._last: Entry | None = None  # the last entry taken
        self._ready: deque[Entry] = deque()  # pieces of the line being taken
        self.dropped_lines = 0
        for line in lines:
            self.push(line)

    def __len__(self) -> int:
        """Lines waiting (not counting pieces of a line already begun)."""
        return len(self._lines)

    @property
    def size(self) -> int:
        return self._bytes

    def push(self, line: LogEntry) -> None:
        size = _size(line)
        self._lines.append((line, size))
        self._bytes += size
        while self._bytes > self.max_bytes and len(self._lines) > 1:
            _, dropped = self._lines.popleft()
            self._bytes -= dropped
            self._dropped = True
            self.dropped_lines += 1

    def pending(self) -> bool:
        return bool(self._ready or self._lines)

    def peek_time(self):
        """The time of the next entry `take` returns (None when empty)."""
        if self._ready:
            return self._ready[0].time
        if self._dropped and self._last is not None:
            return self._last.time
        return self._lines[0][0].time if self._lines else None

    def take(self) -> Entry | None:
        """The next entry for the target, or None."""
        if self._ready:
            self._last = self._ready.popleft()
            return self._last
        if self._dropped:
            self._dropped = False
            if self._last is not None:
                self._last = truncated_after(self._last)
                return self._last
        if not self._lines:
            return None
        line, size = self._lines.popleft()
        self._bytes -= size
        self._ready.extend(from_log_entry(line))
        self._last = self._ready.popleft()
        return self._last
