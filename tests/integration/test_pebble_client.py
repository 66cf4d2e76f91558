"""The real `ops.pebble.Client`, unchanged, against the gateway's socket:
every call the installed ops has for layers, services, changes, checks and
notices, with results compared field by field with what Pebble returns
(pebble-api.md §2, §4)."""

from __future__ import annotations

import datetime
import time

import pytest
import yaml
from ops import pebble


@pytest.fixture(scope="module")
def client(suite) -> pebble.Client:
    return pebble.Client(socket_path=suite.socket)


def test_system_info(client, suite):
    info = client.get_system_info()
    assert info.version
    assert suite.unix("GET", "/v1/system-info").json()["result"]["boot-id"]


def test_add_layer_as_text_dict_and_layer_then_get_plan(client):
    client.add_layer("pc-text", "summary: text\nservices:\n  pc-a:\n    override: replace\n    command: sleep 60\n")
    client.add_layer("pc-dict", {"services": {"pc-b": {"override": "replace", "command": "sleep 61",
                                                      "environment": {"X": "1"}}}})
    client.add_layer("pc-layer", pebble.Layer({"services": {"pc-c": {"override": "replace", "command": "sleep 62",
                                                                     "after": ["pc-b"]}}}))
    plan = client.get_plan()
    assert plan.services["pc-a"].command == "sleep 60"
    assert plan.services["pc-b"].environment == {"X": "1"}
    assert plan.services["pc-c"].after == ["pc-b"]
    raw = yaml.safe_load(plan.to_yaml())
    assert raw["services"]["pc-b"] == {"override": "replace", "command": "sleep 61", "environment": {"X": "1"}}
    with pytest.raises(pebble.APIError) as duplicate:
        client.add_layer("pc-text", {"services": {}})
    assert duplicate.value.code == 400 and 'layer "pc-text" already exists' in duplicate.value.message
    client.add_layer("pc-text", {"services": {"pc-a": {"override": "merge", "command": "sleep 70"}}}, combine=True)
    assert client.get_plan().services["pc-a"].command == "sleep 70"
    with pytest.raises(pebble.APIError) as invalid:
        client.add_layer("pc-bad", {"services": {"pc-x": {"command": "sleep 1"}}})
    assert invalid.value.code == 400 and 'must define "override" for service "pc-x"' in invalid.value.message


def test_services_start_stop_restart_and_their_changes(client):
    change_id = client.start_services(["pc-a", "pc-b"])
    change = client.get_change(change_id)
    assert (change.kind, change.status, change.ready, change.err) == ("start", "Done", True, None)
    assert change.summary == 'Start service "pc-a" and 1 more'
    assert sorted(t.summary for t in change.tasks) == ['Start service "pc-a"', 'Start service "pc-b"']
    assert all(t.kind == "start" and t.status == "Done" and t.progress.done == t.progress.total
               for t in change.tasks)
    services = {s.name: s for s in client.get_services(["pc-a", "pc-b", "pc-c"])}
    assert services["pc-a"].current == pebble.ServiceStatus.ACTIVE and services["pc-a"].is_running()
    assert services["pc-c"].current == pebble.ServiceStatus.INACTIVE
    assert services["pc-a"].startup == pebble.ServiceStartup.DISABLED
    assert [s.name for s in client.get_services(["pc-b"])] == ["pc-b"]
    restart = client.get_change(client.restart_services(["pc-a"]))
    assert [t.kind for t in restart.tasks] == ["stop", "start"] and restart.status == "Done"
    stop = client.get_change(client.stop_services(["pc-a", "pc-b"]))
    assert stop.kind == "stop" and stop.status == "Done"
    assert all(s.current == pebble.ServiceStatus.INACTIVE for s in client.get_services(["pc-a", "pc-b"]))
    with pytest.raises(pebble.APIError) as unknown:
        client.start_services(["pc-none"])
    assert unknown.value.code == 400 and 'service "pc-none" does not exist' in unknown.value.message


def test_a_failed_start_is_a_change_error_with_the_output(client):
    client.add_layer("pc-fail", {"services": {"pc-fail": {
        "override": "replace", "command": "/bin/sh -c 'echo about to fail; exit 3'"}}})
    with pytest.raises(pebble.ChangeError) as caught:
        client.start_services(["pc-fail"])
    assert 'Start service "pc-fail"' in caught.value.err
    task = caught.value.change.tasks[0]
    assert task.status == "Error" and any("about to fail" in line for line in task.log)


def test_autostart_and_replan(client):
    client.add_layer("pc-auto", {"services": {"pc-auto": {"override": "replace", "command": "sleep 63",
                                                         "startup": "enabled"}}})
    client.autostart_services()
    assert client.get_services(["pc-auto"])[0].current == pebble.ServiceStatus.ACTIVE
    client.add_layer("pc-auto", {"services": {"pc-auto": {"override": "merge", "command": "sleep 64"}}},
                     combine=True)
    client.replan_services()
    replans = [c for c in client.get_changes(select=pebble.ChangeState.ALL) if c.kind == "replan"]
    assert replans and replans[-1].status == "Done"
    assert any('"pc-auto"' in t.summary for t in replans[-1].tasks)
    client.stop_services(["pc-auto"])


def test_get_changes_filters_and_wait_and_abort(client):
    all_changes = client.get_changes(select=pebble.ChangeState.ALL)
    assert all_changes and all(isinstance(c.spawn_time, datetime.datetime) for c in all_changes)
    assert all(c.ready for c in client.get_changes(select=pebble.ChangeState.READY))
    assert [c.id for c in client.get_changes(select=pebble.ChangeState.ALL, service="pc-b")]
    assert all("pc-b" in (c.data or {}).get("service-names", ["pc-b"])
               for c in client.get_changes(select=pebble.ChangeState.ALL, service="pc-b"))
    client.add_layer("pc-slow", {"services": {"pc-slow": {"override": "replace", "command": "sleep 60"}}})
    response = client._request("POST", "/v1/services", body={"action": "start", "services": ["pc-slow"]})
    change_id = pebble.ChangeID(response["change"])
    in_progress = client.get_change(change_id)
    assert not in_progress.ready and in_progress.status in ("Do", "Doing")
    aborted = client.abort_change(change_id)
    assert aborted.id == change_id
    waited = client.wait_change(change_id, timeout=10)
    assert waited.ready and waited.status in ("Undone", "Error", "Hold")
    with pytest.raises(pebble.APIError) as missing:
        client.get_change(pebble.ChangeID("987654"))
    assert missing.value.code == 404 and 'cannot find change with id "987654"' in missing.value.message
    with pytest.raises(pebble.APIError) as ready:
        client.abort_change(change_id)
    assert ready.value.code == 400 and "cannot abort change" in ready.value.message


def test_checks_listing_start_and_stop(client):
    client.add_layer("pc-checks", {"checks": {
        "pc-up": {"override": "replace", "level": "alive", "period": "100ms", "exec": {"command": "true"}},
        "pc-down": {"override": "replace", "level": "ready", "period": "100ms", "threshold": 2,
                    "exec": {"command": "false"}},
    }})
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        checks = {c.name: c for c in client.get_checks(names=["pc-up", "pc-down"])}
        if checks["pc-down"].status == pebble.CheckStatus.DOWN and checks["pc-up"].successes:
            break
        time.sleep(0.1)
    assert checks["pc-up"].status == pebble.CheckStatus.UP and checks["pc-up"].level == pebble.CheckLevel.ALIVE
    assert checks["pc-down"].status == pebble.CheckStatus.DOWN and checks["pc-down"].failures >= 2
    assert checks["pc-down"].threshold == 2 and checks["pc-down"].change_id
    assert [c.name for c in client.get_checks(level=pebble.CheckLevel.READY, names=["pc-up", "pc-down"])] == [
        "pc-down"]
    assert client.stop_checks(["pc-down", "pc-up"]) == ["pc-down", "pc-up"]
    stopped = {c.name: c for c in client.get_checks(names=["pc-up", "pc-down"])}
    assert stopped["pc-down"].status == pebble.CheckStatus.INACTIVE
    assert client.stop_checks(["pc-down"]) == []
    assert client.start_checks(["pc-up"]) == ["pc-up"]
    client.stop_checks(["pc-up"])


def test_notices_notify_get_and_wait(client):
    first = client.notify(pebble.NoticeType.CUSTOM, "example.com/pc", data={"n": "1"})
    again = client.notify(pebble.NoticeType.CUSTOM, "example.com/pc", data={"n": "2"})
    assert first == again  # the same notice, occurred again
    notice = client.get_notice(first)
    assert (notice.type, notice.key, notice.occurrences, notice.last_data) == (
        pebble.NoticeType.CUSTOM, "example.com/pc", 2, {"n": "2"})
    assert notice.user_id == 0 and notice.first_occurred <= notice.last_occurred
    listed = client.get_notices(types=[pebble.NoticeType.CUSTOM], keys=["example.com/pc"])
    assert [n.id for n in listed] == [first]
    change_updates = client.get_notices(types=[pebble.NoticeType.CHANGE_UPDATE])
    assert change_updates and all(n.type == pebble.NoticeType.CHANGE_UPDATE for n in change_updates)
    with pytest.raises(pebble.APIError) as bad_key:
        client.notify(pebble.NoticeType.CUSTOM, "no-domain")
    assert bad_key.value.code == 400
    with pytest.raises(pebble.APIError) as missing:
        client.get_notice("999999")
    assert missing.value.code == 404


def test_logs_of_a_started_service(client, suite):
    client.add_layer("pc-logs", {"services": {"pc-logs": {
        "override": "replace", "command": "/bin/sh -c 'echo hello from pc-logs; sleep 60'"}}})
    client.start_services(["pc-logs"])
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        lines = suite.unix("GET", "/v1/logs?services=pc-logs&n=10").body.decode().splitlines()
        if lines:
            break
        time.sleep(0.1)
    import json

    entry = json.loads(lines[-1])
    assert entry["service"] == "pc-logs" and entry["message"] == "hello from pc-logs"
    assert entry["time"].endswith("Z")
    client.stop_services(["pc-logs"])
