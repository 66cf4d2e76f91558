"""Readiness without polling: a process started by `shoal run` says once,
on the pipe the supervisor handed it (`SHOAL_READY_FD`), that it is
serving. Started any other way it says nothing."""

from __future__ import annotations

import os

READY_FD = "SHOAL_READY_FD"


def notify_ready() -> None:
    """Tell the supervisor this process serves (at most once; the variable is
    dropped so that nothing this process starts inherits it)."""
    fd = os.environ.pop(READY_FD, "")
    if not fd.isdigit():
        return
    try:
        os.write(int(fd), b"ready\n")
    except OSError:
        pass  # the supervisor is gone: nobody to tell
    finally:
        try:
            os.close(int(fd))
        except OSError:
            pass
