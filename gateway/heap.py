"""Giving memory the gateway has freed back to the system.

A burst of connections (2,000 half-open TLS handshakes, each with its
buffers) is freed once the connections are closed, but glibc keeps the
freed pages in its heaps: the gateway's resident size stayed at twice its
idle size, and grew with each burst. `HeapReturner` checks the resident
size every `every` seconds and, when it is `slack` bytes above the lowest
it has seen, asks glibc to hand back its free pages (`malloc_trim`), in a
worker thread so the event loop never waits for it.
A return that frees little (the memory is in use) doubles the time to the
next one, up to `longest`, so a gateway busy for real is not trimmed in
vain; one that frees something starts again from `every`. Elsewhere than
glibc it does nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable

from services.common.memory import malloc_trim

log = logging.getLogger("shoal.gateway")

EVERY = 10.0
LONGEST = 60.0
SLACK = 16 << 20  # bytes above the last level before returning is worth it
WORTH = 4 << 20  # what a return must free to count as useful


def resident_bytes() -> int:
    """This process's resident set size."""
    with open("/proc/self/statm", "rb") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class HeapReturner:
    def __init__(self, every: float = EVERY, longest: float = LONGEST, slack: int = SLACK,
                 trim: Callable[[], object] | None = None, resident: Callable[[], int] = resident_bytes):
        self.every, self.longest, self.slack = every, longest, slack
        self._trim = trim if trim is not None else malloc_trim()
        self._resident = resident
        self._task: asyncio.Task | None = None
        self.returned = 0  # bytes given back so far (for the log and tests)

    def start(self) -> None:
        if self._trim is not None and self._task is None:
            self._task = asyncio.create_task(self._run(), name="heap-returner")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        floor = self._resident()  # the lowest level seen: what the gateway needs when idle
        wait = self.every
        while True:
            await asyncio.sleep(wait)
            now = self._resident()
            if now < floor + self.slack:
                floor = min(floor, now)
                wait = self.every
                continue
            await asyncio.to_thread(self._trim)
            after = self._resident()
            floor = min(floor, after)
            if now - after >= WORTH:
                self.returned += now - after
                log.info("returned %d MiB of freed memory to the system (resident now %d MiB)",
                         (now - after) >> 20, after >> 20)
                wait = self.every
            else:
                wait = min(wait * 2, self.longest)  # in use: try again later
