"""Rolling deployments and fleet status end to end: the suite, four real
plan agents registered as beacons, an application whose ready check runs on
each agent. A new version whose check fails on one instance stops its
rollout there: the instances already updated go back to the previous
deployment, the rest never see the new one, and the history says so.

The tests in this module build on each other, in order.
"""

from __future__ import annotations

import json
import shlex
import signal
import sys
import time

import pytest

from tests.agents import start_agents
from tests.cli_support import as_json, ok

APP = "rollweb"
STREAM_FIELDS = {"Status", "Method", "Endpoint", "Message", "Code", "Instance", "Item", "Total"}
# The ready check of the new version fails where the agent's home holds a file "poison".
POISONED_CHECK = ("import os, sys; "
                  "sys.exit(os.path.exists(os.path.join(os.environ['SHOAL_HOME'], 'poison')))")


def command(color: str, check: str = "import sys; sys.exit(0)", app: str = APP) -> dict:
    code = "import os, time; print('COLOR=' + os.environ['COLOR'], flush=True); time.sleep(1000)"
    return {
        "command": f"{shlex.quote(sys.executable)} -c {shlex.quote(code)}",
        "environment": {"COLOR": color},
        "checks": {f"{app}.ready": {
            "level": "ready", "period": "0.5s", "threshold": 3,
            "exec": {"command": f"{shlex.quote(sys.executable)} -c {shlex.quote(check)}"},
        }},
    }


@pytest.fixture(scope="module")
def agents(tmp_path_factory, suite):
    started = start_agents(tmp_path_factory.mktemp("agents"), 4)
    for n, agent in enumerate(started):
        answer = suite.unix("POST", "/api/v0.2/beacons/create",
                            {"Address": agent.address, "Token": agent.token, "Alias": f"roll{n}"})
        assert answer.status == 200, answer.body
    yield started
    for agent in started:
        agent.stop()


def lines(answer) -> list[dict]:
    assert answer.status == 200, answer.body
    out = [json.loads(line) for line in answer.body.splitlines()]
    assert all(set(line) == STREAM_FIELDS for line in out)
    assert out[-1]["Status"] == "Finalized"
    return out


def steps(out: list[dict]) -> list[str]:
    return [line["Message"] for line in out if line["Status"] == "Starting"]


def per_instance(out: list[dict], step: str) -> dict[str, dict]:
    start = next(i for i, line in enumerate(out) if line["Status"] == "Starting" and line["Message"] == step)
    end = next(i for i in range(start, len(out)) if out[i]["Status"] == "Complete")
    return {line["Instance"]: line for line in out[start + 1 : end]}


def logs(suite, agent) -> list[str]:
    answer = suite.unix("GET", f"/api/v0.2/d/{agent.address}/v1/logs?services={APP}&n=-1")
    assert answer.status == 200, answer.body
    return [json.loads(line)["message"] for line in answer.body.splitlines()]


def wait_for_last_log(suite, agent, text: str, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while (last := (logs(suite, agent) or [""])[-1]) != text and time.monotonic() < deadline:
        time.sleep(0.05)
    return last


def history(suite) -> list[dict]:
    return suite.unix("GET", f"/api/v0.2/applications/list/{APP}").json()


def status(suite) -> dict[str, dict]:
    answer = suite.unix("GET", f"/api/v0.2/applications/status/{APP}")
    assert answer.status == 200, answer.body
    return {line["Instance"]: line for line in answer.json()}


def test_the_first_version_runs_everywhere(suite, agents):
    out = lines(suite.unix("POST", "/api/v0.2/applications/create?start=true",
                           {"Name": APP, "Command": command("blue"), "Instances": [a.address for a in agents]}))
    assert steps(out) == ["Pushing deployment", "Starting application"]
    for agent in agents:
        assert wait_for_last_log(suite, agent, "COLOR=blue") == "COLOR=blue"
    [first] = history(suite)
    assert first["Outcome"] == ""  # the `all` strategy


def test_a_rolling_update_goes_batch_by_batch_waiting_for_the_checks(suite, agents):
    out = lines(suite.unix("PUT", f"/api/v0.2/applications/update/{APP}?strategy=rolling&batch=2&deadline=20s",
                           {"Command": command("green")}))
    new = history(suite)[0]
    assert [line for line in out if line["Status"] == "Error"] == []
    assert steps(out) == [
        f"Batch 1/2: pushing deployment {new['Id']}", "Batch 1/2: restarting application",
        "Batch 1/2: waiting for checks",
        f"Batch 2/2: pushing deployment {new['Id']}", "Batch 2/2: restarting application",
        "Batch 2/2: waiting for checks",
    ]
    assert set(per_instance(out, "Batch 1/2: waiting for checks")) == {agents[0].address, agents[1].address}
    assert set(per_instance(out, "Batch 2/2: waiting for checks")) == {agents[2].address, agents[3].address}
    assert all(line["Status"] != "Error" for line in out)
    assert all(r["Message"] == "checks up" for r in per_instance(out, "Batch 2/2: waiting for checks").values())
    for agent in agents:
        assert wait_for_last_log(suite, agent, "COLOR=green") == "COLOR=green"
    [app] = [a for a in suite.unix("GET", "/api/v0.2/applications/list").json() if a["Name"] == APP]
    assert app["CurrentDeployment"] == new["Id"] and new["Outcome"] == "rolled out"


def test_a_version_failing_its_check_on_one_instance_is_rolled_back_and_the_rest_never_see_it(suite, agents):
    good = history(suite)[0]
    (agents[2].home / "poison").write_text("")
    out = lines(suite.unix("PUT", f"/api/v0.2/applications/update/{APP}?strategy=rolling&deadline=20s",
                           {"Command": command("red", POISONED_CHECK)}))
    bad = history(suite)[0]
    assert bad["Id"] > good["Id"]
    assert steps(out) == [
        *[f"Batch {n}/4: {what}" for n in (1, 2, 3)
          for what in (f"pushing deployment {bad['Id']}", "restarting application", "waiting for checks")],
        f"Rolling back: pushing deployment {good['Id']}", "Rolling back: restarting application",
    ]
    failed = per_instance(out, "Batch 3/4: waiting for checks")[agents[2].address]
    assert failed["Status"] == "Error" and failed["Message"].startswith(f"check {APP}.ready is down")
    assert set(per_instance(out, "Rolling back: restarting application")) == {a.address for a in agents[:3]}

    # the updated instances are back on the previous deployment; the last never saw the new one
    for agent in agents[:3]:
        assert wait_for_last_log(suite, agent, "COLOR=green") == "COLOR=green"
        assert "COLOR=red" in logs(suite, agent)
    assert "COLOR=red" not in logs(suite, agents[3])
    [app] = [a for a in suite.unix("GET", "/api/v0.2/applications/list").json() if a["Name"] == APP]
    assert app["CurrentDeployment"] == good["Id"]
    assert bad["Outcome"].startswith(f"rolled back: {agents[2].address}: check {APP}.ready is down")
    fleet = status(suite)
    assert list(fleet) == [a.address for a in agents]
    for line in fleet.values():
        assert line["State"] == "ok" and line["Current"] == "active" and line["Deployment"] == good["Id"]
        assert [(c["Name"], c["Level"]) for c in line["Checks"]] == [(f"{APP}.ready", "ready")]


def test_a_rolling_revert_goes_back_batch_by_batch(suite, agents):
    first = history(suite)[-1]
    out = lines(suite.unix("PUT", f"/api/v0.2/applications/revert/{APP}?target={first['Id']}"
                                  "&strategy=rolling&maxUnavailable=3&deadline=20s"))
    assert [s for s in steps(out) if s.endswith("waiting for checks")] == [
        "Batch 1/2: waiting for checks", "Batch 2/2: waiting for checks"]
    assert all(line["Status"] != "Error" for line in out)
    for agent in agents:
        assert wait_for_last_log(suite, agent, "COLOR=blue") == "COLOR=blue"
    assert history(suite)[-1]["Outcome"] == "rolled out"
    assert {line["Deployment"] for line in status(suite).values()} == {first["Id"]}


def test_a_rolling_create_that_fails_stops_where_it_started_and_leaves_nothing(suite, agents):
    name = "rollbad"
    out = lines(suite.unix("POST", "/api/v0.2/applications/create?start=true&strategy=rolling&deadline=20s",
                           {"Name": name, "Command": command("red", POISONED_CHECK, name),
                            "Instances": [agents[0].address, agents[2].address, agents[3].address]}))
    assert steps(out)[-2:] == ["Rolling back: stopping application", "Rolling back: stopping checks"]
    assert set(per_instance(out, "Rolling back: stopping application")) == {agents[0].address, agents[2].address}
    # its failing check does not go on making the instance unhealthy
    answer = suite.unix("GET", f"/api/v0.2/d/{agents[2].address}/v1/checks?names={name}.ready")
    assert [(c["status"], c["startup"]) for c in answer.json()["result"]] == [("inactive", "disabled")]
    assert suite.unix("GET", f"/api/v0.2/d/{agents[2].address}/v1/health?level=ready").status == 200
    assert name not in [a["Name"] for a in suite.unix("GET", "/api/v0.2/applications/list").json()]
    for agent in agents[:3:2]:
        answer = suite.unix("GET", f"/api/v0.2/d/{agent.address}/v1/services?names={name}")
        assert [s["current"] for s in answer.json()["result"]] == ["inactive"]
    answer = suite.unix("GET", f"/api/v0.2/d/{agents[3].address}/v1/services?names={name}")
    assert answer.json()["result"] == []  # never reached


def test_the_cli_rolls_out_and_shows_the_fleet_and_the_outcomes(suite, agents, tmp_path):
    layer = tmp_path / "command.yaml"
    layer.write_text(json.dumps(command("cyan")))
    out = ok(suite, "apps", "update", APP, "--command", str(layer), "--restart", "--strategy", "rolling",
             "--max-unavailable", "2", "--deadline", "20s")
    assert "Batch 2/2: waiting for checks" in out
    for agent in agents:
        assert wait_for_last_log(suite, agent, "COLOR=cyan") == "COLOR=cyan"
    new = history(suite)[0]
    assert as_json(suite, "apps", "deployments", APP)[0]["Outcome"] == "rolled out"
    table = ok(suite, "apps", "deployments", APP).splitlines()
    assert table[0].split() == ["ID", "Version", "Creator", "Date", "Outcome"]
    assert any("rolled back:" in row for row in table[1:])
    fleet = as_json(suite, "apps", "status", APP)
    assert [(i["Instance"], i["State"], i["Deployment"]) for i in fleet] == [(a.address, "ok", new["Id"]) for a in agents]
    rows = ok(suite, "apps", "status", APP).splitlines()
    assert rows[0].split() == ["Instance", "State", "Current", "Deployment", "Checks"]
    assert rows[1].split() == [agents[0].address, "ok", "active", str(new["Id"]), f"{APP}.ready=up"]


def test_bad_strategies_are_refused_before_anything_runs(suite, agents):
    before = history(suite)
    for query in ("strategy=sometimes", "strategy=rolling&batch=0", "strategy=rolling&batch=1&maxUnavailable=1",
                  "strategy=rolling&deadline=soon", "batch=2"):
        answer = suite.unix("PUT", f"/api/v0.2/applications/update/{APP}?{query}", {"Command": command("x")})
        assert answer.status == 400, (query, answer.body)
        assert answer.json()["Cause"] == "applications"
    assert history(suite) == before


def test_status_shows_a_dead_instance_as_unreachable_and_a_hung_one_does_not_stall_it(suite, agents):
    agents[3].kill()
    fleet = status(suite)
    assert fleet[agents[3].address] == {
        "Instance": agents[3].address, "State": "unreachable", "Message": f"instance {agents[3].address} unreachable",
        "Current": "", "Startup": "", "Checks": [], "Deployment": -1}
    assert fleet[agents[0].address]["State"] == "ok"

    agents[1].process.send_signal(signal.SIGSTOP)  # answers nothing, holds the connection
    try:
        began = time.monotonic()
        fleet = status(suite)
        took = time.monotonic() - began
    finally:
        agents[1].process.send_signal(signal.SIGCONT)
    assert took < 8
    assert fleet[agents[1].address]["State"] == "unreachable"
    assert "did not answer" in fleet[agents[1].address]["Message"]
    assert fleet[agents[0].address]["State"] == fleet[agents[2].address]["State"] == "ok"
    assert suite.unix("GET", "/api/v0.2/applications/status/nothing").status == 404
