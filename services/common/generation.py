"""The identity service's generation: a counter it raises after every write
that can change who a caller is (an identity, user, token, session or
lockout), before it answers the write.

It lives in a small shared file in `$SHOAL_HOME/run`, so that every gateway
worker on this machine reads it on each request at the cost of a memory
read (an mmap) and drops what it kept about callers as soon as it moved:
a change made through one worker applies to the very next request through
any worker. A gateway that cannot see the file (another machine) keeps its
one-second caller cache as before.
"""

from __future__ import annotations

import contextlib
import fcntl
import mmap
import os
import struct
import time
from pathlib import Path

FILE_NAME = "identity.generation"
_COUNTER = struct.Struct("<Q")
REOPEN_EVERY = 1.0  # seconds between attempts to open a file that was not there


def generation_path(home: Path) -> Path:
    return home / "run" / FILE_NAME


class GenerationWriter:
    """The identity service's side: raise the counter (under a file lock, so
    that replicas sharing the file never lose a raise)."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        if os.fstat(self._fd).st_size < _COUNTER.size:
            os.ftruncate(self._fd, _COUNTER.size)
        self._map = mmap.mmap(self._fd, _COUNTER.size)

    def bump(self) -> int:
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            value = _COUNTER.unpack_from(self._map)[0] + 1
            _COUNTER.pack_into(self._map, 0, value)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        return value

    def close(self) -> None:
        with contextlib.suppress(ValueError, OSError):
            self._map.close()
            os.close(self._fd)


class GenerationReader:
    """A gateway's side: the counter now, or None while there is no file."""

    def __init__(self, path: Path):
        self._path = path
        self._map: mmap.mmap | None = None
        self._next_try = 0.0

    def read(self) -> int | None:
        if self._map is None and not self._open():
            return None
        return _COUNTER.unpack_from(self._map)[0]

    def _open(self) -> bool:
        now = time.monotonic()
        if now < self._next_try:
            return False
        self._next_try = now + REOPEN_EVERY
        try:
            fd = os.open(self._path, os.O_RDONLY)
        except OSError:
            return False
        try:
            if os.fstat(fd).st_size < _COUNTER.size:
                return False
            self._map = mmap.mmap(fd, _COUNTER.size, prot=mmap.PROT_READ)
        finally:
            os.close(fd)
        return True

    def close(self) -> None:
        if self._map is not None:
            self._map.close()
            self._map = None
