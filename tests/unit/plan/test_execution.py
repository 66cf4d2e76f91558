"""Exec without gRPC: request preparation (services/plan/execution.py
`prepare`) and a session driven through its channels as the websockets
would drive it, with real processes."""

from __future__ import annotations

import asyncio
import os

import pytest

from services.common.errors import Failure
from services.plan.childsetup import daemon_environment
from services.plan.execution import (
    BINARY,
    END,
    TEXT,
    ExecFailed,
    ExecRequestError,
    ExecSession,
    prepare,
)
from services.plan.plan.model import Plan, Service

BASE = {"PATH": os.environ["PATH"], "HOME": "/root", "USER": "root", "KEEP": "daemon"}


def test_prepare_resolves_executable_environment_and_directory(tmp_path):
    spec = prepare(["true"], environment={"EXTRA": "1"}, working_dir=str(tmp_path), timeout="1.500s",
                   base_environment=BASE)
    assert spec.executable.endswith("/true") and spec.argv == ["true"]
    assert spec.environment["EXTRA"] == "1" and spec.environment["KEEP"] == "daemon"
    assert spec.environment["LANG"] == "C.UTF-8"
    assert spec.working_dir == str(tmp_path) and spec.timeout == 1.5


def test_prepare_defaults_path_and_home_for_another_user():
    spec = prepare(["true"], user_id=65534, group_id=65534, working_dir="/",
                   base_environment={"HOME": "/root", "USER": "root"})
    assert spec.environment["PATH"].startswith("/usr/local/sbin")
    assert spec.environment["USER"] != "root" and spec.environment["HOME"] != "/root"
    assert spec.account.uid == 65534


def test_home_and_user_stay_for_the_daemon_s_own_user():
    spec = prepare(["true"], user_id=os.getuid(), working_dir="/", base_environment={**BASE, "HOME": "/kept"})
    assert spec.environment["HOME"] == "/kept"


def test_children_do_not_inherit_what_the_launcher_set_for_itself():
    launched = {"PATH": "/bin", "GRPC_ENABLE_FORK_SUPPORT": "false", "SHOAL_LAUNCHER_ENV": "GRPC_ENABLE_FORK_SUPPORT",
                "SHOAL_HOME": "/srv/shoal"}
    assert daemon_environment(launched) == {"PATH": "/bin", "SHOAL_HOME": "/srv/shoal"}
    chosen = {"PATH": "/bin", "GRPC_ENABLE_FORK_SUPPORT": "false"}  # the user set it: it stays
    assert daemon_environment(chosen) == chosen


def test_service_context_is_under_the_request():
    plan = Plan(services={"web": Service("web", command="x", environment={"A": "service", "B": "service"},
                                         working_dir="/")})
    spec = prepare(["true"], service_context="web", environment={"B": "request"}, plan=plan,
                   base_environment=BASE)
    assert (spec.environment["A"], spec.environment["B"], spec.working_dir) == ("service", "request", "/")


@pytest.mark.parametrize("kwargs, message, failure", [
    ({"command": []}, "must specify command", Failure.INVALID),
    ({"command": ["true"], "timeout": "soon"}, "invalid timeout", Failure.INVALID),
    ({"command": ["no-such-executable-x"]}, 'cannot find executable "no-such-executable-x"', Failure.INVALID),
    ({"command": ["true"], "service_context": "nope"}, 'context service "nope" not found', Failure.INVALID),
    ({"command": ["true"], "group": "root"}, "must specify user, not just group", Failure.INVALID),
    ({"command": ["true"], "user": "no-such-user-x"}, "user: unknown user no-such-user-x", Failure.INVALID),
    ({"command": ["true"], "group": "no-such-group-x"}, "group: unknown group no-such-group-x", Failure.INVALID),
    ({"command": ["true"], "user_id": -1}, "user: unknown userid -1", Failure.INVALID),
    ({"command": ["true"], "interactive": True}, "cannot use interactive mode without a terminal", Failure.INTERNAL),
    ({"command": ["true"], "working_dir": "/no/such/dir"}, 'working directory "/no/such/dir" does not exist', Failure.INTERNAL),
    ({"command": ["true"], "working_dir": "/etc/hostname"}, 'working directory "/etc/hostname" not a directory', Failure.INTERNAL),
    ({"command": ["true"], "environment": {"A": "x\x00y"}}, 'environment variable "A" holds a NUL character',
     Failure.INVALID),
    ({"command": ["true"], "environment": {"A\x00": "x"}}, "name holds a NUL character", Failure.INVALID),
    ({"command": ["echo", "ok", "x\x00"]}, "command argument 2 holds a NUL character", Failure.INVALID),
    ({"command": ["true"], "working_dir": "/tmp\x00"}, "working directory holds a NUL character", Failure.INVALID),
])
def test_prepare_refusals(kwargs, message, failure):
    command = kwargs.pop("command")
    with pytest.raises(ExecRequestError) as caught:
        prepare(command, plan=Plan(), base_environment=BASE, **kwargs)
    assert message in caught.value.message and caught.value.failure is failure


async def collect(channel) -> bytes:
    out = b""
    while (frame := await channel.outbound.get()) is not None:
        kind, payload = frame
        if kind == BINARY:
            out += payload
        else:
            assert payload == END
    return out


async def test_a_session_runs_once_its_streams_connect():
    session = ExecSession("1", prepare(["/bin/sh", "-c", "cat; echo err >&2; exit 5"], split_stderr=True,
                                       base_environment=BASE))
    with pytest.raises(ExecRequestError, match='^cannot find other websocket for task "1"$'):
        session.attach("other")
    stdio, stderr = session.attach("stdio"), session.attach("stderr")
    with pytest.raises(ExecRequestError, match="^stdio websocket already connected$"):
        session.attach("stdio")
    run = asyncio.ensure_future(session.run())
    await stdio.inbound.put((BINARY, b"hello "))
    await stdio.inbound.put((BINARY, b"world"))
    await stdio.inbound.put((TEXT, END))
    out, err, code = await asyncio.gather(collect(stdio), collect(stderr), run)
    assert (out, err, code) == (b"hello world", b"err\n", 5)


async def test_a_session_without_its_streams_gives_up(monkeypatch):
    monkeypatch.setattr("services.plan.execution.CONNECT_TIMEOUT", 0.1)
    session = ExecSession("2", prepare(["true"], base_environment=BASE))
    with pytest.raises(ExecFailed) as caught:
        await session.run()
    assert str(caught.value) == "exec 2: timeout waiting for websocket connections: context deadline exceeded"
    assert caught.value.exit_code is None  # it never ran: the task has no exit code


async def test_timeout_kills_and_signals_reach_the_command():
    session = ExecSession("3", prepare(["sleep", "5"], timeout="100ms", base_environment=BASE))
    stdio = session.attach("stdio")
    with pytest.raises(ExecFailed, match="timed out after 100ms: context deadline exceeded"):
        await asyncio.gather(session.run(), collect(stdio))
    session = ExecSession("4", prepare(["sleep", "5"], base_environment=BASE))
    control, stdio = session.attach("control"), session.attach("stdio")
    run = asyncio.ensure_future(session.run())
    await asyncio.sleep(0.2)
    await control.inbound.put((TEXT, '{"command":"signal","signal":{"name":"SIGTERM"}}'))
    _, code = await asyncio.gather(collect(stdio), run)
    assert code == 128 + 15


async def test_a_terminal_session_runs_on_a_pty():
    session = ExecSession("5", prepare(["/bin/sh", "-c", "test -t 0 && test -t 1 && stty size"], terminal=True,
                                       interactive=True, width=91, height=17, base_environment=BASE))
    stdio = session.attach("stdio")
    run = asyncio.ensure_future(session.run())
    out, code = await asyncio.gather(collect(stdio), run)
    assert code == 0 and out.strip() == b"17 91"
