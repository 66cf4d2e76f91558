"""The service supervisor of the node agent (spec §4.1, §4.2).

One process per service, each in its own session and process group, its
stdout and stderr merged line by line into the service's log buffer. The
supervisor is a small state machine per service:

    starting --(okay delay)--> running --exit--> backoff | stopped | exited
    running --stop--> terminating --(kill-delay)--> killing --> stopped
    backoff --(delay elapsed)--> running

With Shoal's opt-in fields (README "Supervision beyond Pebble"):

    running --exit 0, kind one-shot--> done (not restarted)
    running --exit, past restart-limit within restart-window--> failed ("error", stays stopped)
    starting --exit, start-retries left--> backoff --> starting (the same start, retried)

Pure asyncio; the daemon turns start/stop calls into change tasks.
"""

from __future__ import annotations

import asyncio
import codecs
import copy
import inspect
import json
import logging
import os
import random
import signal
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from services.common import metrics
from services.common.durations import format_duration
from services.plan import accounts
from services.plan.accounts import Account, AccountError
from services.plan.childsetup import Child, signal_number, spawn
from services.plan.logbuffer import LogBuffer, LogStore
from services.plan.oserrors import ExecutableNotFound, fork_exec_error, look_path
from services.plan.plan.commands import parse_command
from services.plan.plan.model import Service

log = logging.getLogger("shoal.plan.supervisor")

# Shoal's own metric (Pebble's /v1/metrics counts starts, services/plan/metrics.py).
RESTARTS = metrics.counter("shoal_supervisor_restarts_total",
                           "Services the supervisor started again after they exited or failed a check",
                           ("service",))
START_RETRIES = metrics.counter("shoal_supervisor_start_retries_total",
                                "Starts tried again after the process exited within the okay delay (start-retries)",
                                ("service",))
RESTART_LIMITS = metrics.counter("shoal_supervisor_restart_limit_reached_total",
                                 "Services left in error because they used up restart-limit within restart-window",
                                 ("service",))
ONE_SHOT_DONE = metrics.counter("shoal_supervisor_one_shot_completed_total",
                                "One-shot services that exited with 0 (done)", ("service",))

OKAY_DELAY = 1.0  # a start counts as successful once the process has lived this long
KILL_GRACE = 5.0  # how long to wait after SIGKILL before giving up
OUTPUT_LINES = 20  # lines of output carried by an "exited quickly" error

# Internal states (spec §4.1).
INITIAL = "initial"
STARTING = "starting"
RUNNING = "running"
TERMINATING = "terminating"
KILLING = "killing"
STOPPED = "stopped"
BACKOFF = "backoff"
EXITED = "exited"
DONE = "done"  # a one-shot service that exited with 0
FAILED = "failed"  # restart-limit used up: not restarted

_API_STATUS = {
    INITIAL: "error",
    EXITED: "error",
    STARTING: "active",
    RUNNING: "active",
    TERMINATING: "inactive",
    KILLING: "inactive",
    STOPPED: "inactive",
    BACKOFF: "backoff",
    DONE: "done",
    FAILED: "error",
}

# Daemon exit codes for shutdown actions.
EXIT_SUCCESS = 0
EXIT_FAILURE = 10
EXIT_CHECK_FAILURE = 11


class SupervisorError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class StartError(SupervisorError):
    """A start that failed; `output`, for a process that exited quickly, is the
    service's last lines of output as the task log quotes them."""

    def __init__(self, message: str, output: str | None = None):
        super().__init__(message)
        self.output = output


class StopError(SupervisorError):
    pass


class SignalError(SupervisorError):
    pass


@dataclass(frozen=True)
class ServiceStatus:
    current: str  # "active" | "inactive" | "backoff" | "error"
    since: datetime | None  # UTC; None for a service never started


# -- helpers ------------------------------------------------------------------


def _split_command(command: str) -> list[str]:
    """The argv to run: the command's words plus its `[ default args ]`."""
    argv, defaults = parse_command(command)
    return argv + defaults


def next_backoff(current: float, service: Service) -> float:
    """The next backoff delay (without jitter): the configured delay the first
    time, then the previous one times the factor, capped at the limit."""
    if current <= 0:
        return service.effective_backoff_delay()
    return min(current * service.effective_backoff_factor(), service.effective_backoff_limit())


def with_jitter(delay: float) -> float:
    """The delay plus a random 0-10 %."""
    return delay + delay * random.uniform(0.0, 0.1)


def _exit_code(returncode: int) -> int:
    """Like Go's ExitCode(): -1 when the process was killed by a signal."""
    return returncode if returncode >= 0 else -1


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _group_members(pgid: int) -> list[str] | None:
    """States (R, S, Z, ...) of processes in the group, or None without /proc."""
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return None
    states = []
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = text[text.rfind(")") + 2 :].split()
        if len(fields) > 2 and fields[2] == str(pgid):
            states.append(fields[0])
    return states


def group_alive(pgid: int) -> bool:
    """Whether any live (non-zombie) process is left in the process group."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    states = _group_members(pgid)
    if states is None:
        return True
    return any(s != "Z" for s in states)


def _signal_group(pgid: int | None, sig: int) -> None:
    if not pgid or pgid <= 1 or pgid == os.getpgrp():
        return
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def read_pids_file(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_pids_file(path: Path, groups: Mapping[str, int]) -> None:
    """Atomically record the process group of each running service."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        json.dump({"boot-id": _boot_id(), "groups": dict(sorted(groups.items()))}, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _credentials(service: Service) -> Account:
    """The account a service runs as (spec §3.1), refusals as start errors (in
    Pebble's words, which these are as they are)."""
    try:
        return accounts.resolve(service.user_id, service.user, service.group_id, service.group)
    except AccountError as error:
        raise StartError(error.message) from None


class _Output(asyncio.Protocol):
    """Reads the service's merged stdout/stderr into its buffer, line by line;
    a line still without its newline is there as a partial line."""

    def __init__(self, buffer: LogBuffer):
        self.buffer = buffer
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.closed = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        self._feed(self.decoder.decode(data))

    def _feed(self, text: str) -> None:
        *lines, rest = text.split("\n")
        for line in lines:
            self.buffer.write(line)
        self.buffer.write_partial(rest)

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._feed(self.decoder.decode(b"", final=True))
        if self.buffer.has_partial:
            self.buffer.write("")  # the output ended: the partial line is a whole one
        if not self.closed.done():
            self.closed.set_result(None)


@dataclass
class _Record:
    name: str
    state: str = INITIAL
    since: datetime | None = None
    config: Service | None = None  # what the current/last process was started with
    process: Child | None = None
    pgid: int | None = None
    exited: asyncio.Future | None = None  # resolves to the exit code once the exit is handled
    output: _Output | None = None
    output_start: int = 0  # log position at the latest spawn
    started_at: float = 0.0  # monotonic time of the latest spawn
    start_count: int = 0
    backoff: float = 0.0  # current backoff delay, 0 = reset
    backoff_timer: asyncio.Task | None = None
    restart_after_stop: bool = False  # terminate for on-check-failure: restart
    last_action: str = ""  # exit action applied on the latest exit
    spawning: bool = False  # a process is being started (a start or a backoff restart)
    stopped_early: asyncio.Future | None = None  # set by a stop during the okay delay
    restart_times: list[float] = field(default_factory=list)  # monotonic times of restarts (restart-limit)
    exit_code: int | None = None  # of the latest process that exited


ShutdownHook = Callable[[int], object]
StatusHook = Callable[[str, ServiceStatus], None]
RestartLimitHook = Callable[[str, int, float], None]  # service, restart-limit, restart-window
TaskLog = Callable[[str], None]


class Supervisor:
    def __init__(
        self,
        pids_file: str | os.PathLike | None = None,
        on_shutdown: ShutdownHook | None = None,
        *,
        base_env: Mapping[str, str] | None = None,
        on_status_change: StatusHook | None = None,
        okay_delay: float = OKAY_DELAY,
        kill_grace: float = KILL_GRACE,
        orphan_kill_delay: float = 5.0,
        logs: LogStore | None = None,
        on_restart_limit: RestartLimitHook | None = None,
    ):
        self.pids_file = Path(pids_file) if pids_file is not None else None
        self.on_shutdown = on_shutdown
        self.on_status_change = on_status_change
        self.on_restart_limit = on_restart_limit
        self.base_env = base_env  # None: the daemon's environment at spawn time
        self.okay_delay = okay_delay
        self.kill_grace = kill_grace
        self.orphan_kill_delay = orphan_kill_delay
        self.logs = logs or LogStore()
        self._records: dict[str, _Record] = {}
        self._background: set[asyncio.Task] = set()
        self._closing = False  # stop_all has begun: no process is started again
        self._pids_pending: asyncio.Handle | None = None

    # -- queries --------------------------------------------------------------
    def status(self, name: str) -> ServiceStatus:
        rec = self._records.get(name)
        if rec is None or rec.since is None:
            return ServiceStatus("inactive", None)  # never started
        return ServiceStatus(_API_STATUS[rec.state], rec.since)

    def state(self, name: str) -> str | None:
        """The internal state (None: never started)."""
        rec = self._records.get(name)
        return rec.state if rec else None

    def config_at_start(self, name: str) -> Service | None:
        """The config the service was last started (or asked to start) with."""
        rec = self._records.get(name)
        return rec.config if rec else None

    def set_config(self, service: Service) -> None:
        """Take the plan's new config for a known service (replan does, as Pebble)."""
        rec = self._records.get(service.name)
        if rec is not None:
            rec.config = copy.deepcopy(service)

    def known_services(self) -> list[str]:
        """Services a start has been asked of since the supervisor was created, sorted."""
        return sorted(n for n, r in self._records.items() if r.config is not None)

    def start_count(self, name: str) -> int:
        rec = self._records.get(name)
        return rec.start_count if rec else 0

    def is_active(self, name: str) -> bool:
        return self.status(name).current == "active"

    def started_services(self) -> list[str]:
        """Services started at least once since the supervisor was created, sorted."""
        return sorted(n for n, r in self._records.items() if r.start_count > 0)

    def exit_code(self, name: str) -> int | None:
        """The exit code of the service's latest process (None: none has exited)."""
        rec = self._records.get(name)
        return rec.exit_code if rec else None

    def pid(self, name: str) -> int | None:
        rec = self._records.get(name)
        return rec.process.pid if rec and rec.process else None

    # -- state ----------------------------------------------------------------
    def _transition(self, rec: _Record, state: str) -> None:
        old = self.status(rec.name).current
        rec.state = state
        new = _API_STATUS[state]
        if new != old or rec.since is None:
            rec.since = datetime.now(UTC)
            if self.on_status_change is not None:
                try:
                    self.on_status_change(rec.name, ServiceStatus(new, rec.since))
                except Exception:
                    log.exception("on_status_change hook failed")

    def _record(self, name: str) -> _Record:
        rec = self._records.get(name)
        if rec is None:
            rec = self._records[name] = _Record(name)
        return rec

    def _cancel_backoff(self, rec: _Record) -> None:
        if rec.backoff_timer is not None:
            if rec.backoff_timer is not asyncio.current_task():
                rec.backoff_timer.cancel()
            rec.backoff_timer = None

    def _spawn_background(self, coro) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    # -- starting -------------------------------------------------------------
    async def start(self, service: Service, aborted: asyncio.Event | None = None,
                    task_log: TaskLog | None = None) -> bool:
        """Start the service and wait the okay delay. False if it was already
        starting or running (the caller logs `Service "x" already started.`).
        Either way the service's config is now `service` (as Pebble records it,
        so a later replan compares with it). Raises StartError if it cannot be
        spawned, exits within the okay delay, is stopped meanwhile, or `aborted`
        is set meanwhile (the process is then killed and the service stopped).

        Shoal's fields: a one-shot service that exits with 0 within the okay
        delay has started (it is done); with start-retries, a process that exits
        within the okay delay is started again after its backoff delay, up to
        that many times, each retry told to `task_log`.

        As in Pebble, nothing is held while waiting: a stop or another start
        meanwhile sees the service starting."""
        rec = self._record(service.name)
        rec.config = copy.deepcopy(service)
        if rec.spawning or rec.state in (STARTING, RUNNING):
            return False
        if rec.state in (TERMINATING, KILLING):
            raise StartError(f"cannot start service while {rec.state}")
        self._cancel_backoff(rec)
        rec.backoff = 0.0
        rec.restart_times = []  # a start asked for gets the whole restart-limit again
        retries = service.start_retries or 0
        attempt = 0
        while True:
            try:
                return await self._start_once(rec, service, aborted)
            except _ExitedQuickly as quick:
                if attempt >= retries or rec.state != BACKOFF or (aborted is not None and aborted.is_set()):
                    raise quick.error from None
                attempt += 1
                self._cancel_backoff(rec)  # this start retries it itself
                delay = with_jitter(rec.backoff)
                if task_log is not None:
                    task_log(f"Service exited quickly with code {quick.code}; "
                             f"start retry {attempt} of {retries} in {format_duration(round(delay, 3))}.")
                START_RETRIES.labels(rec.name).inc()
                if not await self._retry_pause(rec, delay, aborted):
                    raise StartError(f"service start attempt: {quick.code_text}, "
                                     "and the start was stopped or aborted before its retry",
                                     quick.error.output) from None

    async def _retry_pause(self, rec: _Record, delay: float, aborted: asyncio.Event | None) -> bool:
        """Wait out a start retry's delay; False if the service left backoff
        (a stop) or the start was aborted meanwhile."""
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline:
            if rec.state != BACKOFF or (aborted is not None and aborted.is_set()):
                return False
            await asyncio.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
        return rec.state == BACKOFF and not (aborted is not None and aborted.is_set())

    async def _start_once(self, rec: _Record, service: Service, aborted: asyncio.Event | None) -> bool:
        rec.spawning = True
        try:
            await self._spawn(rec, service)
        except StartError:
            self._transition(rec, STOPPED)  # it could not start: stopped, as Pebble has it
            raise
        finally:
            rec.spawning = False
        self._transition(rec, STARTING)
        exited = rec.exited
        stopped = rec.stopped_early = asyncio.get_running_loop().create_future()
        waits: set[asyncio.Future] = {exited, stopped}
        abort = asyncio.ensure_future(aborted.wait()) if aborted is not None else None
        if abort is not None:
            waits.add(abort)
        try:
            done, _ = await asyncio.wait(waits, timeout=self.okay_delay, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            if rec.state == STARTING:
                self._transition(rec, RUNNING)
            raise
        finally:
            if abort is not None:
                abort.cancel()
            if rec.stopped_early is stopped:
                rec.stopped_early = None
        output = self.logs.buffer(rec.name).last_lines(OUTPUT_LINES, "    ")
        if stopped in done:
            raise StartError(f"service start attempt: {stopped.result()}", output)
        if exited in done:
            if rec.state == DONE:
                return True  # a one-shot service that did its work within the okay delay
            code = exited.result()
            if rec.state == FAILED:
                raise StartError(f"service start attempt: exited quickly with code {code}, "
                                 "and has used up its restart-limit", output)
            raise _ExitedQuickly(code, StartError(
                f"service start attempt: exited quickly with code {code}, will {rec.last_action}",
                output,
            ))
        if abort is not None and abort in done:
            # All an aborted start can do: kill the process, and the service is stopped.
            self._transition(rec, STOPPED)
            _signal_group(rec.pgid, signal.SIGKILL)
            raise StartError("start aborted, sent SIGKILL to process")
        if rec.state == STARTING:
            self._transition(rec, RUNNING)
        return True

    def _environment(self, service: Service, creds: Account) -> dict[str, str]:
        env = dict(os.environ if self.base_env is None else self.base_env)
        env.update(service.environment)
        if creds.uid is not None:
            if "HOME" not in service.environment and creds.home:
                env["HOME"] = creds.home
            if "USER" not in service.environment and creds.user:
                env["USER"] = creds.user
        return env

    async def _spawn(self, rec: _Record, service: Service) -> None:
        """Start a process for the service (state is left to the caller)."""
        if self._closing:
            raise StartError("cannot start service: the node agent is stopping")
        try:
            argv = _split_command(service.command)
        except ValueError as error:
            raise StartError(f"cannot start service: {error}") from None
        if not argv:
            raise StartError("cannot start service: empty command")
        creds = _credentials(service)
        env = self._environment(service, creds)
        daemon_env = os.environ if self.base_env is None else self.base_env
        executable = _look_path(argv[0], daemon_env.get("PATH", ""))
        buffer = self.logs.buffer(rec.name)
        output_start = buffer.position
        loop = asyncio.get_running_loop()
        read_fd, write_fd = os.pipe()
        output = _Output(buffer)
        try:
            transport, _ = await loop.connect_read_pipe(
                lambda: output, os.fdopen(read_fd, "rb", buffering=0)
            )
        except BaseException:
            os.close(write_fd)
            raise
        try:
            process = spawn(argv, executable, account=creds, env=env, cwd=service.working_dir or None,
                            output=write_fd)
        except (OSError, ValueError, subprocess.SubprocessError) as error:
            transport.close()
            raise StartError(f"cannot start service: {fork_exec_error(error, executable)}") from None
        except BaseException:
            transport.close()
            raise
        finally:
            os.close(write_fd)
        rec.process = process
        rec.pgid = process.pid  # start_new_session: the process leads its own group
        rec.output = output
        rec.output_start = output_start
        rec.config = copy.deepcopy(service)
        rec.started_at = time.monotonic()
        rec.start_count += 1
        rec.restart_after_stop = False
        rec.exited = loop.create_future()
        self._save_pids_soon()
        self._spawn_background(self._watch(rec, process, output, rec.exited))

    async def _watch(
        self,
        rec: _Record,
        process: Child,
        output: _Output,
        exited: asyncio.Future,
    ) -> None:
        returncode = await process.wait()
        _signal_group(process.pid, signal.SIGKILL)  # leftovers of the group go with it
        await asyncio.wait({output.closed}, timeout=0.2)
        if rec.process is process:
            rec.process = None
            rec.pgid = None
        self._save_pids_soon()
        code = _exit_code(returncode)
        rec.exit_code = code
        try:
            self._handle_exit(rec, code)
        finally:
            if not exited.done():
                exited.set_result(code)

    # -- exits ------------------------------------------------------------------
    def _handle_exit(self, rec: _Record, code: int) -> None:
        if rec.state in (TERMINATING, KILLING):
            if rec.restart_after_stop:
                self._restart_or_give_up(rec)
            else:
                self._transition(rec, STOPPED)
            return
        if rec.state not in (STARTING, RUNNING):
            return
        config = rec.config or Service(rec.name)
        success = code == 0
        action = (config.on_success if success else config.on_failure) or "restart"
        rec.last_action = action
        if success and config.one_shot and action in ("restart", "ignore"):
            self._transition(rec, DONE)  # it did its work: not restarted
            ONE_SHOT_DONE.labels(rec.name).inc()
        elif action == "ignore":
            self._transition(rec, STOPPED if success else EXITED)
        elif action in ("shutdown", "success-shutdown", "failure-shutdown"):
            if action == "shutdown":
                exit_code = EXIT_SUCCESS if success else EXIT_FAILURE
            else:
                exit_code = EXIT_SUCCESS if action == "success-shutdown" else EXIT_FAILURE
            self._transition(rec, EXITED)
            self._shutdown(exit_code)
        else:
            rec.last_action = "restart"
            if time.monotonic() - rec.started_at >= config.effective_backoff_limit():
                rec.backoff = 0.0  # it stayed up long enough: start the backoff over
            self._restart_or_give_up(rec)

    def _restart_or_give_up(self, rec: _Record) -> None:
        """Back off towards a restart, unless restart-limit restarts happened
        within restart-window already: then the service is failed ("error")
        and stays stopped, and the hook records it."""
        config = rec.config or Service(rec.name)
        limit = config.restart_limit
        if limit is not None and not self._closing:
            now = time.monotonic()
            window = config.effective_restart_window()
            rec.restart_times = [t for t in rec.restart_times if now - t < window]
            if len(rec.restart_times) >= limit:
                self._cancel_backoff(rec)
                rec.last_action = "stay in error (restart-limit reached)"
                self._transition(rec, FAILED)
                RESTART_LIMITS.labels(rec.name).inc()
                log.warning('service "%s" restarted %d times within %s: not restarted again',
                            rec.name, len(rec.restart_times), format_duration(window))
                if self.on_restart_limit is not None:
                    try:
                        self.on_restart_limit(rec.name, limit, window)
                    except Exception:
                        log.exception("on_restart_limit hook failed")
                return
            rec.restart_times.append(now)
        self._enter_backoff(rec)

    def _enter_backoff(self, rec: _Record) -> None:
        if self._closing:  # the node agent is stopping: nothing restarts
            self._transition(rec, STOPPED)
            return
        config = rec.config or Service(rec.name)
        rec.backoff = next_backoff(rec.backoff, config)
        self._transition(rec, BACKOFF)
        self._cancel_backoff(rec)
        rec.backoff_timer = self._spawn_background(
            self._backoff_restart(rec, with_jitter(rec.backoff))
        )

    async def _backoff_restart(self, rec: _Record, delay: float) -> None:
        await asyncio.sleep(delay)
        if rec.state != BACKOFF or rec.spawning or rec.backoff_timer is not asyncio.current_task():
            return
        rec.backoff_timer = None
        rec.spawning = True
        try:
            await self._spawn(rec, rec.config or Service(rec.name))
        except StartError as error:
            # As Pebble: it stays in backoff, with no restart to come (a start ends it).
            log.warning('cannot restart service "%s": %s', rec.name, error.message)
            return
        finally:
            rec.spawning = False
        RESTARTS.labels(rec.name).inc()
        if rec.state == BACKOFF:
            self._transition(rec, RUNNING)

    def _shutdown(self, code: int) -> None:
        if self.on_shutdown is None:
            log.warning("a service action asked for daemon exit %d but no handler is set", code)
            return
        result = self.on_shutdown(code)
        if inspect.isawaitable(result):
            self._spawn_background(_await(result))

    # -- stopping -------------------------------------------------------------
    async def stop(self, name: str) -> str | None:
        """Stop the service. Returns a message for the task log when there was
        nothing to do; raises StopError if the process survives SIGKILL. A
        start still in its okay delay fails ("stopped before the okay delay")."""
        rec = self._records.get(name)
        if rec is None or rec.state == INITIAL:
            return f'Service "{name}" has never been started.'
        if rec.state in (TERMINATING, KILLING):
            return f'Service "{name}" already stopping.'
        if rec.state == STOPPED:
            return f'Service "{name}" already stopped.'
        if rec.state in (EXITED, DONE, FAILED):
            self._transition(rec, STOPPED)
            return f'Service "{name}" had already exited.'
        if rec.state == BACKOFF:
            self._cancel_backoff(rec)
            self._transition(rec, STOPPED)
            return None
        if rec.state == STARTING and rec.stopped_early is not None and not rec.stopped_early.done():
            rec.stopped_early.set_result(f"stopped before the {format_duration(self.okay_delay)} okay delay")
        await self._terminate(rec)
        return None

    async def _terminate(self, rec: _Record) -> None:
        """SIGTERM the group, wait kill-delay, SIGKILL, wait; the exit handler
        then moves the service to stopped (or backoff when restarting). A
        process that outlives SIGKILL leaves the service stopped all the same."""
        exited = rec.exited
        if exited is None or exited.done():
            return
        config = rec.config or Service(rec.name)
        self._transition(rec, TERMINATING)
        _signal_group(rec.pgid, signal.SIGTERM)
        done, _ = await asyncio.wait({exited}, timeout=config.effective_kill_delay())
        if done or rec.state != TERMINATING:  # gone, or the shutdown took it over
            return
        self._transition(rec, KILLING)
        _signal_group(rec.pgid, signal.SIGKILL)
        done, _ = await asyncio.wait({exited}, timeout=self.kill_grace)
        if not done and rec.state == KILLING:
            self._transition(rec, STOPPED)
            if not rec.restart_after_stop:
                raise StopError("cannot stop service: process still running after SIGTERM and SIGKILL")

    async def stop_all(self, within: float | None = None) -> None:
        """Daemon shutdown: stop every service that has a process or a restart
        to come, and start none again. Locks are not waited for (a stop under
        way may hold one for its whole kill-delay). With `within`, a process
        gets at most that long after SIGTERM before SIGKILL, whatever its
        kill-delay, and at most that long again to go: the shutdown is bounded."""
        self._closing = True
        for rec in self._records.values():
            self._cancel_backoff(rec)
            if rec.state == BACKOFF:
                self._transition(rec, STOPPED)
        live = [r for r in self._records.values() if r.exited is not None and not r.exited.done()]
        await asyncio.gather(*(self._shut_down(rec, within) for rec in live))
        for rec in live:
            if rec.exited is not None and not rec.exited.done():
                log.warning('service "%s": process group %s still running after SIGTERM and SIGKILL',
                            rec.name, rec.pgid)
        self._save_pids()

    async def _shut_down(self, rec: _Record, within: float | None) -> None:
        exited = rec.exited
        config = rec.config or Service(rec.name)
        delay = config.effective_kill_delay()
        grace = self.kill_grace
        if within is not None:
            delay, grace = min(delay, within), min(grace, within)
        if rec.state != KILLING:
            if rec.state != TERMINATING:
                self._transition(rec, TERMINATING)
                _signal_group(rec.pgid, signal.SIGTERM)
            done, _ = await asyncio.wait({exited}, timeout=delay)
            if done:
                return
            self._transition(rec, KILLING)
        _signal_group(rec.pgid, signal.SIGKILL)
        await asyncio.wait({exited}, timeout=grace)

    # -- checks and signals ---------------------------------------------------
    async def check_failed(self, name: str, action: str) -> None:
        """A check this service lists in on-check-failure hit its threshold."""
        if action == "shutdown":
            self._shutdown(EXIT_CHECK_FAILURE)
            return
        if action == "success-shutdown":
            self._shutdown(EXIT_SUCCESS)
            return
        if action != "restart":
            return
        rec = self._records.get(name)
        if rec is None:
            return
        if rec.state == RUNNING:  # as Pebble: a starting service is left alone, one backing off waits
            rec.restart_after_stop = True
            await self._terminate(rec)
        elif rec.state == EXITED:
            self._restart_or_give_up(rec)

    async def send_signal(self, name: str, signal_name: str) -> None:
        """Send the signal to the service's main process (not its group, as Pebble)."""
        rec = self._records.get(name)
        if rec is None or rec.state not in (STARTING, RUNNING) or rec.process is None:
            raise SignalError(f'cannot send signal to "{name}": service is not running')
        sig = signal_number(signal_name)
        if sig is None:
            raise SignalError(f'cannot send signal to "{name}": invalid signal name "{signal_name}"')
        try:
            os.kill(rec.process.pid, sig)
        except OSError as error:
            reason = os.strerror(error.errno) if error.errno else str(error)
            raise SignalError(f'cannot send signal to "{name}": {reason[:1].lower()}{reason[1:]}') from None

    # -- orphans --------------------------------------------------------------
    def _save_pids_soon(self) -> None:
        """Write the pids file once this turn of the event loop is over: the
        services started (or gone) in one turn, such as the 200 tasks of one
        start change, are recorded by one write and fsync, not one each."""
        if self.pids_file is not None and self._pids_pending is None:
            self._pids_pending = asyncio.get_running_loop().call_soon(self._save_pids)

    def _save_pids(self) -> None:
        if self._pids_pending is not None:
            self._pids_pending.cancel()
            self._pids_pending = None
        if self.pids_file is None:
            return
        groups = {n: r.pgid for n, r in self._records.items() if r.process is not None and r.pgid}
        try:
            write_pids_file(self.pids_file, groups)
        except OSError as error:
            log.warning("cannot write %s: %s", self.pids_file, error)

    async def reap_orphans(self) -> list[str]:
        """Kill process groups a previous run left behind (SIGTERM, then
        SIGKILL), then clear the file. Returns the services whose groups were
        still alive."""
        if self.pids_file is None:
            return []
        data = read_pids_file(self.pids_file)
        groups = data.get("groups") if isinstance(data.get("groups"), dict) else {}
        same_boot = data.get("boot-id", "") in ("", _boot_id())
        ours = {r.pgid for r in self._records.values() if r.pgid}
        alive = {}
        if same_boot:
            alive = {
                n: g
                for n, g in groups.items()
                if isinstance(g, int)
                and g > 1
                and g != os.getpgrp()
                and g not in ours
                and group_alive(g)
            }
        for pgid in alive.values():
            _signal_group(pgid, signal.SIGTERM)
        left = await _wait_groups(list(alive.values()), self.orphan_kill_delay)
        for pgid in left:
            _signal_group(pgid, signal.SIGKILL)
        left = await _wait_groups(left, self.kill_grace)
        for pgid in left:
            log.warning("orphaned process group %d survived SIGKILL", pgid)
        self._save_pids()
        return sorted(alive)


class _ExitedQuickly(Exception):
    """A start whose process exited within the okay delay (start() may retry it)."""

    def __init__(self, code: int, error: StartError):
        super().__init__(error.message)
        self.code = code
        self.error = error

    @property
    def code_text(self) -> str:
        return f"exited quickly with code {self.code}"


async def _wait_groups(pgids: list[int], timeout: float) -> list[int]:
    """Wait until these process groups are gone; return those still alive."""
    deadline = time.monotonic() + timeout
    left = [g for g in pgids if group_alive(g)]
    while left and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        left = [g for g in left if group_alive(g)]
    return left


async def _await(awaitable) -> None:
    try:
        await awaitable
    except Exception:
        log.exception("on_shutdown hook failed")


def _look_path(name: str, path: str) -> str:
    """The executable a command names, looked up in the daemon's PATH."""
    try:
        return look_path(name, path)
    except ExecutableNotFound as error:
        raise StartError(f"cannot start service: {error}") from None

