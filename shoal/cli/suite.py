"""`shoal run`: the four services and the gateway as child processes.

A child that dies is restarted with backoff (0.5 s doubling to 10 s, reset
after it stays up 30 s); SIGINT/SIGTERM stops the gateway first, then the
services, each with SIGTERM and, after the grace period, SIGKILL.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from services.common.config import SERVICE_NAMES, Settings
from services.common.errors import EXIT_STARTUP

log = logging.getLogger("shoal.run")

SERVICES = SERVICE_NAMES
BACKOFF_START, BACKOFF_MAX, BACKOFF_RESET = 0.5, 10.0, 30.0


@dataclass
class Child:
    name: str
    argv: list[str]
    process: asyncio.subprocess.Process | None = None
    restarts: int = 0
    started_at: float = 0.0
    delay: float = BACKOFF_START
    stopping: bool = False
    pid_file: Path | None = None
    task: asyncio.Task | None = field(default=None, repr=False)


def child_argv(name: str, args) -> list[str]:
    base = [sys.executable, "-m", "shoal.cli.main"]
    if name == "gateway":
        argv = base + ["gateway"]
        for flag in ("http", "https", "tls_cert", "tls_key"):
            value = getattr(args, flag, "")
            if value:
                argv += [f"--{flag.replace('_', '-')}", value]
        return argv
    return base + ["service", name]


async def _keep_running(child: Child, env: dict[str, str]) -> None:
    while not child.stopping:
        child.process = await asyncio.create_subprocess_exec(*child.argv, env=env)
        child.started_at = time.monotonic()
        if child.pid_file is not None:
            child.pid_file.write_text(f"{child.process.pid}\n")
        log.info("started %s (pid %d)", child.name, child.process.pid)
        code = await child.process.wait()
        if child.stopping:
            return
        if code == EXIT_STARTUP:  # it said why; starting it again would fail the same way
            log.error("%s cannot start (its message is above); not restarting it", child.name)
            return
        if time.monotonic() - child.started_at > BACKOFF_RESET:
            child.delay = BACKOFF_START
        log.warning("%s exited with %s; restarting in %.1fs", child.name, code, child.delay)
        child.restarts += 1
        await asyncio.sleep(child.delay)
        child.delay = min(child.delay * 2, BACKOFF_MAX)


async def _stop(child: Child, grace: float) -> None:
    child.stopping = True
    process = child.process
    if process is not None and process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), grace)
        except TimeoutError:
            log.warning("%s did not stop in %.0fs; killing it", child.name, grace)
            process.kill()
            await process.wait()
    if child.task is not None:
        child.task.cancel()


async def run_suite(settings: Settings, args) -> int:
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s run: %(message)s")
    env = dict(os.environ)
    env["SHOAL_HOME"] = str(settings.home)
    env["SHOAL_SECRET"] = settings.secret.decode()
    if getattr(args, "http", ""):
        env["SHOAL_HTTP_ADDRESS"] = args.http
    if getattr(args, "https", ""):
        env["SHOAL_HTTPS_ADDRESS"] = args.https
    children = [
        Child(name, child_argv(name, args), pid_file=settings.home / "run" / f"{name}.pid")
        for name in (*SERVICES, "gateway")
    ]
    for child in children:
        child.task = asyncio.create_task(_keep_running(child, env))

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("shoal running in %s; socket %s", settings.home, settings.home / ".shoal.socket")
    await stop.wait()
    log.info("stopping")
    gateway, services = children[-1], children[:-1]
    await _stop(gateway, settings.grace)
    await asyncio.gather(*(_stop(child, settings.grace) for child in services))
    log.info("stopped")
    return 0
