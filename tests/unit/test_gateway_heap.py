"""gateway/heap.py: when the gateway gives freed memory back (a fake heap:
the resident size and what a trim frees are the test's)."""

from __future__ import annotations

import asyncio

from gateway.heap import HeapReturner

MIB = 1 << 20


class Heap:
    def __init__(self, resident: int):
        self.resident = resident
        self.in_use = resident
        self.trims = 0

    def trim(self):
        self.trims += 1
        self.resident = self.in_use


async def test_freed_memory_is_returned_and_memory_in_use_is_tried_less_often():
    heap = Heap(100 * MIB)
    returner = HeapReturner(every=0.01, longest=0.08, slack=16 * MIB, trim=heap.trim, resident=lambda: heap.resident)
    returner.start()
    try:
        await asyncio.sleep(0.05)
        assert heap.trims == 0  # nothing above the idle level
        heap.resident = heap.in_use = 200 * MIB  # a burst, still in use
        await asyncio.sleep(0.3)
        in_use_trims = heap.trims
        assert 1 <= in_use_trims <= 6  # backing off: 0.01, 0.02, 0.04, then every 0.08
        heap.in_use = 100 * MIB  # the burst is over: its memory is freed
        for _ in range(100):
            if heap.resident == 100 * MIB:
                break
            await asyncio.sleep(0.01)
        assert heap.resident == 100 * MIB and returner.returned == 100 * MIB
    finally:
        await returner.stop()

