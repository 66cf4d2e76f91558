"""Giving the memory a process has freed back to the system (glibc's
`malloc_trim`), for every Shoal process that serves.

Starting a service or the gateway builds and drops a lot (descriptors,
route tables, migrations, reflection's file set): glibc keeps the freed
pages in its heaps, about 1–2 MiB per process when idle. `return_freed()`
right after start-up hands them back; gateway/heap.py calls the same
function later, after bursts. Elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from functools import cache


@cache
def malloc_trim() -> Callable[[], object] | None:
    """glibc's `malloc_trim(0)`, or None where the C library has none."""
    try:
        trim = ctypes.CDLL(None).malloc_trim  # the C library this process runs on
    except (OSError, AttributeError):
        return None  # not glibc
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return lambda: trim(0)


def return_freed() -> None:
    """Hand the pages of freed memory back to the system (a few ms at most)."""
    trim = malloc_trim()
    if trim is not None:
        trim()
