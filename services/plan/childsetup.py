"""What a child process (service, exec, exec check) does between fork and
exec: default signal dispositions, then the account it runs as.

Python ignores SIGPIPE and SIGXFSZ, and uvloop's subprocesses inherit that
(it takes neither restore_signals nor user/group arguments), so a service
piping into `head` would never see EPIPE's signal. Done here as a preexec
function instead.
"""

from __future__ import annotations

import fcntl
import os
import signal
import termios
from collections.abc import Callable

from services.plan.accounts import Account

_RESTORED = (signal.SIGPIPE, signal.SIGXFSZ)


def preexec(account: Account | None = None, take_terminal: int | None = None) -> Callable[[], None]:
    """`take_terminal`: the pty's fd that becomes the child's controlling
    terminal. uvloop runs this before its own setsid() and before the child's
    stdio is in place, so the child starts its session here and names the
    pty by the fd it inherited."""
    switch = account is not None and account.switches_from_daemon()
    uid, gid = (account.uid, account.gid) if switch else (None, None)
    groups = list(account.groups) if switch else []

    def setup() -> None:
        for sig in _RESTORED:
            signal.signal(sig, signal.SIG_DFL)
        if take_terminal is not None:
            if os.getsid(0) != os.getpid():
                os.setsid()
            fcntl.ioctl(take_terminal, termios.TIOCSCTTY, 0)
        if switch:
            os.setgroups(groups)
            os.setgid(gid)
            os.setuid(uid)

    return setup
