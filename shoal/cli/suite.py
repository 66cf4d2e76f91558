"""`shoal run`: the four services and the gateway workers as child processes.

Each child says when it serves on a pipe of its own
(services/common/readiness.py), so the supervisor knows without polling
and logs how long the suite took to be ready. What Pebble's API needs
first (identity, plan, the gateway workers) starts at once; the beacon and
application services start as soon as those are ready (at most
LATER_START_LIMIT seconds later), so that on a small machine they do not
take the CPU the first answer waits for. The gateway's listeners (the
unix socket, plain HTTP, HTTPS) are bound here, once, and handed to every
gateway worker (`--gateway-workers N`, gateway/sockets.py); they stay open
while a worker restarts.

A child that dies is restarted with backoff (0.5 s doubling to 10 s, reset
after it stays up 30 s); one that exits with EXIT_STARTUP said why it cannot
start and is left down. SIGINT/SIGTERM stops the gateway workers first,
then the services, each with SIGTERM and, after the grace period, SIGKILL.

The supervisor is plain blocking code over one selector (no asyncio, no
TLS, no gRPC): it stays small (`tests/unit/test_process_imports.py`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from gateway.sockets import SOCKET_NAME, bind_listeners, fds_spec
from services.common import logs
from services.common.config import SERVICE_NAMES, Settings
from services.common.errors import EXIT_STARTUP
from services.common.readiness import READY_FD

log = logging.getLogger("shoal.run")

SERVICES = SERVICE_NAMES
BACKOFF_START, BACKOFF_MAX, BACKOFF_RESET = 0.5, 10.0, 30.0
LATER = ("beacon", "application")  # not on the path of Pebble's API: started once the rest serve
LATER_START_LIMIT = 2.0  # seconds: started then whatever the rest are doing


@dataclass
class Child:
    name: str
    argv: list[str]
    pass_fds: tuple[int, ...] = ()
    process: subprocess.Popen | None = None
    restarts: int = 0
    started_at: float = 0.0
    delay: float = BACKOFF_START
    restart_at: float | None = None  # when to start it again after it died
    stopping: bool = False
    done: bool = False  # will not be started again
    after: tuple[str, ...] = ()  # started once these are ready (or LATER_START_LIMIT passed)
    pid_file: Path | None = None
    ready_pipe: int | None = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None


def worker_name(index: int) -> str:
    """The first gateway worker is "gateway" (its pid in run/gateway.pid), the next "gateway-2", …"""
    return "gateway" if index == 1 else f"gateway-{index}"


def child_argv(name: str, args, listen_fds: str = "") -> list[str]:
    base = [sys.executable, "-m", "shoal.cli.main"]
    if name.startswith("gateway"):
        argv = base + ["gateway"]
        for flag in ("tls_cert", "tls_key") if listen_fds else ("http", "https", "tls_cert", "tls_key"):
            value = getattr(args, flag, "")
            if value:
                argv += [f"--{flag.replace('_', '-')}", value]
        if listen_fds:
            argv += ["--listen-fds", listen_fds]
        return argv
    return base + ["service", name]


class Supervisor:
    """Starts, watches, restarts and stops the children, in one thread."""

    def __init__(self, children: list[Child], env: dict[str, str], grace: float):
        self.children = children
        self.env = env
        self.grace = grace
        self.stop_requested = False
        self.selector = selectors.DefaultSelector()
        self.started = time.monotonic()
        self.waiting_ready = {child.name for child in children}

    # -- the loop --------------------------------------------------------------------
    def run(self) -> None:
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_r, False)
        os.set_blocking(wake_w, False)
        previous = signal.set_wakeup_fd(wake_w)
        self.selector.register(wake_r, selectors.EVENT_READ, None)
        handlers = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD)}
        try:
            self._start_due()
            while not self.stop_requested:
                self._turn(self._timeout())
            log.info("stopping")
            self._stop([c for c in self.children if c.name.startswith("gateway")])
            self._stop([c for c in self.children if not c.name.startswith("gateway")])
            log.info("stopped")
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
            signal.set_wakeup_fd(previous)
            self.selector.close()
            os.close(wake_r)
            os.close(wake_w)
            for child in self.children:
                self._close_ready(child)

    def _on_signal(self, signum, frame) -> None:
        if signum in (signal.SIGTERM, signal.SIGINT):
            self.stop_requested = True

    def _start_due(self) -> None:
        """Start each child not started yet whose `after` children are ready."""
        late = time.monotonic() - self.started >= LATER_START_LIMIT
        for child in self.children:
            if child.process is None and not child.done and not self.stop_requested and (
                    late or not any(name in self.waiting_ready for name in child.after)):
                self._spawn(child)

    def _timeout(self) -> float | None:
        due = [c.restart_at for c in self.children if c.restart_at is not None]
        if any(c.process is None and not c.done for c in self.children):
            due.append(self.started + LATER_START_LIMIT)
        return None if not due else max(0.0, min(due) - time.monotonic())

    def _turn(self, timeout: float | None) -> None:
        """Wait for a signal, a readiness line or a restart that is due, and act on it."""
        for key, _ in self.selector.select(timeout):
            if key.data is None:
                with contextlib.suppress(BlockingIOError):
                    while os.read(key.fd, 512):
                        pass
            else:
                self._read_ready(key.data)
        self._reap()
        self._start_due()
        now = time.monotonic()
        for child in self.children:
            if child.restart_at is not None and child.restart_at <= now and not self.stop_requested:
                child.restart_at = None
                self._spawn(child)

    # -- one child ---------------------------------------------------------------------
    def _spawn(self, child: Child) -> None:
        ready_r, ready_w = os.pipe()
        env = {**self.env, READY_FD: str(ready_w)}
        try:
            child.process = subprocess.Popen(child.argv, env=env, pass_fds=(*child.pass_fds, ready_w))
        except OSError as error:
            os.close(ready_r)
            log.error("cannot start %s: %s", child.name, error)
            child.done = True
            return
        finally:
            os.close(ready_w)
        child.ready_pipe = ready_r
        self.selector.register(ready_r, selectors.EVENT_READ, child)
        child.started_at = time.monotonic()
        if child.pid_file is not None:
            child.pid_file.write_text(f"{child.process.pid}\n")
        log.info("started %s (pid %d)", child.name, child.process.pid)

    def _read_ready(self, child: Child) -> None:
        try:
            said = os.read(child.ready_pipe, 64)
        except OSError:
            said = b""
        self._close_ready(child)  # one line, or the end: either way nothing more comes
        if said.startswith(b"ready"):
            log.info("%s ready in %.2fs", child.name, time.monotonic() - child.started_at)
            if child.name in self.waiting_ready:
                self.waiting_ready.discard(child.name)
                if not self.waiting_ready:
                    log.info("suite ready in %.2fs", time.monotonic() - self.started)

    def _close_ready(self, child: Child) -> None:
        if child.ready_pipe is not None:
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(child.ready_pipe)
            os.close(child.ready_pipe)
            child.ready_pipe = None

    def _reap(self) -> None:
        for child in self.children:
            if child.process is None or child.process.returncode is not None:
                continue
            code = child.process.poll()
            if code is None:
                continue
            self._close_ready(child)
            if child.stopping or self.stop_requested:
                continue
            if code == EXIT_STARTUP:  # it said why; starting it again would fail the same way
                log.error("%s cannot start (its message is above); not restarting it", child.name)
                child.done = True
                continue
            if time.monotonic() - child.started_at > BACKOFF_RESET:
                child.delay = BACKOFF_START
            log.warning("%s exited with %s; restarting in %.1fs", child.name, code, child.delay)
            child.restarts += 1
            child.restart_at = time.monotonic() + child.delay
            child.delay = min(child.delay * 2, BACKOFF_MAX)

    def _stop(self, children: list[Child]) -> None:
        """SIGTERM to each of `children` at once; SIGKILL to those still there after the grace."""
        for child in children:
            child.stopping = True
            child.restart_at = None
            if child.running:
                with contextlib.suppress(ProcessLookupError):
                    child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.grace
        while any(c.running for c in children) and time.monotonic() < deadline:
            self._turn(min(0.1, max(0.0, deadline - time.monotonic())))
        for child in children:
            if child.running:
                log.warning("%s did not stop in %.0fs; killing it", child.name, self.grace)
                child.process.kill()
                child.process.wait()


def suite_children(settings: Settings, args, listeners: dict[str, socket.socket]) -> list[Child]:
    run_dir = settings.home / "run"
    workers = [worker_name(index) for index in range(1, getattr(args, "gateway_workers", 1) + 1)]
    first = tuple(name for name in (*SERVICES, *workers) if name not in LATER)
    children = [Child(name, child_argv(name, args), pid_file=run_dir / f"{name}.pid",
                      after=first if name in LATER else ()) for name in SERVICES]
    spec = fds_spec(listeners)
    fds = tuple(sock.fileno() for sock in listeners.values())
    for name in workers:
        children.append(Child(name, child_argv(name, args, spec), pass_fds=fds, pid_file=run_dir / f"{name}.pid"))
    return children


def run_suite(settings: Settings, args) -> int:
    logs.setup_logging("run", settings.log_level, settings.log_format)
    env = dict(os.environ)
    env["SHOAL_LOG_FORMAT"] = settings.log_format
    env["SHOAL_HOME"] = str(settings.home)
    env["SHOAL_SECRET"] = settings.secret.decode()
    # For Shoal's own processes only: the plan service leaves these out of what
    # its services and execs inherit (services/plan/childsetup.py, daemon_environment).
    handed = [name for name in env.get("SHOAL_LAUNCHER_ENV", "").split(",") if name]
    env["SHOAL_LAUNCHER_ENV"] = ",".join(dict.fromkeys([*handed, "SHOAL_SECRET", READY_FD]))
    if getattr(args, "http", ""):
        env["SHOAL_HTTP_ADDRESS"] = args.http
    if getattr(args, "https", ""):
        env["SHOAL_HTTPS_ADDRESS"] = args.https
    for stale in (settings.home / "run").glob("gateway-*.pid"):  # workers of an earlier run with more of them
        stale.unlink(missing_ok=True)
    path = settings.home / SOCKET_NAME
    listeners = bind_listeners(path, getattr(args, "http", ""), getattr(args, "https", ""))
    try:
        log.info("shoal running in %s; socket %s", settings.home, path)
        Supervisor(suite_children(settings, args, listeners), env, settings.grace).run()
    finally:
        for sock in listeners.values():
            sock.close()
        path.unlink(missing_ok=True)
    return 0
