"""Beacons and applications end to end: the suite, three plan agents on
loopback (each its own SHOAL_HOME and beacon token) registered as beacons,
an application running a real process on them, seen through the /d/ proxy.

The tests in this module build on each other, in order.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import grpc
import pytest

from shoal.v1 import plan_pb2, plan_pb2_grpc
from tests.agents import start_agents
from tests.support import free_port

APP = "pyweb"
NOBODY = 65534
SYSTEM_PYTHON = "/usr/bin/python3"
STREAM_FIELDS = {"Status", "Method", "Endpoint", "Message", "Code", "Instance", "Item", "Total"}


def program(color_variable: str = "COLOR") -> str:
    code = f"import os, time; print('{color_variable}=' + os.environ['{color_variable}'], flush=True); time.sleep(1000)"
    return f"{shlex.quote(sys.executable)} -c {shlex.quote(code)}"


def command(color: str) -> dict:
    return {"command": program(), "environment": {"COLOR": color}, "summary": "prints its colour"}


@pytest.fixture(scope="module")
def agents(tmp_path_factory, suite):
    started = start_agents(tmp_path_factory.mktemp("agents"), 3)
    yield started
    for agent in started:
        agent.stop()


def lines(answer) -> list[dict]:
    assert answer.status == 200, answer.body
    assert answer.headers["Content-Type"].startswith("application/json")
    out = [json.loads(line) for line in answer.body.splitlines()]
    assert all(set(line) == STREAM_FIELDS for line in out)
    assert out[-1] == {"Status": "Finalized", "Method": "", "Endpoint": "", "Message": "", "Code": 0,
                       "Instance": "", "Item": 0, "Total": 0}
    return out


def per_instance(out: list[dict], step: str) -> dict[str, dict]:
    """The per-instance lines of the step described `step`."""
    start = next(i for i, line in enumerate(out) if line["Status"] == "Starting" and line["Message"] == step)
    end = next(i for i in range(start, len(out)) if out[i]["Status"] == "Complete")
    assert out[end]["Item"] == out[end]["Total"] == out[start]["Total"] == end - start - 1
    return {line["Instance"]: line for line in out[start + 1 : end]}


def steps(out: list[dict]) -> list[str]:
    return [line["Message"] for line in out if line["Status"] == "Starting"]


def services(suite, host: str) -> dict[str, str]:
    answer = suite.unix("GET", f"/api/v0.2/d/{host}/v1/services")
    assert answer.status == 200, answer.body
    body = answer.json()
    assert body["type"] == "sync"
    return {s["name"]: s["current"] for s in body["result"]}


def last_log(suite, host: str) -> str:
    answer = suite.unix("GET", f"/api/v0.2/d/{host}/v1/logs?services={APP}&n=1")
    assert answer.status == 200, answer.body
    entries = [json.loads(line) for line in answer.body.splitlines()]
    return entries[-1]["message"] if entries else ""


def wait_for_log(suite, host: str, text: str, timeout: float = 10) -> str:
    """The newest log line of the application on `host` once it is `text`
    (the process prints it as it starts)."""
    deadline = time.monotonic() + timeout
    while (line := last_log(suite, host)) != text and time.monotonic() < deadline:
        time.sleep(0.05)
    return line


@pytest.fixture(scope="module")
def nobody_socket(suite, tmp_path_factory):
    """The suite's socket where uid 65534 can reach it (a hard link in a
    directory it may enter), or skip when this test cannot switch uid."""
    if os.geteuid() != 0 or not os.access(SYSTEM_PYTHON, os.X_OK):
        pytest.skip("needs root and /usr/bin/python3 to call as another uid")
    directory = Path(tempfile.mkdtemp(prefix="shoal-nobody-"))
    directory.chmod(0o755)
    link = directory / "shoal.socket"
    os.link(suite.socket, link)
    yield str(link)
    link.unlink()
    directory.rmdir()


def as_nobody(socket_path: str, method: str, path: str, body=None) -> tuple[int, bytes]:
    """A request over the unix socket from another uid (a read-level caller
    that is no Lighthouse user)."""
    script = (
        "import http.client, json, socket, sys\n"
        "class C(http.client.HTTPConnection):\n"
        "    def connect(self):\n"
        "        self.sock = socket.socket(socket.AF_UNIX); self.sock.connect(sys.argv[1])\n"
        "c = C('localhost'); c.request(sys.argv[2], sys.argv[3], body=sys.argv[4] or None)\n"
        "r = c.getresponse(); sys.stdout.write(json.dumps([r.status, r.read().decode()]))\n"
    )
    done = subprocess.run(
        [SYSTEM_PYTHON, "-c", script, socket_path, method, path, "" if body is None else json.dumps(body)],
        user=NOBODY, capture_output=True, check=True, cwd="/",
    )
    status, text = json.loads(done.stdout)
    return status, text.encode()


def stored_beacon_rows(suite) -> list[bytes]:
    """Every stored beacon row, as bytes, from whichever database the suite uses."""
    url = suite.env.get("SHOAL_DATABASE_URL", "")
    if url:
        schema = suite.env.get("SHOAL_DATABASE_SCHEMA_PREFIX", "shoal_") + "beacon"

        async def read() -> list[bytes]:
            connection = await asyncpg.connect(url)
            try:
                rows = await connection.fetch(f'SELECT * FROM "{schema}".beacons')
            finally:
                await connection.close()
            return [repr(tuple(r.values())).encode() for r in rows]

        return asyncio.run(read())
    with sqlite3.connect(suite.home / "beacon.db") as db:
        return [repr(row).encode() for row in db.execute("SELECT * FROM beacons")]


# -- beacons --------------------------------------------------------------------


def test_a_beacon_with_a_wrong_token_is_refused_and_leaves_nothing(suite, agents):
    """A wrong token and a port where nothing listens get the same answer
    (what answered at an address is never told)."""
    answer = suite.unix("POST", "/api/v0.2/beacons/create",
                        {"Address": agents[0].address, "Token": "wrong", "Alias": "node0"})
    assert answer.status == 500
    assert answer.json() == {"Cause": "beacons",
                             "Message": f"beacons: beacon {agents[0].address} did not answer as a beacon with this token"}
    dead = f"127.0.0.1:{free_port()}"
    answer = suite.unix("POST", "/api/v0.2/beacons/create", {"Address": dead, "Token": "t", "Alias": "dead"})
    assert answer.status == 500
    assert answer.json()["Message"] == f"beacons: beacon {dead} did not answer as a beacon with this token"
    assert suite.unix("GET", "/api/v0.2/beacons/list").json() == []


@pytest.mark.parametrize("body", [
    {"Address": "", "Token": "t", "Alias": "x"},
    {"Address": "127.0.0.1:1", "Token": "t", "Alias": ""},
    {"Address": "unix:/etc/passwd", "Token": "t", "Alias": "x"},
    {"Address": "127.0.0.1:1", "Token": "t", "Alias": "a:b"},
    {"Address": "unix-abstract:7000", "Token": "t", "Alias": "x"},
    {"Address": "169.254.169.254:80", "Token": "t", "Alias": "x"},
])
def test_a_beacon_needs_an_address_and_an_alias(suite, body):
    answer = suite.unix("POST", "/api/v0.2/beacons/create", body)
    assert answer.status == 400
    assert answer.json()["Cause"] == "beacons"
    assert answer.json()["Message"].startswith("beacons: not enough or invalid parameters given")


def test_agents_register_as_beacons(suite, agents):
    for n, agent in enumerate(agents):
        answer = suite.unix("POST", "/api/v0.2/beacons/create",
                            {"Address": agent.address, "Token": agent.token, "Alias": f"node{n}"})
        assert (answer.status, answer.body) == (200, b"")
    listed = suite.unix("GET", "/api/v0.2/beacons/list").json()
    assert sorted(listed, key=lambda b: b["Alias"]) == [
        {"Alias": f"node{n}", "Address": a.address} for n, a in enumerate(agents)]
    again = suite.unix("POST", "/api/v0.2/beacons/create",
                       {"Address": agents[0].address, "Token": agents[0].token, "Alias": "again"})
    assert again.status == 400
    assert again.json() == {"Cause": "beacons", "Message": "beacons: tried to add an beacon which already exists"}


def test_a_beacon_lists_its_instance_with_an_alias(suite, agents):
    [instance] = suite.unix("GET", f"/api/v0.2/beacons/list/{agents[0].address}?refresh=true").json()
    name = instance["Name"]
    assert instance == {"Alias": f"node0.{name}", "InstanceAddress": agents[0].address, "Name": name,
                        "CanAccess": True, "CanAccessDocker": True, "Version": instance["Version"],
                        "BeaconAddress": agents[0].address}
    assert instance["Version"].startswith("v")
    assert suite.unix("GET", "/api/v0.2/beacons/list/node0").json() == [instance]
    assert suite.unix("PUT", "/api/v0.2/beacons/refresh/node0").status == 200


def test_beacon_tokens_are_never_shown_nor_stored_in_clear(suite, agents):
    for path in ["/api/v0.2/beacons/list", *(f"/api/v0.2/beacons/list/node{n}" for n in range(3))]:
        body = suite.unix("GET", path).body
        assert not any(agent.token.encode() in body for agent in agents)
    stored = stored_beacon_rows(suite)
    assert len(stored) == 3 and not any(agent.token.encode() in row for row in stored for agent in agents)


def test_a_token_change_takes_effect_and_an_unreachable_beacon_shows_cannot_access(suite, agents):
    answer = suite.unix("PUT", "/api/v0.2/beacons/token/node2", json.dumps("wrong"))
    assert (answer.status, answer.body) == (200, b"")
    refreshed = suite.unix("PUT", "/api/v0.2/beacons/refresh/node2")
    assert refreshed.status == 500
    assert refreshed.json()["Message"] == (
        f"beacons: beacon {agents[2].address} did not answer as a beacon with this token")
    [instance] = suite.unix("GET", "/api/v0.2/beacons/list/node2").json()
    assert instance["CanAccess"] is False and instance["CanAccessDocker"] is False
    assert suite.unix("PUT", f"/api/v0.2/beacons/token/{agents[2].address}", json.dumps(agents[2].token)).status == 200
    [instance] = suite.unix("GET", "/api/v0.2/beacons/list/node2?refresh=true").json()
    assert instance["CanAccess"] is True


def test_aliases(suite, agents):
    empty = suite.unix("PUT", f"/api/v0.2/aliases/{agents[1].address}", json.dumps(""))
    assert empty.status == 400 and empty.json()["Cause"] == "aliases"
    unknown = suite.unix("PUT", "/api/v0.2/aliases/10.9.9.9:1", json.dumps("x"))
    assert unknown.status == 400 and unknown.json()["Cause"] == "aliases"
    taken = suite.unix("PUT", f"/api/v0.2/aliases/{agents[1].address}", json.dumps("node0"))
    assert taken.status == 409 and "already in use" in taken.json()["Message"]
    # As documented: PUT /aliases/{Alias} with the address as the body.
    assert suite.unix("PUT", "/api/v0.2/aliases/middle", json.dumps(agents[1].address)).status == 200
    assert suite.unix("GET", "/api/v0.2/beacons/list/middle").json()[0]["InstanceAddress"] == agents[1].address
    # As Lighthouse's code took it: PUT /aliases/{Address} with the alias as the body.
    assert suite.unix("PUT", f"/api/v0.2/aliases/{agents[1].address}", json.dumps("centre")).status == 200
    assert suite.unix("GET", "/api/v0.2/beacons/list/centre").json()[0]["InstanceAddress"] == agents[1].address
    assert suite.unix("PUT", "/api/v0.2/aliases/middle", json.dumps(agents[1].address)).status == 200
    assert suite.unix("GET", "/api/v0.2/beacons/list/centre").json() == []
    # A dotted alias is the name of an instance behind a beacon: reserved for it.
    [node0] = suite.unix("GET", "/api/v0.2/beacons/list/node0").json()
    reserved = suite.unix("PUT", f"/api/v0.2/aliases/node0.{node0['Name']}x", json.dumps(agents[1].address))
    assert reserved.status == 409 and reserved.json()["Cause"] == "aliases"
    assert "reserved" in reserved.json()["Message"]


# -- the instance proxy ---------------------------------------------------------


def test_the_proxy_serves_each_instances_pebble_api(suite, agents):
    for host in ("node0", agents[1].address, "node2"):
        answer = suite.unix("GET", f"/api/v0.2/d/{host}/v1/system-info")
        assert answer.status == 200
        assert answer.json()["type"] == "sync" and answer.json()["result"]["version"].startswith("v")
    assert services(suite, "node0") == {}


def test_the_proxy_keeps_pebbles_errors_and_refuses_unknown_hosts(suite):
    missing = suite.unix("GET", "/api/v0.2/d/node0/v1/changes/999")
    assert missing.status == 404 and missing.json()["type"] == "error"
    route = suite.unix("GET", "/api/v0.2/d/node0/v1/no-such-route")
    assert route.status == 404 and route.json()["result"]["message"] == "invalid API endpoint requested"
    unknown = suite.unix("GET", "/api/v0.2/d/10.1.1.1:80/v1/services")
    assert unknown.status == 404 and unknown.json()["Cause"] == "beacons"
    assert suite.http("GET", "/api/v0.2/d/node0/v1/services").status == 401


def test_notices_answer_through_the_proxy_as_the_agents_beacon_token_caller(suite):
    """The agent verifies the beacon token once and hands that caller on:
    notices, which need the caller's uid, answer as any other route (they
    were a 500 while the servicer verified the metadata again)."""
    listed = suite.unix("GET", "/api/v0.2/d/node0/v1/notices")
    assert listed.status == 200, listed.body
    assert listed.json()["type"] == "sync" and isinstance(listed.json()["result"], list)
    added = suite.unix("POST", "/api/v0.2/d/node0/v1/notices",
                       {"action": "add", "type": "custom", "key": "example.com/through-the-proxy"})
    assert added.status == 200, added.body
    custom = suite.unix("GET", "/api/v0.2/d/node0/v1/notices?types=custom")
    assert custom.status == 200, custom.body
    assert [n["key"] for n in custom.json()["result"]] == ["example.com/through-the-proxy"]
    one = suite.unix("GET", f"/api/v0.2/d/node0/v1/notices/{added.json()['result']['id']}")
    assert one.status == 200 and one.json()["result"]["key"] == "example.com/through-the-proxy"


# -- applications -----------------------------------------------------------------


def test_create_runs_the_application_on_its_instances(suite, agents):
    answer = suite.unix("POST", "/api/v0.2/applications/create?start=true",
                        {"Name": APP, "Command": command("blue"), "Instances": ["node0", agents[1].address]})
    out = lines(answer)
    assert steps(out) == ["Pushing deployment", "Starting application"]
    assert out[0] == {"Status": "Starting", "Method": "POST", "Endpoint": "/v1/layers",
                      "Message": "Pushing deployment", "Code": 0, "Instance": "", "Item": 0, "Total": 2}
    for step in steps(out):
        results = per_instance(out, step)
        assert set(results) == {agents[0].address, agents[1].address}
        assert all(r["Status"] == "OK" and r["Code"] == 200 for r in results.values())
        assert results[agents[0].address]["Item"] == 0 and results[agents[1].address]["Item"] == 1
    for host in ("node0", "middle"):
        assert services(suite, host) == {APP: "active"}
        assert wait_for_log(suite, host, "COLOR=blue") == "COLOR=blue"
    assert APP not in services(suite, "node2")
    [app] = suite.unix("GET", "/api/v0.2/applications/list").json()
    assert app["Name"] == APP and app["Instances"] == [agents[0].address, agents[1].address]
    assert app["CurrentDeployment"] > 0


def test_create_refuses_bad_requests_before_anything_runs(suite, agents):
    cases = [
        ({"Name": "", "Command": command("x"), "Instances": ["node0"]}, 400),
        ({"Name": "other", "Command": {}, "Instances": ["node0"]}, 400),
        ({"Name": "other", "Command": command("x"), "Instances": []}, 400),
        ({"Name": "other", "Command": {"command": "x", "bogus": 1}, "Instances": ["node0"]}, 400),
        ({"Name": "other", "Command": command("x"), "Instances": ["10.1.1.1:80"]}, 400),
        ({"Name": APP, "Command": command("x"), "Instances": ["node0"]}, 400),
    ]
    for body, status in cases:
        answer = suite.unix("POST", "/api/v0.2/applications/create", body)
        assert answer.status == status, (body, answer.body)
        assert answer.json()["Cause"] == "applications"
    assert [a["Name"] for a in suite.unix("GET", "/api/v0.2/applications/list").json()] == [APP]


def test_update_adds_an_instance_and_restarts_with_the_new_environment(suite, agents):
    out = lines(suite.unix("PUT", f"/api/v0.2/applications/update/{APP}?restart=true",
                           {"Command": command("red"), "Add": ["node2"]}))
    assert steps(out) == ["Pushing deployment", "Starting application"]
    for step in steps(out):
        results = per_instance(out, step)
        assert len(results) == 3 and all(r["Status"] == "OK" for r in results.values())
    for host in ("node0", "middle", "node2"):
        assert services(suite, host) == {APP: "active"}
        assert wait_for_log(suite, host, "COLOR=red") == "COLOR=red"
    [app] = suite.unix("GET", "/api/v0.2/applications/list").json()
    assert app["Instances"] == [a.address for a in agents]


def test_deployments_are_listed_newest_first_with_versions(suite):
    [app] = suite.unix("GET", "/api/v0.2/applications/list").json()
    history = suite.unix("GET", f"/api/v0.2/applications/list/{app['Id']}").json()
    assert [d["Version"] for d in history] == [2, 1]
    assert [d["Command"]["environment"]["COLOR"] for d in history] == ["red", "blue"]
    assert history[0]["Id"] == app["CurrentDeployment"] and history[0]["Id"] > history[1]["Id"]
    assert all(d["Creator"] and d["Date"].endswith("Z") for d in history)
    assert suite.unix("GET", f"/api/v0.2/applications/list/{APP}?count=1").json() == history[:1]
    assert suite.unix("GET", f"/api/v0.2/applications/list/{APP}?count=0").json() == []
    assert suite.unix("GET", f"/api/v0.2/applications/list/{APP}?count=-1").status == 400
    assert suite.unix("GET", "/api/v0.2/applications/list/nothing").status == 404


def test_revert_to_the_first_deployment_restores_it_where_it_runs(suite):
    history = suite.unix("GET", f"/api/v0.2/applications/list/{APP}").json()
    first = history[-1]["Id"]
    out = lines(suite.unix("POST", f"/api/v0.2/applications/revert/{APP}?target={first}"))  # as documented (PUT too)
    assert steps(out) == ["Pushing deployment", "Restarting application"]
    assert all(r["Status"] == "OK" for r in per_instance(out, "Restarting application").values())
    for host in ("node0", "middle", "node2"):
        assert services(suite, host) == {APP: "active"}
        assert wait_for_log(suite, host, "COLOR=blue") == "COLOR=blue"
    [app] = suite.unix("GET", "/api/v0.2/applications/list").json()
    assert app["CurrentDeployment"] == first
    # no new deployment: revert only moves the current one
    assert len(suite.unix("GET", f"/api/v0.2/applications/list/{APP}").json()) == 2
    wrong = suite.unix("PUT", f"/api/v0.2/applications/revert/{APP}?target=-5")
    assert wrong.status == 400
    assert wrong.json() == {"Cause": "applications", "Message": "applications: no previous deployment to rollback to"}
    assert suite.unix("PUT", f"/api/v0.2/applications/revert/{APP}?target=99999").status == 404


def test_stop_stops_it_everywhere(suite):
    out = lines(suite.unix("POST", f"/api/v0.2/applications/stop/{APP}"))
    assert steps(out) == ["Stopping application"]
    assert len(per_instance(out, "Stopping application")) == 3
    for host in ("node0", "middle", "node2"):
        assert services(suite, host) == {APP: "inactive"}


def test_a_killed_instance_fails_alone_and_a_later_start_reaches_it(suite, agents):
    lines(suite.unix("POST", f"/api/v0.2/applications/start/{APP}"))
    agents[1].kill()
    out = lines(suite.unix("PUT", f"/api/v0.2/applications/update/{APP}?restart=true",
                           {"Command": command("green")}))
    pushed = per_instance(out, "Pushing deployment")
    killed = pushed[agents[1].address]
    assert killed["Status"] == "Error" and killed["Code"] == 502
    assert killed["Message"].startswith(f"instance {agents[1].address} unreachable")
    started = per_instance(out, "Starting application")
    assert set(started) == {agents[0].address, agents[2].address}
    assert all(r["Status"] == "OK" for r in started.values())
    for host in ("node0", "node2"):
        assert wait_for_log(suite, host, "COLOR=green") == "COLOR=green"

    agents[1].start()
    out = lines(suite.unix("POST", f"/api/v0.2/applications/start/{APP}"))
    assert all(r["Status"] == "OK" for r in per_instance(out, "Starting application").values())
    assert services(suite, "middle") == {APP: "active"}
    assert wait_for_log(suite, "middle", "COLOR=green") == "COLOR=green"


def test_update_removes_an_instance(suite, agents):
    out = lines(suite.unix("PUT", f"/api/v0.2/applications/update/{APP}", {"Remove": ["node2"]}))
    assert steps(out) == ["Stopping removed instances"]
    assert services(suite, "node2") == {APP: "inactive"}
    [app] = suite.unix("GET", "/api/v0.2/applications/list").json()
    assert app["Instances"] == [agents[0].address, agents[1].address]


# -- permissions ------------------------------------------------------------------


def test_a_caller_without_levels_sees_nothing_and_changes_nothing(suite, agents, nobody_socket):
    assert as_nobody(nobody_socket, "GET", "/api/v0.2/beacons/list") == (200, b"[]")
    assert as_nobody(nobody_socket, "GET", "/api/v0.2/beacons/list/node0") == (200, b"[]")
    assert as_nobody(nobody_socket, "GET", "/api/v0.2/applications/list") == (200, b"[]")
    assert as_nobody(nobody_socket, "GET", f"/api/v0.2/applications/list/{APP}") == (200, b"[]")
    status, body = as_nobody(nobody_socket, "PUT", "/api/v0.2/beacons/token/node0", "stolen")
    assert (status, json.loads(body)) == (403, {"Cause": "beacons", "Message": "beacons: user not permitted to access token"})
    status, body = as_nobody(nobody_socket, "GET", "/api/v0.2/d/node0/v1/services")
    assert (status, json.loads(body)) == (404, {"Cause": "beacons", "Message": "beacons: unknown instance node0"})
    status, body = as_nobody(nobody_socket, "GET", f"/api/v0.2/d/{agents[0].address}/v1/services")
    assert status == 403 and json.loads(body)["Cause"] == "beacons"
    assert as_nobody(nobody_socket, "PUT", "/api/v0.2/beacons/refresh/node0")[0] == 403
    assert as_nobody(nobody_socket, "PUT", f"/api/v0.2/aliases/{agents[0].address}", "mine")[0] == 403
    assert as_nobody(nobody_socket, "POST", f"/api/v0.2/applications/stop/{APP}")[0] == 403
    status, body = as_nobody(nobody_socket, "POST", "/api/v0.2/applications/create",
                             {"Name": "sneaky", "Command": command("x"), "Instances": ["node0"]})
    assert (status, json.loads(body)["Message"]) == (400, "applications: unknown instance node0")  # not its alias
    status, body = as_nobody(nobody_socket, "POST", "/api/v0.2/applications/create",
                             {"Name": "sneaky", "Command": command("x"), "Instances": [agents[0].address]})
    assert status == 403
    assert services(suite, "node0") == {APP: "active"}
    assert suite.unix("GET", "/api/v0.2/beacons/list/node0").json()[0]["Alias"] != "mine"


def test_agents_refuse_calls_without_their_token(agents):
    with grpc.insecure_channel(agents[0].address) as channel, pytest.raises(grpc.RpcError) as caught:
        plan_pb2_grpc.PlanStub(channel).ListServices(
            plan_pb2.ListServicesRequest(), metadata=(("shoal-beacon-token", "guess"),), timeout=5)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED



def test_beacon_levels_for_real_users(suite, agents):
    """The spec's examples with Lighthouse users: admin 2 / manager 1 /
    employee 0, beacon levels 0 (access), 1 (modify), 2 (owner), -1 removes."""
    node0 = agents[0].address
    for email, level in (("boss@corp", 2), ("manager@corp", 1), ("employee@corp", 0)):
        assert suite.unix("POST", "/api/v0.2/users/create", {"Email": email, "Password": "pw"}).status == 200
        assert suite.unix("PUT", f"/api/v0.2/users/{email}", {"AuthLevel": level}).status == 200
    # The operator (root on the socket) owns every beacon and grants the manager modify on node0.
    assert suite.unix("PUT", "/api/v0.2/users/manager@corp", {"Beacons": {node0: 1}}).status == 200
    manager = suite.lighthouse_session("manager@corp", "pw")
    employee = suite.lighthouse_session("employee@corp", "pw")
    assert suite.https("GET", "/api/v0.2/beacons/list", headers=employee).json() == []
    # One entry above the manager's own level fails the whole update.
    refused = suite.https("PUT", "/api/v0.2/users/employee@corp",
                          {"Beacons": {node0: 0, agents[1].address: 0}}, manager)
    assert refused.status == 403
    assert suite.https("PUT", "/api/v0.2/users/employee@corp", {"Beacons": {node0: 2}}, manager).status == 403
    assert suite.https("GET", "/api/v0.2/beacons/list", headers=employee).json() == []
    assert suite.https("PUT", "/api/v0.2/users/employee@corp", {"Beacons": {node0: 0}}, manager).status == 200
    assert [b["Address"] for b in suite.https("GET", "/api/v0.2/beacons/list", headers=employee).json()] == [node0]
    # Level 0: reads through the proxy, but no writes and no token change.
    assert suite.https("GET", "/api/v0.2/d/node0/v1/services", headers=employee).status == 200
    write = suite.https("POST", "/api/v0.2/d/node0/v1/services", {"action": "stop", "services": [APP]}, employee)
    assert write.status == 403
    token = suite.https("PUT", "/api/v0.2/beacons/token/node0", json.dumps("stolen"),
                        {**employee, "Content-Type": "application/json"})
    assert (token.status, token.json()["Message"]) == (403, "beacons: user not permitted to access token")
    # The manager (level 1) may change it; -1 removes the employee's access again, and -1
    # on a beacon the employee holds nothing on (and the manager neither) changes nothing.
    documented = {"AuthLevel": 0, "Beacons": {node0: -1, agents[2].address: -1}}
    assert suite.https("PUT", "/api/v0.2/users/employee@corp", documented, manager).status == 200
    assert suite.https("PUT", "/api/v0.2/users/employee@corp", documented, manager).status == 200
    assert suite.https("GET", "/api/v0.2/beacons/list", headers=employee).json() == []
    assert suite.https("GET", "/api/v0.2/d/node0/v1/services", headers=employee).status == 404  # no alias for it now
    assert suite.https("GET", f"/api/v0.2/d/{node0}/v1/services", headers=employee).status == 403
    assert services(suite, "node0") == {APP: "active"}  # nothing the refused callers tried happened


def test_a_beacon_is_granted_to_a_user_by_its_path(suite, agents):
    """PUT /beacons/user/{Beacon}/{Email}: access (level 0) for that user, by
    a caller who may modify the beacon; 400 for an unknown beacon."""
    node0 = agents[0].address
    manager = suite.lighthouse_session("manager@corp", "pw")
    employee = suite.lighthouse_session("employee@corp", "pw")
    assert suite.https("GET", "/api/v0.2/beacons/list", headers=employee).json() == []
    unknown = suite.https("PUT", "/api/v0.2/beacons/user/nowhere/employee@corp", headers=manager)
    assert (unknown.status, unknown.json()) == (400, {"Cause": "beacons", "Message": "beacons: no beacon nowhere"})
    assert suite.https("PUT", "/api/v0.2/beacons/user/node0/employee@corp", headers=manager).status == 200
    assert [b["Address"] for b in suite.https("GET", "/api/v0.2/beacons/list", headers=employee).json()] == [node0]
    # Level 0 is not enough to give the beacon to someone else.
    refused = suite.https("PUT", "/api/v0.2/beacons/user/node0/boss@corp", headers=employee)
    assert refused.status == 403
    # A user who holds more keeps it (the manager stays at modify).
    assert suite.unix("PUT", "/api/v0.2/beacons/user/node0/manager@corp").status == 200
    assert suite.unix("GET", "/api/v0.2/users/manager@corp").json()["Permissions"]["Beacons"] == {node0: 1}
    missing = suite.unix("PUT", "/api/v0.2/beacons/user/node0/nobody@corp")
    assert missing.status == 404 and missing.json()["Cause"] == "users"
