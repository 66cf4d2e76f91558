"""What a child process (service, exec, exec check) does between fork and
exec: default signal dispositions, then the account it runs as; the
environment it inherits; and the names of the signals a client may send it.

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
from collections.abc import Callable, Mapping

from services.plan.accounts import Account

_RESTORED = (signal.SIGPIPE, signal.SIGXFSZ)

# What Shoal's launcher (shoal/cli/main.py) put in the environment for itself,
# comma-separated; children never see those variables, nor this one.
LAUNCHER_ENV = "SHOAL_LAUNCHER_ENV"


def daemon_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment services and execs inherit, as Pebble's inherit the
    daemon's: the node agent's own, without what the launcher set for itself."""
    environ = os.environ if environ is None else environ
    added = {name for name in environ.get(LAUNCHER_ENV, "").split(",") if name}
    return {k: v for k, v in environ.items() if k not in added and k != LAUNCHER_ENV}


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


# The signal names Pebble knows (Go's unix.SignalNum on Linux): no aliases, no real-time ones.
_SIGNAL_NAMES = frozenset({
    "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGKILL",
    "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD",
    "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ",
    "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
})


def signal_number(name: str) -> int | None:
    """The number of a signal named as Pebble names them ("SIGHUP"), or None."""
    if name not in _SIGNAL_NAMES:
        return None
    sig = getattr(signal, name, None)
    return int(sig) if sig is not None else None
