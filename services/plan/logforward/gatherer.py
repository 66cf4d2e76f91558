"""One log target's loop: take the services' lines, batch them, flush them.

As Pebble's gatherer does:
- a flush happens 1 s after the first entry added since the last flush, or
  at once when 100 entries have been added since then;
- before a service's labels change, what is held is flushed, so entries go
  out with the labels they were written under;
- a failed flush is logged and its entries stay in the client's window
  (the last 100), to go with the next flush, which the next entry schedules;
- stopping lets a flush under way finish for up to 1 s, takes what the
  services wrote until then, and makes a final flush of up to 2 s.

A gatherer reads each service's lines from that service's own output
buffer through a `Cursor`, so a slow or dead target costs no more than the
client's window, and never holds up a service: `notify` (called for every
line written) only wakes the gatherer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque

from services.plan.logbuffer import LogBuffer
from services.plan.logforward.client import MAX_REQUEST_ENTRIES, BufferedClient, FlushError
from services.plan.logforward.cursor import Cursor
from services.plan.logforward.entries import Entry

log = logging.getLogger("shoal.plan.logforward")

BUFFER_TIMEOUT = 1.0  # flush this long after the first entry since the last flush
MAX_BUFFERED_ENTRIES = MAX_REQUEST_ENTRIES  # ... or once this many were added
CURRENT_FLUSH_TIMEOUT = 1.0  # stopping: how long a flush under way may go on
DRAIN_TIMEOUT = 2.0  # stopping: how long taking the last lines may still flush
FINAL_FLUSH_TIMEOUT = 2.0  # stopping: the last flush


class Gatherer:
    def __init__(
        self,
        name: str,
        client: BufferedClient,
        *,
        buffer_timeout: float = BUFFER_TIMEOUT,
        max_buffered: int = MAX_BUFFERED_ENTRIES,
        current_flush_timeout: float = CURRENT_FLUSH_TIMEOUT,
        drain_timeout: float = DRAIN_TIMEOUT,
        final_flush_timeout: float = FINAL_FLUSH_TIMEOUT,
    ):
        self.name = name
        self.client = client
        self.buffer_timeout = buffer_timeout
        self.max_buffered = max_buffered
        self.current_flush_timeout = current_flush_timeout
        self.drain_timeout = drain_timeout
        self.final_flush_timeout = final_flush_timeout
        self.flush_count = 0  # flushes attempted with entries (for tests and metrics)
        self._cursors: dict[str, Cursor] = {}
        self._label_updates: deque[tuple[str, dict[str, str] | None]] = deque()
        self._written = 0  # entries added since the last flush
        self._wake = asyncio.Event()
        self._stopping = False
        self._stopped: asyncio.Future | None = None
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"log-target:{name}")
        self._task.add_done_callback(self._ended)

    # -- fed by the manager (never waits) -------------------------------------------
    def services(self) -> list[str]:
        return list(self._cursors)

    def add_service(self, buffer: LogBuffer) -> None:
        """Start taking the lines of `buffer`'s service, from the oldest it
        holds. A service already taken keeps its place."""
        if buffer.service not in self._cursors:
            self._cursors[buffer.service] = Cursor(buffer)
            self._wake.set()

    def remove_service(self, service: str) -> None:
        """Stop taking `service`'s lines and forget its labels (after a flush)."""
        self._cursors.pop(service, None)
        self.set_labels(service, None)

    def set_labels(self, service: str, labels: dict[str, str] | None) -> None:
        self._label_updates.append((service, labels))
        self._wake.set()

    def notify(self) -> None:
        """A service this gatherer takes from wrote a line."""
        if not self._wake.is_set():
            self._wake.set()

    def dropped_lines(self) -> int:
        """Lines the services' buffers dropped before this target took them."""
        return sum(c.dropped_lines for c in self._cursors.values())

    # -- the loop ---------------------------------------------------------------------
    def _has_work(self) -> bool:
        return bool(self._label_updates) or any(c.pending() for c in self._cursors.values())

    def _take(self) -> Entry | None:
        """The earliest next entry across services (ties: by service name)."""
        best: Cursor | None = None
        best_time = None
        for cursor in self._cursors.values():
            when = cursor.peek_time()
            if when is not None and (best_time is None or when < best_time
                                     or (when == best_time and cursor.service < best.service)):
                best, best_time = cursor, when
        return best.take() if best is not None else None

    async def _flush(self) -> None:
        self._written = 0
        if not self.client.entries:
            return
        self.flush_count += 1
        try:
            await self.client.flush()
        except FlushError as error:
            log.warning('Cannot flush logs to target "%s": %s', self.name, error)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        deadline: float | None = None
        while not self._stopping:
            if deadline is not None and loop.time() >= deadline:
                deadline = None
                await self._flush()
                continue
            if not self._has_work():
                self._wake.clear()
                timeout = None if deadline is None else deadline - loop.time()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout)
                continue
            if self._label_updates:
                service, labels = self._label_updates.popleft()
                deadline = None
                await self._flush()
                self.client.set_labels(service, labels)
                continue
            added = 0
            while self._written < self.max_buffered:
                entry = self._take()
                if entry is None:
                    break
                self.client.add(entry)
                self._written += 1
                added += 1
            if self._written >= self.max_buffered:
                deadline = None
                await self._flush()
            elif added and deadline is None:
                deadline = loop.time() + self.buffer_timeout
            await asyncio.sleep(0)  # let the services' output in between batches

    def _ended(self, task: asyncio.Task) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error('log target "%s" stopped forwarding', self.name, exc_info=task.exception())

    # -- stopping -------------------------------------------------------------------
    async def stop(self) -> None:
        """Stop, sending what is left (bounded: about 5 s at most). Safe to call twice."""
        if self._stopped is not None:
            await asyncio.shield(self._stopped)
            return
        self._stopped = asyncio.get_running_loop().create_future()
        try:
            await self._stop()
        finally:
            self._stopped.set_result(None)

    async def _stop(self) -> None:
        loop = asyncio.get_running_loop()
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), self.current_flush_timeout)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        drain_until = loop.time() + self.drain_timeout
        while self._label_updates:
            service, labels = self._label_updates.popleft()
            if loop.time() < drain_until:
                await self._timed_flush(drain_until - loop.time())
            self.client.set_labels(service, labels)
        while (entry := self._take()) is not None:
            self.client.add(entry)
            self._written += 1
            if self._written >= self.max_buffered and loop.time() < drain_until:
                await self._timed_flush(drain_until - loop.time())
        await self._timed_flush(self.final_flush_timeout)
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(self.client.close(), 1.0)

    async def _timed_flush(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self._flush(), max(timeout, 0.001))
        except TimeoutError:
            log.warning('Cannot flush logs to target "%s": timed out while stopping', self.name)
