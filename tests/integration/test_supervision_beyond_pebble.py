"""Shoal's opt-in supervision with real processes through the real gateway
(README "Supervision beyond Pebble"): one-shot services, health-gated start
order, restart limits and start retries, as /v1/services, /v1/changes,
/v1/notices and the plan service's metrics show them."""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request

import pytest
import yaml
from ops import pebble

from tests.cli_support import ok
from tests.support import Suite, free_port, wait_for


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    home = tmp_path_factory.mktemp("beyond") / "home"
    home.mkdir()
    port = free_port()
    s = Suite(home=home, http_port=free_port(), https_port=free_port(),
              env={"SHOAL_PLAN_METRICS_ADDR": f"127.0.0.1:{port}"}).start(timeout=60)
    s.plan_metrics_port = port
    yield s
    s.stop()


@pytest.fixture(scope="module")
def client(suite) -> pebble.Client:
    return pebble.Client(socket_path=suite.socket)


def add_layer(client, label: str, layer: dict, combine: bool = False) -> None:
    """As YAML text: ops' Layer objects keep only the fields Pebble knows."""
    client.add_layer(label, yaml.safe_dump(layer), combine=combine)


def current(client, name: str) -> str:
    value = client.get_services([name])[0].current
    return getattr(value, "value", value)


def plan_metric(suite, line_start: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{suite.plan_metrics_port}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    for line in text.splitlines():
        if line.startswith(line_start):
            return float(line.split()[-1])
    return 0.0


def task_log(change: pebble.Change, summary: str) -> list[str]:
    task = next(t for t in change.tasks if t.summary == summary)
    return [line.split(" ", 2)[-1] for line in task.log]  # without the time and level


def wait_change(client, change_id: str, timeout: float = 30) -> pebble.Change:
    return client.wait_change(change_id, timeout=timeout)


def test_a_one_shot_service_is_done_and_its_dependents_start_after_it(client, suite, tmp_path):
    migrated = tmp_path / "migrated"
    add_layer(client, "os", {"services": {
        "os-migrate": {"override": "replace", "kind": "one-shot",
                       "command": f"/bin/sh -c 'sleep 1.5; touch {migrated}'"},
        # fails (and is left in error) if it starts before the migration is done
        "os-app": {"override": "replace", "command": f"/bin/sh -c 'test -f {migrated} || exit 9; sleep 60'",
                   "on-failure": "ignore", "requires": ["os-migrate"], "after": ["os-migrate"]},
    }})
    change = wait_change(client, client.start_services(["os-app"], timeout=0))  # (timeout=0: the change id)
    assert change.status == "Done", change.err
    assert current(client, "os-migrate") == "done"
    assert current(client, "os-app") == "active"
    logs = task_log(change, 'Start service "os-app"')
    assert logs[0] == 'Waiting up to 30s for service "os-migrate": to exit with code 0 (one-shot).'
    assert logs[1].startswith('Service "os-migrate" is ready (it exited with code 0) after ')
    time.sleep(1.2)
    assert current(client, "os-migrate") == "done"  # not restarted
    assert plan_metric(suite, 'shoal_supervisor_one_shot_completed_total{service="os-migrate"}') == 1
    assert plan_metric(suite, 'shoal_supervisor_dependency_waits_total{dependency="os-migrate",'
                              'outcome="ready",service="os-app"}') == 1
    # /v1/services shows it as done, and a stop says it had exited
    body = json.loads(suite.unix("GET", "/v1/services?names=os-migrate").body)
    assert body["result"][0]["current"] == "done"
    client.stop_services(["os-app", "os-migrate"])
    assert current(client, "os-migrate") == "inactive"


def test_a_failed_one_shot_fails_its_dependents_start_naming_it(client):
    add_layer(client, "osf", {"services": {
        "osf-migrate": {"override": "replace", "kind": "one-shot", "on-failure": "ignore",
                        "command": "/bin/sh -c 'sleep 1.2; exit 3'"},
        "osf-app": {"override": "replace", "command": "sleep 60", "requires": ["osf-migrate"],
                    "after": ["osf-migrate"]},
    }})
    change = wait_change(client, client.start_services(["osf-app"], timeout=0))
    assert change.status == "Error"
    assert 'cannot start service: dependency "osf-migrate" failed: it exited with code 3' in change.err
    assert current(client, "osf-migrate") == "error"
    assert current(client, "osf-app") == "inactive"


def test_dependents_wait_for_ready_checks_to_pass(client, tmp_path):
    ready = tmp_path / "ready"
    add_layer(client, "rc", {
        "services": {
            "rc-db": {"override": "replace", "command": f"/bin/sh -c 'sleep 2; touch {ready}; sleep 60'",
                      "ready-checks": ["rc-db-up"]},
            "rc-app": {"override": "replace", "command": f"/bin/sh -c 'test -f {ready} || exit 9; sleep 60'",
                       "on-failure": "ignore", "requires": ["rc-db"], "after": ["rc-db"]},
        },
        "checks": {"rc-db-up": {"override": "replace", "level": "ready", "period": "200ms",
                                "threshold": 50, "exec": {"command": f"test -f {ready}"}}},
    })
    change = wait_change(client, client.start_services(["rc-app"], timeout=0))
    assert change.status == "Done", change.err
    assert (current(client, "rc-db"), current(client, "rc-app")) == ("active", "active")
    logs = task_log(change, 'Start service "rc-app"')
    assert logs[0] == 'Waiting up to 30s for service "rc-db": its ready checks "rc-db-up" to pass.'
    assert logs[1].startswith('Service "rc-db" is ready (its ready checks passed) after ')
    client.stop_services(["rc-app", "rc-db"])


def test_a_dependency_whose_checks_do_not_pass_in_time_fails_the_start_naming_it_and_why(client, tmp_path):
    add_layer(client, "rt", {
        "services": {
            "rt-db": {"override": "replace", "command": "sleep 60", "ready-checks": ["rt-db-up"],
                      "ready-timeout": "1500ms"},
            "rt-app": {"override": "replace", "command": "sleep 60", "requires": ["rt-db"], "after": ["rt-db"]},
        },
        "checks": {"rt-db-up": {"override": "replace", "level": "ready", "period": "100ms", "threshold": 50,
                                "exec": {"command": f"test -f {tmp_path / 'never'}"}}},
    })
    began = time.monotonic()
    change = wait_change(client, client.start_services(["rt-app"], timeout=0))
    assert change.status == "Error"
    assert 'dependency "rt-db" not ready after 1.5s: check "rt-db-up" is failing: exit status 1' in change.err
    assert time.monotonic() - began < 10
    assert current(client, "rt-app") == "inactive"
    client.stop_services(["rt-db"])


def test_past_its_restart_limit_a_service_is_error_and_a_notice_says_so(client, suite):
    add_layer(client, "rl", {"services": {"rl-flaky": {
        "override": "replace", "command": "/bin/sh -c 'sleep 1.1; exit 1'", "backoff-delay": "50ms",
        "restart-limit": 2, "restart-window": "1m",
    }}})
    client.start_services(["rl-flaky"])
    wait_for(lambda: current(client, "rl-flaky") == "error", timeout=20)
    time.sleep(1.5)
    assert current(client, "rl-flaky") == "error"  # stays stopped
    assert plan_metric(suite, 'shoal_supervisor_restarts_total{service="rl-flaky"}') == 2
    assert plan_metric(suite, 'shoal_supervisor_restart_limit_reached_total{service="rl-flaky"}') == 1
    key = "shoal.dev/restart-limit/rl-flaky"
    notices = client.get_notices(types=[pebble.NoticeType.CUSTOM], keys=[key])
    assert len(notices) == 1
    assert notices[0].last_data == {"service": "rl-flaky", "restart-limit": "2", "restart-window": "1m0s"}
    # Pebble's own types filter as in Pebble: a warning filter does not see it
    query = urllib.parse.urlencode({"types": "warning", "keys": key})
    assert json.loads(suite.unix("GET", f"/v1/notices?{query}").body)["result"] == []
    assert key in ok(suite, "notices")
    # a start asked for gets its whole limit again
    add_layer(client, "rl", {"services": {"rl-flaky": {"override": "merge", "command": "sleep 60"}}},
                     combine=True)
    client.start_services(["rl-flaky"])
    assert current(client, "rl-flaky") == "active"
    client.stop_services(["rl-flaky"])


def test_start_retries_retry_a_service_that_exits_during_its_first_start(client, suite, tmp_path):
    upstream = tmp_path / "upstream"
    add_layer(client, "sr", {"services": {"sr-svc": {
        "override": "replace", "backoff-delay": "300ms", "start-retries": 5,
        # exits at once until its "dependency" is up (#240)
        "command": f"/bin/sh -c 'test -f {upstream} || exit 7; sleep 60'",
    }}})
    change_id = client.start_services(["sr-svc"], timeout=0)
    time.sleep(1.0)
    upstream.touch()
    change = wait_change(client, change_id)
    assert change.status == "Done", change.err
    assert current(client, "sr-svc") == "active"
    logs = task_log(change, 'Start service "sr-svc"')
    assert logs[0].startswith("Service exited quickly with code 7; start retry 1 of 5 in ")
    assert plan_metric(suite, 'shoal_supervisor_start_retries_total{service="sr-svc"}') >= 1
    client.stop_services(["sr-svc"])


def test_the_cli_shows_a_done_one_shot(client, suite):
    add_layer(client, "cli", {"services": {"cli-once": {"override": "replace", "kind": "one-shot",
                                                       "command": "/bin/true"}}})
    client.start_services(["cli-once"])
    wait_for(lambda: current(client, "cli-once") == "done", timeout=10)
    table = ok(suite, "services", "cli-once").splitlines()
    assert table[1].split()[:3] == ["cli-once", "disabled", "done"]


def test_replan_leaves_a_done_one_shot_alone_and_a_restart_runs_it_again(client, suite):
    add_layer(client, "rp", {"services": {"rp-once": {"override": "replace", "kind": "one-shot",
                                                     "startup": "enabled", "command": "/bin/true"}}})
    client.start_services(["rp-once"])
    wait_for(lambda: current(client, "rp-once") == "done", timeout=10)
    change = wait_change(client, client.replan_services(timeout=0))
    assert change.status == "Done", change.err
    assert 'Service "rp-once" is one-shot and already done.' in task_log(change, 'Start service "rp-once"')
    assert plan_metric(suite, 'shoal_supervisor_one_shot_completed_total{service="rp-once"}') == 1
    client.restart_services(["rp-once"])
    wait_for(lambda: plan_metric(suite, 'shoal_supervisor_one_shot_completed_total{service="rp-once"}') == 2,
             timeout=10)
    assert current(client, "rp-once") == "done"
    client.stop_services(["rp-once"])  # (startup enabled: leave nothing for later modules' replans)
