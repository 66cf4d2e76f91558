"""Durability helpers shared by every store that writes files."""

from __future__ import annotations

import os


def fsync_directory(path: str | os.PathLike) -> None:
    """Make a rename or link into `path` durable. Best effort: a directory
    that cannot be opened, or a filesystem that refuses fsync on directories,
    leaves the entry as durable as that filesystem makes it."""
    try:
        fd = os.open(os.fspath(path) or "/", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
