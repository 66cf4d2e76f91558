"""What a log target is sent: one service's line with its time.

Pebble's forwarder reads each service's output back through a log parser
with a 4 KiB buffer. A line longer than that buffer arrives as several
entries with the line's time: the first holds what fits after the
`TIME [service] ` prefix, the next ones 4 KiB each. `from_log_entry` cuts
Shoal's lines the same way, so a target sees the same entries.

When a target falls so far behind that a service's buffer has dropped lines
it had not read, Pebble's reader yields `(... output truncated ...)` as an
entry with the time and service of the last line it read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from services.plan.logbuffer import LogEntry, format_log_time

PARSER_SIZE = 4 * 1024  # Pebble's log parser buffer
TRUNCATED = "(... output truncated ...)"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PREFIX_TIME = len("2006-01-02T15:04:05.000Z")  # the time as the log buffer writes it


@dataclass(frozen=True, slots=True)
class Entry:
    time: datetime  # UTC, millisecond precision
    service: str
    message: str  # without a trailing newline

    @property
    def unix_nanos(self) -> int:
        delta = self.time - _EPOCH
        return (delta.days * 86400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000

    @property
    def rfc3339(self) -> str:
        """Go's RFC3339Nano of the time: UTC, fraction without trailing zeros."""
        return format_log_time(self.time)


def from_log_entry(entry: LogEntry) -> list[Entry]:
    """The entries Pebble's parser makes of one line of output."""
    message = entry.message
    prefix = _PREFIX_TIME + len(entry.service.encode()) + 4  # "TIME [service] "
    if prefix + 4 * len(message) + 1 <= PARSER_SIZE:  # short for sure, whatever its characters
        return [Entry(entry.time, entry.service, message)]
    line = message.encode("utf-8", "replace") + b"\n"
    first = max(PARSER_SIZE - prefix, 0)
    if len(line) <= first:
        return [Entry(entry.time, entry.service, message)]
    pieces = [line[:first]] + [line[i:i + PARSER_SIZE] for i in range(first, len(line), PARSER_SIZE)]
    return [
        Entry(entry.time, entry.service, piece.removesuffix(b"\n").decode("utf-8", "replace"))
        for piece in pieces
        if piece
    ]


def truncated_after(last: Entry) -> Entry:
    """The marker for lines dropped after `last` (same time and service)."""
    return Entry(last.time, last.service, TRUNCATED)
