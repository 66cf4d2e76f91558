"""What a child process (service, exec, exec check) does between fork and
exec: default signal dispositions, then the account it runs as; the
environment it inherits; and the names of the signals a client may send it.

Python ignores SIGPIPE and SIGXFSZ, and uvloop's subprocesses inherit that
(it takes neither restore_signals nor user/group arguments), so a service
piping into `head` would never see EPIPE's signal. Services and exec checks
are therefore started by `spawn` (subprocess.Popen: restore_signals, its
user/group arguments and a new session, no Python code in the child, so
CPython uses vfork when no account switch is asked for, instead of copying
the whole plan service per child), and their exit is learnt from a pidfd.
Execs that take a terminal need code in the child (TIOCSCTTY), so they keep
the preexec function, which does the same in Python.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
import subprocess
import termios
from collections.abc import Callable, Mapping, Sequence

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


class Child:
    """A process started by `spawn`; the event loop learns of its exit from
    a pidfd (a thread waits for it where the kernel has none)."""

    def __init__(self, popen: subprocess.Popen):
        self._popen = popen
        self.pid = popen.pid
        loop = asyncio.get_running_loop()
        self._exited: asyncio.Future[int] = loop.create_future()
        try:
            self._pidfd: int | None = os.pidfd_open(popen.pid)
        except OSError:  # no pidfd (kernel before 5.3)
            self._pidfd = None
            waiting = loop.run_in_executor(None, popen.wait)
            waiting.add_done_callback(lambda _: self._reap())
        else:
            loop.add_reader(self._pidfd, self._reap)

    @property
    def returncode(self) -> int | None:
        """The exit status once reaped: negative for the signal that ended it."""
        return self._popen.returncode

    def _reap(self) -> None:
        if self._popen.poll() is None or self._exited.done():
            return
        if self._pidfd is not None:
            asyncio.get_running_loop().remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = None
        self._exited.set_result(self._popen.returncode)

    async def wait(self) -> int:
        return await asyncio.shield(self._exited)


def spawn(
    argv: Sequence[str],
    executable: str,
    *,
    account: Account | None,
    env: Mapping[str, str],
    cwd: str | None,
    output: int,
) -> Child:
    """Start `argv` (the file `executable`, looked up by the caller) in a new
    session, as `account`, with stdin from /dev/null and stdout and stderr
    both to the fd `output`; no other fd is inherited. Raises what
    subprocess.Popen raises (OSError with the child's errno, ValueError)."""
    switch = account is not None and account.switches_from_daemon()
    popen = subprocess.Popen(
        list(argv),
        executable=executable,
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=output,
        env=env,
        cwd=cwd,
        close_fds=True,
        restore_signals=True,  # SIGPIPE and SIGXFSZ back to their defaults (_RESTORED)
        start_new_session=True,
        user=account.uid if switch else None,
        group=account.gid if switch else None,
        extra_groups=list(account.groups) if switch else None,
    )
    return Child(popen)


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
