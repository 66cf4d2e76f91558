"""`--instance HOST` against the real suite: a plan agent on loopback,
registered as a beacon with `shoal beacons create`, reached by its address
or alias through the gateway's instance proxy for /v1 commands (services,
start with its progress, exec over the proxied websockets, push, pull, ls);
an application's stream, one line per instance; and live progress on a
terminal."""

from __future__ import annotations

import os
import pty
import re
import select
import sys
import time

import pytest

from tests.agents import Agent
from tests.cli_support import cli_env, ok, shoal
from tests.support import ROOT


@pytest.fixture(scope="module")
def agent(tmp_path_factory, suite):
    started = Agent(tmp_path_factory.mktemp("agent") / "home").start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def beacon(suite, agent):
    assert ok(suite, "beacons", "create", agent.address, "cli-beacon", "--beacon-token", agent.token) \
        == "Beacon cli-beacon added\n"
    instances = ok(suite, "beacons", "instances", "cli-beacon").splitlines()
    assert instances[0].split() == ["Alias", "Name", "Address", "Reachable"]
    alias = instances[1].split()[0]
    assert instances[1].split()[2:] == [agent.address, "yes"]
    return alias


def test_v1_commands_reach_the_instance(suite, agent, beacon, tmp_path):
    layer = tmp_path / "layer.yaml"
    layer.write_text("services:\n  on-agent:\n    override: replace\n    command: sleep 300\n")
    assert ok(suite, "add", "remote", str(layer), "--instance", agent.address).startswith('Layer "remote" added')
    started = shoal(suite, "start", "on-agent", "--instance", beacon)
    assert started.returncode == 0 and 'Start service "on-agent": Done' in started.stderr
    on_agent = ok(suite, "services", "--instance", beacon).splitlines()
    assert on_agent[0] == "Service   Startup   Current  Since"
    assert re.fullmatch(r"on-agent  disabled  active   today at \d\d:\d\d UTC", on_agent[1])
    assert "on-agent" not in ok(suite, "services")  # the gateway's own plan does not have it
    assert ok(suite, "exec", "--instance", beacon, "--", "sh", "-c", "echo $SHOAL_HOME") == f"{agent.home}\n"
    code = shoal(suite, "exec", "--instance", beacon, "--", "sh", "-c", "exit 5")
    assert code.returncode == 5
    local = tmp_path / "blob"
    local.write_bytes(os.urandom(70_000))
    remote = tmp_path / "remote-blob"
    assert ok(suite, "push", "--instance", beacon, str(local), str(remote)) == ""
    assert ok(suite, "ls", "--instance", beacon, str(remote)) == "remote-blob\n"
    back = tmp_path / "back"
    assert ok(suite, "pull", "--instance", beacon, str(remote), str(back)) == ""
    assert back.read_bytes() == local.read_bytes()
    assert ok(suite, "stop", "on-agent", "--instance", beacon) == ""


def test_an_unknown_instance_is_a_one_line_error(suite, beacon):
    unknown = shoal(suite, "services", "--instance", "no-such-instance")
    assert unknown.returncode == 1
    assert unknown.stderr.startswith("error: ") and len(unknown.stderr.splitlines()) == 1


def test_an_application_stream_prints_one_line_per_instance_event(suite, agent, beacon, tmp_path):
    command = tmp_path / "command.yaml"
    command.write_text("command: sleep 301\nsummary: sleeps\n")
    created = shoal(suite, "apps", "create", "cli-app", "--command", str(command), "--instance", agent.address,
                    "--start")
    assert created.returncode == 0, created.stderr
    lines = created.stdout.splitlines()
    assert lines[0].startswith("Starting: Pushing deployment")
    assert f"OK {agent.address}: " in created.stdout  # each instance's result names it
    assert lines[-1] == "Finalized"
    assert "cli-app" in ok(suite, "services", "--instance", beacon)
    stopped = shoal(suite, "apps", "stop", "cli-app")
    assert stopped.returncode == 0 and f"OK {agent.address}" in stopped.stdout


def run_in_terminal(*args: str, env: dict, timeout: float = 30) -> tuple[int, bytes]:
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(ROOT)
        os.execve(sys.executable, [sys.executable, "-m", "shoal.cli.main", *args], env)
    output = b""
    deadline = time.monotonic() + timeout
    while True:
        assert time.monotonic() < deadline, output
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                chunk = b""
            output += chunk
            if not chunk:
                break
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), output


def test_a_terminal_gets_pebbles_spinner_instead_of_plain_lines(suite, tmp_path):
    layer = tmp_path / "layer.yaml"
    layer.write_text("services:\n  cli-spin:\n    override: replace\n    command: sleep 302\n")
    ok(suite, "add", "cli-spin", str(layer))
    code, output = run_in_terminal("start", "cli-spin", env=cli_env(suite))
    assert code == 0
    assert re.search(rb'Start service "cli-spin" +[/\-\\|]', output)  # the summary, then the spinner at the edge
    assert b'"cli-spin": Done' not in output  # no plain progress lines on a terminal
    assert ok(suite, "stop", "cli-spin") == ""
