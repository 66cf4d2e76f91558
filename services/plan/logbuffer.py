"""Service output kept in memory (spec §2.11).

Each service that has been started gets a `LogBuffer`: a ring of lines bounded
to 100 KiB of text, each line stamped with the arrival time of its first byte
(UTC, millisecond precision). A line still waiting for its newline is shown by
reads of the last lines (as Pebble shows it) but reaches followers and log
forwarding only once it is complete. `LogStore` holds the buffers of every service and answers the two
questions `GET /v1/logs` asks: "the last n lines of these services, merged by
time" and "every new line from now on" (follow mode).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import re
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

MAX_BYTES = 100 * 1024  # per service
MAX_LINE = 64 * 1024  # a line without a newline is cut into pieces this long


def utc_now_ms() -> datetime:
    """The current UTC time truncated to milliseconds."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def format_log_time(dt: datetime) -> str:
    """RFC3339 in UTC with the fraction's trailing zeros dropped (Go's RFC3339Nano)."""
    dt = dt.astimezone(UTC)
    text = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if dt.microsecond:
        text += f".{dt.microsecond:06d}".rstrip("0")
    return text + "Z"


@dataclass(frozen=True)
class LogEntry:
    time: datetime  # UTC, millisecond precision
    service: str
    message: str  # one line, without its trailing newline

    @property
    def time_text(self) -> str:
        return format_log_time(self.time)

    def to_api(self) -> dict[str, str]:
        return {"time": self.time_text, "service": self.service, "message": self.message}


def format_prefix_time(dt: datetime) -> str:
    """The time in front of each line of Pebble's raw service log."""
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{dt.microsecond // 1000:03d}Z"


_PREFIX = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z \[[^]]+\] ")


def _size(message: str) -> int:
    return len(message.encode("utf-8", "replace")) + 1  # the line plus its newline


def _clip(message: str, max_bytes: int) -> str:
    """A line longer than the whole buffer keeps only what fits."""
    data = message.encode("utf-8", "replace")
    if len(data) + 1 <= max_bytes:
        return message
    return data[: max(max_bytes - 1, 0)].decode("utf-8", "ignore")


class LogBuffer:
    """One service's lines. Positions are sequence numbers that keep counting
    as old lines are dropped, so a reader can ask for "everything after the
    last line I saw"."""

    def __init__(
        self,
        service: str,
        max_bytes: int = MAX_BYTES,
        on_write: Callable[[LogEntry], None] | None = None,
    ):
        self.service = service
        self.max_bytes = max_bytes
        self._entries: deque[tuple[LogEntry, int]] = deque()
        self._bytes = 0
        self._first = 0  # position of self._entries[0]
        self._on_write = on_write
        self._written = asyncio.Event()
        self._pending: LogEntry | None = None  # a line still waiting for its newline

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size(self) -> int:
        """Bytes of text held (each line counted with its newline)."""
        return self._bytes

    @property
    def position(self) -> int:
        """The position the next line will get."""
        return self._first + len(self._entries)

    @property
    def first_position(self) -> int:
        return self._first

    @property
    def has_partial(self) -> bool:
        """Whether a line is waiting for its newline."""
        return self._pending is not None

    def write_partial(self, text: str) -> None:
        """The start (or more) of a line whose newline has not come yet; the
        next `write` completes it. A line that grows to MAX_LINE is cut there."""
        if not text:
            return
        if self._pending is None:
            self._pending = LogEntry(utc_now_ms(), self.service, "")
        message = self._pending.message + text
        while len(message) >= MAX_LINE:
            self.write(message[:MAX_LINE], keep_pending=False)
            message = message[MAX_LINE:]
        if message:
            if self._pending is None:
                self._pending = LogEntry(utc_now_ms(), self.service, "")
            self._pending = LogEntry(self._pending.time, self.service, message)

    def write(self, message: str, time: datetime | None = None, *, keep_pending: bool = True) -> LogEntry:
        """A whole line; it completes the pending partial line, if any."""
        pending, self._pending = self._pending, None
        if pending is not None:
            if keep_pending:
                message = pending.message + message
            time = time or pending.time
        message = _clip(message.rstrip("\n"), self.max_bytes)
        entry = LogEntry(time or utc_now_ms(), self.service, message)
        size = _size(message)
        self._entries.append((entry, size))
        self._bytes += size
        while self._bytes > self.max_bytes and self._entries:
            _, dropped = self._entries.popleft()
            self._bytes -= dropped
            self._first += 1
        woken, self._written = self._written, asyncio.Event()
        woken.set()
        if self._on_write is not None:
            self._on_write(entry)
        return entry

    def tail(self, n: int) -> list[LogEntry]:
        """The last n lines, a pending partial line last; n < 0 means all of them."""
        if n == 0:
            return []
        entries = [e for e, _ in self._entries]
        if self._pending is not None:
            entries.append(self._pending)
        return entries if n < 0 else entries[-n:]

    def last_lines(self, n: int, indent: str) -> str:
        """The last n lines as Pebble's task logs quote them: each indented, a
        first line "(...)" when there were more, the whole text trimmed of
        surrounding white space first (so an empty last line keeps its
        timestamp), and nothing but the indent when there is no output."""
        raw = "\n".join(f"{format_prefix_time(e.time)} [{e.service}] {e.message}" for e in self.tail(n + 1))
        lines = raw.strip().split("\n")
        if len(lines) > n:
            lines[0] = "(...)"
        return "\n".join(indent + _PREFIX.sub("", line, count=1) for line in lines)

    def since(self, position: int) -> tuple[list[LogEntry], int]:
        """Lines at or after `position` (those already dropped are skipped)
        and the position to ask from next time."""
        start = max(position - self._first, 0)
        entries = [self._entries[i][0] for i in range(start, len(self._entries))]
        return entries, self.position

    def read(self, position: int, limit: int) -> list[LogEntry]:  # hook: log forwarding
        """Up to `limit` lines from `position` on (lines already dropped are
        skipped), walking the ring from its nearer end. For readers that keep
        their own place in it (log forwarding's cursors)."""
        start = max(position - self._first, 0)
        count = len(self._entries)
        stop = min(start + max(limit, 0), count)
        if start >= stop:
            return []
        if start <= count - stop:
            return [e for e, _ in itertools.islice(self._entries, start, stop)]
        lines = [e for e, _ in itertools.islice(reversed(self._entries), count - stop, count - start)]
        lines.reverse()
        return lines

    async def follow(self, position: int | None = None) -> AsyncIterator[LogEntry]:
        """Lines from `position` (default: only new ones) for as long as the caller iterates."""
        pos = self.position if position is None else position
        while True:
            waiter = self._written
            entries, pos = self.since(pos)
            for entry in entries:
                yield entry
            if not entries:
                await waiter.wait()


def merge_last(entry_lists: Iterable[Sequence[LogEntry]], n: int) -> list[LogEntry]:
    """Merge time-ordered lists of entries by time and keep the last n
    (n < 0: all, 0: none). Lines with the same time keep their list order."""
    if n == 0:
        return []
    merged = list(heapq.merge(*entry_lists, key=lambda e: e.time))
    return merged if n < 0 else merged[-n:]


class LogStore:
    """The buffers of every service that has been started."""

    def __init__(self, max_bytes: int = MAX_BYTES):
        self.max_bytes = max_bytes
        self._buffers: dict[str, LogBuffer] = {}
        self._written = asyncio.Event()
        self.on_write: Callable[[LogEntry], None] | None = None  # hook: log forwarding sees every line

    def buffer(self, service: str) -> LogBuffer:
        """The service's buffer, created on first use."""
        buf = self._buffers.get(service)
        if buf is None:
            buf = self._buffers[service] = LogBuffer(service, self.max_bytes, on_write=self._wrote)
        return buf

    def get(self, service: str) -> LogBuffer | None:
        return self._buffers.get(service)

    def services(self) -> list[str]:
        return sorted(self._buffers)

    def _wrote(self, entry: LogEntry) -> None:
        woken, self._written = self._written, asyncio.Event()
        woken.set()
        if self.on_write is not None:  # hook: log forwarding
            self.on_write(entry)

    def last(self, services: Iterable[str], n: int) -> list[LogEntry]:
        """The last n lines of these services merged by time (unknown names give nothing)."""
        buffers = [self._buffers[s] for s in dict.fromkeys(services) if s in self._buffers]
        return merge_last([b.tail(-1) for b in buffers], n)

    def follow(self, services: Iterable[str], n: int = 0) -> LogFollower:
        """The last n lines, then every new line as it arrives. The starting
        point is fixed when this is called, so nothing falls in between."""
        return LogFollower(self, list(dict.fromkeys(services)), n)


class LogFollower:
    """Async iterator over new lines of several services, merged by time."""

    def __init__(self, store: LogStore, services: list[str], n: int = 0):
        self._store = store
        self._positions: dict[str, int] = {}
        for name in services:
            buf = store.get(name)
            self._positions[name] = buf.position if buf is not None else 0
        self._pending: deque[LogEntry] = deque(store.last(services, n))

    def __aiter__(self) -> LogFollower:
        return self

    async def __anext__(self) -> LogEntry:
        while not self._pending:
            waiter = self._store._written
            lists = []
            for name, pos in self._positions.items():
                buf = self._store.get(name)
                if buf is None:
                    continue
                entries, self._positions[name] = buf.since(pos)
                lists.append(entries)
            self._pending.extend(merge_last(lists, -1))
            if not self._pending:
                await waiter.wait()
        return self._pending.popleft()
