"""Supervision with real processes through the real gateway: restarts and
backoff, on-failure actions, check failures, kill-delay, ordering, and what
the process is started with (pebble-api.md §3.1, §4)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from ops import pebble

from tests.support import wait_for


@pytest.fixture(scope="module")
def client(suite) -> pebble.Client:
    return pebble.Client(socket_path=suite.socket)


def status_of(client, name: str) -> str:
    current = client.get_services([name])[0].current
    return getattr(current, "value", current)  # ops has no enum member for "backoff"


def start_count(suite, name: str) -> int:
    metrics = suite.unix("GET", "/v1/metrics").body.decode()
    for line in metrics.splitlines():
        if line.startswith(f'pebble_service_start_count{{service="{name}"}}'):
            return int(line.split()[-1])
    return 0


def test_a_failing_service_backs_off_then_is_active_again(client, suite, tmp_path):
    marker = tmp_path / "failed-once"
    client.add_layer("sv-backoff", {"services": {"sv-backoff": {
        "override": "replace",
        # Lives past the okay delay, fails once, then keeps running.
        "command": f"/bin/sh -c 'sleep 1.2; if [ -f {marker} ]; then sleep 60; else touch {marker}; exit 1; fi'",
        "backoff-delay": "300ms",
    }}})
    client.start_services(["sv-backoff"])
    seen = set()

    def settled():
        seen.add(status_of(client, "sv-backoff"))
        return "backoff" in seen and status_of(client, "sv-backoff") == "active" and start_count(suite, "sv-backoff") >= 2

    wait_for(settled, timeout=15)
    assert "backoff" in seen
    client.stop_services(["sv-backoff"])


def test_ignore_leaves_an_exited_service_down(client, suite):
    """`ignore` never restarts. A clean exit is `inactive`; a failed one is
    `error`, as Pebble reports it (spec §4.1: exited → error)."""
    client.add_layer("sv-ignore", {"services": {
        "sv-ignore-ok": {"override": "replace", "command": "/bin/sh -c 'sleep 1.2; exit 0'", "on-success": "ignore"},
        "sv-ignore-bad": {"override": "replace", "command": "/bin/sh -c 'sleep 1.2; exit 1'", "on-failure": "ignore"},
    }})
    client.start_services(["sv-ignore-ok", "sv-ignore-bad"])
    wait_for(lambda: status_of(client, "sv-ignore-ok") == "inactive", timeout=10)
    wait_for(lambda: status_of(client, "sv-ignore-bad") == "error", timeout=10)
    time.sleep(0.5)
    assert (status_of(client, "sv-ignore-ok"), status_of(client, "sv-ignore-bad")) == ("inactive", "error")
    assert start_count(suite, "sv-ignore-ok") == start_count(suite, "sv-ignore-bad") == 1  # no restart


def test_a_failing_check_past_its_threshold_restarts_the_service(client, suite, tmp_path):
    healthy = tmp_path / "healthy"
    client.add_layer("sv-check", {
        "services": {"sv-checked": {"override": "replace", "command": "sleep 60",
                                    "on-check-failure": {"sv-alive": "restart"}}},
        "checks": {"sv-alive": {"override": "replace", "level": "alive", "period": "100ms", "threshold": 3,
                                "exec": {"command": f"test -f {healthy}"}}},
    })
    healthy.touch()
    client.start_services(["sv-checked"])
    before = start_count(suite, "sv-checked")
    healthy.unlink()
    wait_for(lambda: start_count(suite, "sv-checked") > before, timeout=10)
    check = client.get_checks(names=["sv-alive"])[0]
    assert check.failures >= 3 or check.status == pebble.CheckStatus.DOWN
    healthy.touch()
    client.stop_services(["sv-checked"])
    client.stop_checks(["sv-alive"])


def test_kill_delay_escalates_to_sigkill(client, tmp_path):
    pidfile = tmp_path / "pid"
    client.add_layer("sv-stubborn", {"services": {"sv-stubborn": {
        "override": "replace",
        "command": f"/bin/sh -c 'trap \"\" TERM; echo $$ > {pidfile}; while :; do sleep 0.05; done'",
        "kill-delay": "500ms",
    }}})
    client.start_services(["sv-stubborn"])
    pid = int(wait_for(lambda: pidfile.exists() and pidfile.read_text().strip()))
    started = time.monotonic()
    client.stop_services(["sv-stubborn"])
    took = time.monotonic() - started
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
    assert took >= 0.5  # it waited the kill-delay before SIGKILL
    assert status_of(client, "sv-stubborn") == "inactive"


def test_requires_and_after_order_the_starts(client, tmp_path):
    """As Pebble: `requires` pulls db in and puts it in web's lane, ordered by
    after/before, and a task waits for the one before it in its lane (web
    starts once db has passed its okay delay). Lanes run side by side, so
    cache, alone in its lane, starts beside db: `after` orders within a lane
    only (Pebble starts cache and db together too)."""
    order = tmp_path / "order"
    # Each writes its name and its own start time (/proc/self/stat field 22, in clock
    # ticks): when it was spawned, however late the machine lets it run its echo.
    command = "/bin/sh -c 'set -- $(cat /proc/$$/stat); echo NAME ${22} >> " + str(order) + "; sleep 60'"
    client.add_layer("sv-order", {"services": {
        "sv-web": {"override": "replace", "command": command.replace("NAME", "web"),
                   "requires": ["sv-db"], "after": ["sv-db", "sv-cache"]},
        "sv-db": {"override": "replace", "command": command.replace("NAME", "db")},
        "sv-cache": {"override": "replace", "command": command.replace("NAME", "cache"), "after": ["sv-db"]},
    }})
    change = client.get_change(client.start_services(["sv-web", "sv-cache"]))
    assert [t.summary for t in change.tasks] == [  # lane [db, web], then lane [cache]
        'Start service "sv-db"', 'Start service "sv-web"', 'Start service "sv-cache"']
    lines = wait_for(lambda: order.exists() and len(found := order.read_text().splitlines()) == 3 and found)
    spawned = {name: int(ticks) for name, ticks in (line.split() for line in lines)}
    assert sorted(spawned) == ["cache", "db", "web"]
    assert spawned["web"] > spawned["db"]  # web waited for db's start (its okay delay) in their lane
    client.stop_services(["sv-web", "sv-cache", "sv-db"])


def test_environment_and_working_dir_reach_the_process(client, suite, tmp_path):
    client.add_layer("sv-env", {"services": {"sv-env": {
        "override": "replace", "command": "/bin/sh -c 'echo \"$GREETING from $(pwd)\"; sleep 60'",
        "environment": {"GREETING": "hello"}, "working-dir": str(tmp_path)}}})
    client.start_services(["sv-env"])

    def line():
        body = suite.unix("GET", "/v1/logs?services=sv-env&n=1").body.decode().strip()
        return json.loads(body)["message"] if body else ""

    assert wait_for(line) == f"hello from {tmp_path}"
    client.stop_services(["sv-env"])


def test_a_service_never_sees_what_shoal_run_handed_its_children(client, suite):
    """The cluster secret and the readiness pipe are for Shoal's own processes."""
    client.add_layer("sv-secret", {"services": {"sv-secret": {
        "override": "replace", "command": "/bin/sh -c 'echo \"[${SHOAL_SECRET-}|${SHOAL_READY_FD-}]\"; sleep 60'"}}})
    client.start_services(["sv-secret"])

    def line():
        body = suite.unix("GET", "/v1/logs?services=sv-secret&n=1").body.decode().strip()
        return json.loads(body)["message"] if body else ""

    assert wait_for(line) == "[|]"
    client.stop_services(["sv-secret"])


def _processes_with(variable: str) -> list[int]:
    """Live processes whose environment holds `variable` (the test's marker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if f"{variable}=".encode() not in (entry / "environ").read_bytes():
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            found.append(int(entry.name))
    return found


def test_stopping_the_suite_leaves_no_service_process_behind(fresh_suite):
    """Issue 15: a service that ignores SIGTERM, with a kill-delay of 1000h and a
    child of its own, is killed when the suite stops, within the plan service's
    grace (so `shoal run` never has to SIGKILL the plan service, and nothing is
    orphaned)."""
    marker = f"SHOAL_TEST_SHUTDOWN_{os.getpid()}"
    client = pebble.Client(socket_path=fresh_suite.socket)
    client.add_layer("sv-deaf", {"services": {"sv-deaf": {
        "override": "replace", "kill-delay": "1000h", "environment": {marker: "1"},
        "command": """/bin/sh -c 'trap "" TERM; sleep 600 & echo ready; wait; sleep 600'""",
    }}})
    client.start_services(["sv-deaf"])
    wait_for(lambda: len(_processes_with(marker)) == 2)  # the shell and its sleep
    began = time.monotonic()
    fresh_suite.stop()
    took = time.monotonic() - began
    wait_for(lambda: not _processes_with(marker), timeout=5)
    log = (fresh_suite.home.parent / f"{fresh_suite.home.name}.log").read_text()
    assert "did not stop" not in log, log[-2000:]
    assert took < 10  # SHOAL_GRACE is 3 s in the tests
