"""Exec (spec §2.9): one command run for a client as a change with one
`exec` task, its standard streams carried over websockets.

`prepare` turns a request into an ExecSpec (environment, working directory,
account, executable) or refuses it. An ExecSession then owns the command's
websockets as channels — `control`, `stdio` and, with split stderr,
`stderr` — and runs the command once stdio (and stderr) are connected:
binary frames are data, a text `{"command":"end"}` ends a stream, the
control channel takes signals and terminal resizes. The task finishes when
the command has exited and its output has been delivered.

Channels are plain queues of (kind, payload) frames; the gRPC servicer
(exec_rpc.py) and the gateway's websocket handler carry them.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import pty
import shutil
import signal
import struct
import termios
from dataclasses import dataclass, field

from services.common.durations import format_duration, parse_duration
from services.common.errors import DomainError, Failure
from services.plan import accounts
from services.plan.accounts import Account, AccountError
from services.plan.childsetup import preexec, signal_number
from services.plan.oserrors import fork_exec_error
from services.plan.plan.context import ContextNotFound, ContextOptions, merge_service_context

log = logging.getLogger("shoal.plan.exec")

CONNECT_TIMEOUT = 5.0  # how long the command waits for its websockets
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
OUTPUT_CHUNK = 32 * 1024
END = '{"command":"end"}'
BINARY, TEXT = "binary", "text"


class ExecRequestError(DomainError):
    """A refused exec request: invalid, not found, or — for what Pebble
    reports as `cannot call exec: ...` — an internal error."""


class ExecFailed(Exception):
    """The command could not run to completion (the task's error). `exit_code`
    is the task's data, when the command got as far as being started (-1)."""

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class ExecSpec:
    argv: list[str]
    executable: str
    environment: dict[str, str]
    working_dir: str
    account: Account = field(default_factory=Account)
    timeout: float | None = None
    terminal: bool = False
    interactive: bool = False
    split_stderr: bool = False
    width: int = 0
    height: int = 0


def _check_no_nul(command: list[str], environment: dict[str, str], working_dir: str) -> None:
    """A NUL cannot reach a process (its arguments and environment are C
    strings): refused here, where Pebble accepts it and the task then fails."""
    for index, argument in enumerate(command[1:], 1):
        if "\x00" in argument:
            raise ExecRequestError(f"command argument {index} holds a NUL character")
    for name, value in environment.items():
        if "\x00" in name:
            raise ExecRequestError("an environment variable's name holds a NUL character")
        if "\x00" in value:
            raise ExecRequestError(f'environment variable "{name}" holds a NUL character')
    if "\x00" in working_dir:
        raise ExecRequestError("working directory holds a NUL character")


def prepare(command: list[str], *, service_context: str = "", environment: dict[str, str] | None = None,
            working_dir: str = "", timeout: str = "", user_id: int | None = None, user: str = "",
            group_id: int | None = None, group: str = "", terminal: bool = False, interactive: bool = False,
            split_stderr: bool = False, width: int = 0, height: int = 0, plan=None,
            base_environment: dict[str, str] | None = None) -> ExecSpec:
    if not command:
        raise ExecRequestError("must specify command")
    try:
        seconds = parse_duration(timeout) if timeout else None
    except ValueError as error:
        raise ExecRequestError(f"invalid timeout: {error}") from None
    executable = shutil.which(command[0])
    if executable is None:
        raise ExecRequestError(f'cannot find executable "{command[0]}"')
    try:
        merged = merge_service_context(plan, service_context, ContextOptions(
            environment=dict(environment or {}), user_id=user_id, user=user,
            group_id=group_id, group=group, working_dir=working_dir,
        ))
    except ContextNotFound as error:
        raise ExecRequestError(str(error)) from None
    merged_env, working_dir = merged.environment, merged.working_dir
    _check_no_nul(command, merged_env, working_dir)
    try:
        account = accounts.resolve(merged.user_id, merged.user, merged.group_id, merged.group)
    except AccountError as error:
        raise ExecRequestError(error.message) from None
    if interactive and not terminal:
        raise ExecRequestError("cannot call exec: cannot use interactive mode without a terminal", Failure.INTERNAL)
    env = dict(os.environ if base_environment is None else base_environment)
    if account.given and account.uid != os.getuid():  # another user: their HOME and USER
        env.pop("HOME", None)
        env.pop("USER", None)
    env.update(merged_env)
    env.setdefault("PATH", DEFAULT_PATH)
    whose = account if account.given else accounts.current()
    if not env.get("HOME") and whose.home:
        env["HOME"] = whose.home
    if not env.get("USER") and whose.user:
        env["USER"] = whose.user
    env.setdefault("LANG", "C.UTF-8")
    directory, what = (working_dir, "working directory") if working_dir else (env.get("HOME", ""), "home directory")
    if not directory:
        directory = "/"
    elif not os.path.exists(directory):
        raise ExecRequestError(f'cannot call exec: {what} "{directory}" does not exist', Failure.INTERNAL)
    elif not os.path.isdir(directory):
        raise ExecRequestError(f'cannot call exec: {what} "{directory}" not a directory', Failure.INTERNAL)
    return ExecSpec(list(command), executable, env, directory, account, seconds, terminal, interactive,
                    split_stderr, max(width, 0), max(height, 0))


class Channel:
    """One websocket of an exec: frames in from the client, frames out."""

    def __init__(self):
        self.inbound: asyncio.Queue = asyncio.Queue(maxsize=64)  # and on input
        self.outbound: asyncio.Queue = asyncio.Queue(maxsize=64)  # backpressure on output
        self.attached = False
        self.detached = False

    async def send(self, kind: str | None, payload=None) -> None:
        """Queue a frame to the client (None: close the websocket)."""
        if self.detached:
            return
        await self.outbound.put(None if kind is None else (kind, payload))

    async def close(self, wait: float = 10.0) -> None:
        """Close the websocket once the client has taken what was sent, or
        drop it if the client stops reading."""
        try:
            await asyncio.wait_for(self.send(None), wait)
        except TimeoutError:
            self.detach()

    def end_input(self) -> None:
        """No more frames will come from the client."""
        while True:
            try:
                self.inbound.put_nowait(None)
                return
            except asyncio.QueueFull:
                self.inbound.get_nowait()  # the reader is gone or stuck; it only needs the end

    def detach(self) -> None:
        """The client went away: drop what it will never read, unblock writers."""
        self.detached = True
        self.end_input()
        while not self.outbound.empty():
            self.outbound.get_nowait()


def _exit_code(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode


def _set_size(fd: int, width: int, height: int) -> None:
    if width > 0 and height > 0:
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _signal_process(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class ExecSession:
    def __init__(self, task_id: str, spec: ExecSpec):
        self.task_id = task_id
        self.spec = spec
        names = ["control", "stdio"] + (["stderr"] if spec.split_stderr else [])
        self.channels = {name: Channel() for name in names}
        self.connected = asyncio.Event()
        self.pgid: int | None = None
        self._master: int | None = None

    def attach(self, websocket_id: str) -> Channel:
        channel = self.channels.get(websocket_id)
        if channel is None:
            raise ExecRequestError(f'cannot find {websocket_id} websocket for task "{self.task_id}"',
                                   Failure.NOT_FOUND)
        if channel.attached:
            raise ExecRequestError(f"{websocket_id} websocket already connected", Failure.INTERNAL)
        channel.attached = True
        if all(self.channels[n].attached for n in self.channels if n != "control"):
            self.connected.set()
        return channel

    # -- running -----------------------------------------------------------------
    async def run(self) -> int:
        """Run the command; its exit code (128+N when killed by signal N).
        Raises ExecFailed when it cannot start or times out."""
        try:
            await asyncio.wait_for(self.connected.wait(), CONNECT_TIMEOUT)
        except TimeoutError:
            raise ExecFailed(f"exec {self.task_id}: timeout waiting for websocket connections:"
                             " context deadline exceeded") from None
        spec = self.spec
        loop = asyncio.get_running_loop()
        child_fds: list[int] = []
        outputs: list[tuple[int, Channel]] = []
        stdin_fd: int | None = None  # where client input is written
        try:
            if spec.terminal:
                master, slave = pty.openpty()
                self._master = master
                _set_size(master, spec.width, spec.height)
                child_fds.append(slave)
                stdin_child = stdout_child = stderr_child = slave
                outputs.append((master, self.channels["stdio"]))
                if spec.interactive:
                    stdin_fd = master
                else:
                    stdin_child, stdin_fd = os.pipe()
                    os.set_blocking(stdin_fd, False)
                    child_fds.append(stdin_child)
            else:
                stdin_child, stdin_fd = os.pipe()
                os.set_blocking(stdin_fd, False)
                out_read, stdout_child = os.pipe()
                child_fds += [stdin_child, stdout_child]
                stderr_child = stdout_child
                outputs.append((out_read, self.channels["stdio"]))
            if spec.split_stderr:
                err_read, stderr_child = os.pipe()
                child_fds.append(stderr_child)
                outputs.append((err_read, self.channels["stderr"]))
            try:
                process = await asyncio.create_subprocess_exec(
                    *spec.argv, executable=spec.executable, stdin=stdin_child, stdout=stdout_child,
                    stderr=stderr_child, env=spec.environment, cwd=spec.working_dir, start_new_session=True,
                    preexec_fn=preexec(spec.account,
                                       take_terminal=stdin_child if spec.terminal and spec.interactive else None))
            except (OSError, ValueError) as error:
                for fd, _ in outputs:
                    os.close(fd)
                if stdin_fd is not None and stdin_fd != self._master:
                    os.close(stdin_fd)
                raise ExecFailed(fork_exec_error(error, spec.executable), exit_code=-1) from None
        finally:
            for fd in child_fds:
                os.close(fd)
        self.pgid = process.pid
        pumps = [loop.create_task(self._pump_out(fd, channel)) for fd, channel in outputs]
        feeder = loop.create_task(self._pump_in(stdin_fd))
        control = loop.create_task(self._control())
        timed_out = finished = False
        try:
            try:
                returncode = await asyncio.wait_for(process.wait(), spec.timeout or None)
            except TimeoutError:
                timed_out = True
                _signal_group(process.pid, signal.SIGKILL)
                returncode = await process.wait()
            # The command is gone; what it left running may still hold its
            # output open, and the task ends when that output has ended.
            await asyncio.gather(*pumps)
            finished = True
        except asyncio.CancelledError:
            _signal_group(process.pid, signal.SIGKILL)
            raise
        finally:
            for task in (*pumps, feeder, control):
                task.cancel()
            await asyncio.gather(*pumps, feeder, control, return_exceptions=True)
            if self._master is not None:
                os.close(self._master)
                self._master = None
            for channel in self.channels.values():
                if finished:
                    await channel.close()
                else:
                    channel.detach()
        if timed_out:
            raise ExecFailed(f"timed out after {format_duration(spec.timeout)}: context deadline exceeded",
                             exit_code=-1)
        return _exit_code(returncode)

    async def _pump_out(self, fd: int, channel: Channel) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=OUTPUT_CHUNK * 2)
        owned = fd != self._master
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(os.dup(fd) if not owned else fd, "rb", 0))
        try:
            while True:
                try:
                    data = await reader.read(OUTPUT_CHUNK)
                except OSError:  # EIO from a terminal whose last writer has gone
                    data = b""
                if not data:
                    break
                await channel.send(BINARY, data)
            await channel.send(TEXT, END)
        finally:
            transport.close()

    async def _pump_in(self, fd: int | None) -> None:
        """Client input to the command's stdin until the client ends it."""
        channel = self.channels["stdio"]
        writes_terminal = fd is not None and fd == self._master
        try:
            while True:
                frame = await channel.inbound.get()
                if frame is None:
                    break
                kind, payload = frame
                if kind == TEXT:
                    if _command_of(payload) == "end":
                        break
                    continue
                if fd is not None:
                    await _write_all(fd, payload)
            if writes_terminal:
                await _write_all(fd, bytes([termios.tcgetattr(fd)[6][termios.VEOF][0]]))
        except OSError:
            pass  # the command stopped reading
        finally:
            if fd is not None and not writes_terminal:
                os.close(fd)

    async def _control(self) -> None:
        channel = self.channels["control"]
        while (frame := await channel.inbound.get()) is not None:
            kind, payload = frame
            if kind != TEXT:
                continue
            try:
                message = json.loads(payload)
            except ValueError:
                log.warning("exec %s: control message is not JSON", self.task_id)
                continue
            command = message.get("command") if isinstance(message, dict) else None
            if command == "signal":
                name = (message.get("signal") or {}).get("name", "")
                sig = signal_number(name) if isinstance(name, str) else None
                if sig is None:
                    log.warning("exec %s: invalid signal name %r", self.task_id, name)
                elif self.pgid:
                    _signal_process(self.pgid, sig)  # the command itself, as Pebble forwards it
            elif command == "resize" and self._master is not None:
                size = message.get("resize") or {}
                try:
                    _set_size(self._master, int(size.get("width", 0)), int(size.get("height", 0)))
                except (TypeError, ValueError, OSError):
                    log.warning("exec %s: invalid resize %r", self.task_id, size)
            else:
                log.warning("exec %s: unknown control command %r", self.task_id, command)


def _command_of(text: str) -> str:
    try:
        message = json.loads(text)
    except ValueError:
        return ""
    return message.get("command", "") if isinstance(message, dict) else ""


async def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            await asyncio.sleep(0.01)
            continue
        view = view[written:]
        if view:
            await asyncio.sleep(0)


class ExecManager:
    """The exec sessions of running tasks, by task id."""

    def __init__(self):
        self.sessions: dict[str, ExecSession] = {}

    def add(self, task_id: str, spec: ExecSpec) -> ExecSession:
        session = self.sessions[task_id] = ExecSession(task_id, spec)
        return session

    def attach(self, task_id: str, websocket_id: str) -> Channel:
        session = self.sessions.get(task_id)
        if session is None:
            raise ExecRequestError(f'cannot find task "{task_id}"', Failure.NOT_FOUND)
        return session.attach(websocket_id)

    async def run(self, task_id: str) -> int:
        session = self.sessions.get(task_id)
        if session is None:
            raise ExecFailed("the command's session was lost (the agent restarted)")
        try:
            return await session.run()
        finally:
            self.sessions.pop(task_id, None)
