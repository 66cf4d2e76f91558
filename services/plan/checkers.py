"""The three kinds of health check, each one attempt: success returns,
failure raises CheckFailed with the text Pebble reports (Go's error, then
`; ` and the details: the first lines of an HTTP answer's body, the last
lines of an exec check's output)."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import signal
import socket
import subprocess
from collections.abc import Mapping

from services.common.durations import format_duration
from services.plan import accounts
from services.plan.accounts import AccountError
from services.plan.childsetup import spawn
from services.plan.oserrors import (
    ExecutableNotFound,
    errno_text,
    fork_exec_error,
    join_host_port,
    look_path,
)
from services.plan.plan.commands import split
from services.plan.plan.model import Check, ExecCheck

MAX_ERROR_BYTES = 512  # of an HTTP body read, of an exec check's output kept
MAX_ERROR_LINES = 5
EXEC_WAIT_DELAY = 1.0  # how long output may go on after the command has exited
TRUNCATED = "(...)"


class CheckFailed(Exception):
    pass


def _with_details(message: str, details: str) -> str:
    return f"{message}; {details}" if details else message


def first_lines(body: bytes) -> str:
    """An HTTP answer's details: its first lines, `(...)` after them if there were more."""
    lines = body.decode(errors="replace").strip().split("\n")
    if len(lines) > MAX_ERROR_LINES:
        lines = [*lines[:MAX_ERROR_LINES], TRUNCATED]
    return "\n".join(lines)


def last_lines(output: bytes) -> str:
    """An exec check's details: the last lines of what it wrote (of the last
    bytes kept), `(...)` before them if there were more."""
    lines = output.decode(errors="replace").split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the line the final newline ends
    lines = "\n".join(lines[-(MAX_ERROR_LINES + 1):]).strip().split("\n")
    if len(lines) > MAX_ERROR_LINES:
        lines[0] = TRUNCATED
    return "\n".join(lines)


async def run_check(check: Check, base_environment: Mapping[str, str] | None = None) -> None:
    """One attempt of `check` (with its service context merged in), bounded by
    its timeout. An exec check's environment is `base_environment` (the one
    every child of the daemon inherits) under the check's own."""
    timeout = check.effective_timeout()
    # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that
    # comes as its awaitable finishes, and a stopped check's loop would run on.
    try:
        if check.http is not None:
            async with asyncio.timeout(timeout):
                await _http(check)
        elif check.tcp is not None:
            async with asyncio.timeout(timeout):
                await _tcp(check)
        else:
            await _exec(check.exec or ExecCheck(), timeout, base_environment)
    except TimeoutError:
        raise CheckFailed(f"check timed out after {format_duration(timeout)}") from None


async def _first_address(host: str, port: int) -> str:
    """The address Go's dialer names in its error: the host's first."""
    try:
        ipaddress.ip_address(host)
        return join_host_port(host, port)
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return join_host_port(host, port)
    return join_host_port(infos[0][4][0], port) if infos else join_host_port(host, port)


async def _dial(host: str, port: int) -> socket.socket:
    """A TCP connection to `host:port`, trying each of its addresses in turn;
    CheckFailed with Go's text (`dial tcp 127.0.0.1:9: connect: connection refused`)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise CheckFailed(f"dial tcp: lookup {host}: no such host") from None
    first: tuple[str, OSError] | None = None
    for family, kind, proto, _name, address in infos:
        sock = socket.socket(family, kind, proto)
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, address)
            return sock
        except OSError as error:
            sock.close()
            if first is None:
                first = (join_host_port(address[0], port), error)
        except BaseException:
            sock.close()
            raise
    if first is None:
        raise CheckFailed(f"dial tcp: lookup {host}: no such host")
    where, error = first
    raise CheckFailed(f"dial tcp {where}: connect: {errno_text(error.errno, str(error))}")


async def _tcp(check: Check) -> None:
    sock = await _dial(check.tcp.host or "localhost", check.tcp.port)
    sock.close()


async def _http(check: Check) -> None:
    import aiohttp  # here: a plan service without HTTP checks never loads an HTTP client

    http = check.http
    url = http.url
    try:
        async with aiohttp.ClientSession() as session, session.get(url, headers=http.headers or None) as response:
            if 200 <= response.status < 300:
                return
            body = await response.content.read(MAX_ERROR_BYTES)
            raise CheckFailed(_with_details(f"non-2xx status code {response.status}", first_lines(body)))
    except aiohttp.ClientSSLError as error:
        raise CheckFailed(f'Get "{url}": tls: {error}') from None
    except aiohttp.ClientConnectorDNSError as error:
        raise CheckFailed(f'Get "{url}": dial tcp: lookup {error.host}: no such host') from None
    except aiohttp.ClientConnectorError as error:
        where = await _first_address(error.host, error.port)
        reason = errno_text(error.os_error.errno, str(error.os_error))
        raise CheckFailed(f'Get "{url}": dial tcp {where}: connect: {reason}') from None
    except aiohttp.ServerDisconnectedError:
        raise CheckFailed(f'Get "{url}": EOF') from None
    except aiohttp.ClientError as error:
        raise CheckFailed(f'Get "{url}": {error}') from None


class _Tail(asyncio.Protocol):
    """The last MAX_ERROR_BYTES of a command's output (Pebble's ring buffer)."""

    def __init__(self):
        self.kept = b""
        self.closed = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        self.kept = (self.kept + data)[-MAX_ERROR_BYTES:]

    def connection_lost(self, exc) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


async def _exec(spec: ExecCheck, timeout: float, base_environment: Mapping[str, str] | None) -> None:
    try:
        argv = split(spec.command)
    except ValueError as error:
        raise CheckFailed(f"cannot parse command: {error}") from None
    base = os.environ if base_environment is None else base_environment
    env = {**base, **spec.environment}
    try:
        account = accounts.resolve(spec.user_id, spec.user, spec.group_id, spec.group)
    except AccountError as error:
        raise CheckFailed(error.message) from None
    try:
        executable = look_path(argv[0], base.get("PATH", ""))
    except ExecutableNotFound as error:
        raise CheckFailed(str(error)) from None
    if spec.working_dir and not os.path.isdir(spec.working_dir):
        reason = errno_text(2 if not os.path.exists(spec.working_dir) else 20)  # ENOENT, ENOTDIR
        raise CheckFailed(f"chdir {spec.working_dir}: {reason}")
    loop = asyncio.get_running_loop()
    read_fd, write_fd = os.pipe()
    try:
        transport, tail = await loop.connect_read_pipe(_Tail, os.fdopen(read_fd, "rb", buffering=0))
    except BaseException:
        os.close(write_fd)
        raise
    try:
        try:
            process = spawn(argv, executable, account=account, env=env, cwd=spec.working_dir or None,
                            output=write_fd)
        except (OSError, ValueError, subprocess.SubprocessError) as error:
            raise CheckFailed(fork_exec_error(error, executable)) from None
        finally:
            os.close(write_fd)
        try:
            async with asyncio.timeout(timeout):
                await process.wait()
        except BaseException:  # timed out, or the check was stopped
            _kill_group(process.pid)
            await process.wait()
            raise
        try:
            async with asyncio.timeout(EXEC_WAIT_DELAY):
                await asyncio.shield(tail.closed)
        except TimeoutError:
            pass  # something the command started holds its output open
    finally:
        transport.close()
    code = process.returncode
    if code < 0:
        code = 128 - code  # killed by a signal, as Pebble's reaper counts it
    if code != 0:
        raise CheckFailed(_with_details(f"exit status {code}", last_lines(tail.kept)))


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
