"""The three kinds of health check, each one attempt: success returns,
failure raises CheckFailed with the text Pebble reports."""

from __future__ import annotations

import asyncio
import os
import shlex
import signal

from services.common.durations import format_duration
from services.plan import accounts
from services.plan.accounts import AccountError
from services.plan.childsetup import preexec
from services.plan.plan.commands import parse_command
from services.plan.plan.model import Check, ExecCheck

DETAIL_LINES = 5


class CheckFailed(Exception):
    pass


def _with_details(message: str, lines: list[str]) -> str:
    details = "\n".join(line for line in lines if line)
    return f"{message}; {details}" if details else message


async def run_check(check: Check, environment: dict[str, str] | None = None) -> None:
    """One attempt of `check`, bounded by its timeout."""
    timeout = check.effective_timeout()
    try:
        if check.http is not None:
            await asyncio.wait_for(_http(check), timeout)
        elif check.tcp is not None:
            await asyncio.wait_for(_tcp(check), timeout)
        else:
            await _exec(check.exec or ExecCheck(), timeout, environment or {})
    except TimeoutError:
        raise CheckFailed(f"check timed out after {format_duration(timeout)}") from None


async def _http(check: Check) -> None:
    import aiohttp  # here: a plan service without HTTP checks never loads an HTTP client

    http = check.http
    try:
        async with aiohttp.ClientSession() as session, session.get(http.url, headers=http.headers or None) as response:
            if 200 <= response.status < 300:
                return
            body = (await response.content.read(4096)).decode(errors="replace")
            raise CheckFailed(
                _with_details(f"non-2xx status code {response.status}", body.splitlines()[:DETAIL_LINES])
            )
    except aiohttp.ClientError as error:
        raise CheckFailed(str(error)) from None


async def _tcp(check: Check) -> None:
    host = check.tcp.host or "localhost"
    try:
        _reader, writer = await asyncio.open_connection(host, check.tcp.port)
    except OSError as error:
        raise CheckFailed(f"dial tcp {host}:{check.tcp.port}: {error.strerror or error}") from None
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass


async def _exec(spec: ExecCheck, timeout: float, service_env: dict[str, str]) -> None:
    argv, defaults = parse_command(spec.command)
    argv = argv + defaults
    env = {**os.environ, **service_env, **spec.environment}
    try:
        account = accounts.resolve(spec.user_id, spec.user, spec.group_id, spec.group)
    except AccountError as error:
        raise CheckFailed(f"cannot start {shlex.join(argv)}: {error.message}") from None
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
            cwd=spec.working_dir or None,
            start_new_session=True,
            preexec_fn=preexec(account),
        )
    except (OSError, ValueError, KeyError) as error:
        raise CheckFailed(f"cannot start {shlex.join(argv)}: {error}") from None
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        _kill_group(process.pid)
        await process.wait()
        raise
    if process.returncode != 0:
        lines = output.decode(errors="replace").splitlines()[-DETAIL_LINES:]
        raise CheckFailed(_with_details(f"exit status {process.returncode}", lines))


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
