"""The health checks manager's rules (Pebble's checkstate), with a real change
manager and real checks; periods are an hour, so a check runs only when a
test refreshes it. And the checkers' failure texts, as Pebble words them."""

from __future__ import annotations

import asyncio
import http.server
import socket
import threading

import pytest

from services.plan.changes.manager import ChangeManager
from services.plan.checkers import CheckFailed, first_lines, last_lines, run_check
from services.plan.checks import CheckError, CheckManager
from services.plan.plan.context import ContextNotFound, ContextOptions, merge_service_context
from services.plan.plan.merge import build_plan
from services.plan.plan.parse import parse_layer


def plan_of(*layers: str):
    return build_plan([parse_layer(i + 1, f"layer{i}", text) for i, text in enumerate(layers)])


def exec_check(name: str, command: str, extra: str = "") -> str:
    return f"""
checks:
  {name}:
    override: replace
    period: 1h
    {extra}
    exec: {{command: "{command}"}}
"""


@pytest.fixture
def changes():
    return ChangeManager()


@pytest.fixture
def manager(changes):
    return CheckManager(changes)


def task_log(changes, change_id: str) -> list[str]:
    """The task's log lines without their time stamps."""
    return [line.split(" ", 1)[1] for line in changes.get(change_id).tasks[0].log]


async def test_each_refresh_runs_the_running_check_once_and_answers_the_state_after_it(manager):
    manager.plan_changed(plan_of(exec_check("count", "true")))
    [before] = manager.infos()
    assert before == {"name": "count", "startup": "enabled", "status": "up", "successes": 0,
                      "threshold": 3, "change-id": before["change-id"]}
    info, failure = await manager.refresh("count")
    assert failure is None and info["successes"] == 1 and info["change-id"] == before["change-id"]
    info, failure = await manager.refresh("count")
    assert info["successes"] == 2 and "failures" not in info
    assert manager.infos() == [info]
    assert [(s.success_total, s.failure_total) for _, s in manager.metrics()] == [(2, 0)]


async def test_failures_count_to_the_threshold_then_a_recover_change_counts_on_and_logs_each(
        manager, changes):
    manager.plan_changed(plan_of(exec_check("fail", "sh -c 'echo out one; echo out two >&2; exit 1'",
                                            "threshold: 2\n    level: alive")))
    perform = manager.infos()[0]["change-id"]
    info, failure = await manager.refresh("fail")
    assert failure == "exit status 1; out one\nout two"
    assert (info["status"], info["failures"], info["successes"]) == ("up", 1, 0)
    assert manager.healthy() and manager.healthy("alive")

    info, failure = await manager.refresh("fail")  # at the threshold
    recover = info["change-id"]
    assert recover != perform and info["prev-change-id"] == perform
    assert (info["status"], info["failures"]) == ("down", 2)
    assert not manager.healthy("alive") and not manager.healthy("ready")
    done = await changes.wait(perform, timeout=5)
    assert done.status == "Error"
    assert task_log(changes, perform) == ["ERROR exit status 1; out one\nout two"] * 2
    assert changes.get(recover).kind == "recover-check"

    for expected in (3, 4):
        info, failure = await manager.refresh("fail")
        assert failure and info["failures"] == expected and info["change-id"] == recover
        assert info["prev-change-id"] == perform and info["status"] == "down"
    assert task_log(changes, recover) == ["ERROR exit status 1; out one\nout two"] * 2
    assert [(s.success_total, s.failure_total) for _, s in manager.metrics()] == [(0, 4)]


async def test_a_recovered_check_is_up_with_one_success_in_a_new_perform_change(manager, changes, tmp_path):
    flag = tmp_path / "flag"
    manager.plan_changed(plan_of(exec_check("back", f"test -e {flag}", "threshold: 1")))
    perform = manager.infos()[0]["change-id"]
    info, failure = await manager.refresh("back")
    assert failure == "exit status 1" and info["status"] == "down"
    recover = info["change-id"]
    flag.touch()
    info, failure = await manager.refresh("back")
    assert failure is None
    assert info["status"] == "up" and info["successes"] == 1 and "failures" not in info
    assert info["prev-change-id"] == recover and info["change-id"] not in (perform, recover)
    done = await changes.wait(recover, timeout=5)
    assert done.status == "Done" and done.tasks[0].log == []  # a recovery logs nothing
    # The new perform-check counts from its own start, as Pebble's does.
    info, _ = await manager.refresh("back")
    assert info["successes"] == 1


async def test_a_success_after_failures_is_logged_and_clears_them(manager, changes, tmp_path):
    flag = tmp_path / "flag"
    manager.plan_changed(plan_of(exec_check("flaky", f"test -e {flag}")))
    perform = manager.infos()[0]["change-id"]
    await manager.refresh("flaky")
    await manager.refresh("flaky")
    flag.touch()
    info, _ = await manager.refresh("flaky")
    assert info["successes"] == 1 and "failures" not in info
    assert task_log(changes, perform) == ["ERROR exit status 1"] * 2 + ["INFO succeeded after 2 failures"]


async def test_a_stopped_check_is_inactive_without_a_change_keeping_its_counters(manager, changes):
    manager.plan_changed(plan_of(exec_check("stop", "false")))
    perform = manager.infos()[0]["change-id"]
    await manager.refresh("stop")
    assert manager.action("stop", ["stop"]) == ["stop"]
    assert manager.infos() == [{"name": "stop", "startup": "enabled", "status": "inactive",
                                "successes": 0, "failures": 1, "threshold": 3}]
    assert (await changes.wait(perform, timeout=5)).status == "Done"
    assert task_log(changes, perform) == ["ERROR exit status 1"]
    assert manager.action("stop", ["stop"]) == []
    # A refresh of a stopped check runs it and counts nothing.
    info, failure = await manager.refresh("stop")
    assert failure == "exit status 1" and info["failures"] == 1 and "change-id" not in info
    assert manager.action("start", ["stop"]) == ["stop"]
    assert manager.action("start", ["stop"]) == []
    [info] = manager.infos()
    assert info["status"] == "up" and info["successes"] == 0 and "failures" not in info
    assert info["change-id"] != perform


async def test_start_and_stop_refuse_what_the_plan_lacks_with_pebbles_words(manager):
    manager.plan_changed(plan_of(exec_check("here", "true")))
    with pytest.raises(CheckError, match="^must specify checks for restart action$"):
        manager.action("restart", [])
    with pytest.raises(CheckError, match='^invalid action "restart"$'):
        manager.action("restart", ["here"])
    with pytest.raises(CheckError, match="^cannot start checks: cannot find checks in plan: nope-a, nope-b$"):
        manager.action("start", ["here", "nope-b", "nope-a"])
    with pytest.raises(CheckError, match='^cannot find check with name "nope"$'):
        await manager.refresh("nope")


async def test_a_layer_added_starts_a_stopped_enabled_check_again_and_resets_disabled_ones(manager):
    base = exec_check("again", "true") + """
  off:
    override: replace
    period: 1h
    startup: disabled
    exec: {command: "true"}
"""
    manager.plan_changed(plan_of(base))
    old = manager.infos()[0]["change-id"]
    await manager.refresh("again")
    manager.action("stop", ["again"])
    manager.action("start", ["off"])
    await manager.refresh("off")
    manager.action("stop", ["off"])
    assert manager.infos()[1]["successes"] == 1

    manager.plan_changed(plan_of(base, "services:\n  unrelated: {override: replace, command: sleep 1}\n"))
    again, off = manager.infos()
    assert again["status"] == "up" and again["successes"] == 0 and again["change-id"] != old
    assert off == {"name": "off", "startup": "disabled", "status": "inactive", "successes": 0, "threshold": 3}
    # The lifetime counts stay with the check.
    assert [(n, s.success_total) for n, s in manager.metrics()] == [("again", 1), ("off", 1)]


async def test_a_modified_check_starts_afresh_and_an_unchanged_one_keeps_running(manager, changes):
    layer = exec_check("changed", "true") + "  same: {override: replace, period: 1h, exec: {command: 'true'}}\n"
    manager.plan_changed(plan_of(layer))
    changed_id, same_id = (i["change-id"] for i in manager.infos())
    await manager.refresh("changed")
    await manager.refresh("same")
    manager.plan_changed(plan_of(layer, "checks:\n  changed: {override: merge, period: 2h}\n"
                                        "  same: {override: merge, period: 1h}\n"))
    changed, same = manager.infos()
    assert changed["change-id"] != changed_id and changed["successes"] == 0
    assert same["change-id"] == same_id and same["successes"] == 1
    assert (await changes.wait(changed_id, timeout=5)).status == "Done"
    assert [(n, s.success_total) for n, s in manager.metrics()] == [("changed", 0), ("same", 1)]


async def test_a_running_check_that_becomes_disabled_runs_on_until_stopped(manager):
    manager.plan_changed(plan_of(exec_check("goes-off", "true")))
    running = manager.infos()[0]["change-id"]
    manager.plan_changed(plan_of(exec_check("goes-off", "true"),
                                 "checks:\n  goes-off: {override: merge, startup: disabled}\n"))
    [info] = manager.infos()
    assert info["change-id"] == running and info["startup"] == "enabled"
    manager.action("stop", ["goes-off"])
    manager.plan_changed(plan_of(exec_check("goes-off", "true"),
                                 "checks:\n  goes-off: {override: merge, startup: disabled}\n"))
    assert manager.infos()[0]["status"] == "inactive" and manager.infos()[0]["startup"] == "disabled"
    manager.replan()  # a replan starts only startup-enabled checks
    assert manager.infos()[0]["status"] == "inactive"


async def test_a_removed_check_is_aborted_and_forgotten(manager, changes):
    manager.plan_changed(plan_of(exec_check("gone", "true")))
    running = manager.infos()[0]["change-id"]
    await manager.refresh("gone")  # its loop is running
    manager.plan_changed(plan_of())
    assert manager.infos() == []
    assert (await changes.wait(running, timeout=5)).status == "Done"


async def test_a_refresh_waiting_for_a_check_stopped_meanwhile_runs_it_directly(manager):
    manager.plan_changed(plan_of(exec_check("slow", "sleep 0.3")))
    first = asyncio.ensure_future(manager.refresh("slow"))
    await asyncio.sleep(0)
    while manager.states["slow"].refreshes:  # until the loop runs the first refresh
        await asyncio.sleep(0.01)
    second = asyncio.ensure_future(manager.refresh("slow"))
    await asyncio.sleep(0)
    assert len(manager.states["slow"].refreshes) == 1  # the second waits for the loop
    manager.action("stop", ["slow"])
    (info1, failure1), (info2, failure2) = await asyncio.wait_for(asyncio.gather(first, second), 5)
    assert failure1 is None and failure2 is None
    assert info1["status"] == info2["status"] == "inactive" and info2["successes"] == 0


async def test_a_refresh_of_a_check_whose_change_was_aborted_runs_it_instead_of_waiting(manager, changes):
    manager.plan_changed(plan_of(exec_check("orphan", "true")))
    running = manager.infos()[0]["change-id"]
    await manager.refresh("orphan")
    changes.abort(running)  # (POST /v1/changes/{id}/abort): no loop runs it any more
    await changes.wait(running, timeout=5)
    info, failure = await asyncio.wait_for(manager.refresh("orphan"), 5)
    assert failure is None and info["successes"] == 1  # run, not counted


async def test_an_exec_check_runs_with_the_daemons_environment_under_its_service_context(changes):
    manager = CheckManager(changes, base_environment={"PATH": "/usr/bin:/bin", "FROM_BASE": "base",
                                                      "CHK_CTX": "daemon"})
    services = "services:\n  svc: {override: replace, command: sleep 1, environment: {CHK_CTX: %s}}\n"
    check = """checks:
  ctx:
    override: replace
    period: 1h
    exec:
      service-context: svc
      command: sh -c 'echo $FROM_BASE $CHK_CTX $OWN; exit 1'
      environment: {OWN: own}
"""
    manager.plan_changed(plan_of(services % "service", check))
    running = manager.infos()[0]["change-id"]
    _, failure = await manager.refresh("ctx")
    assert failure == "exit status 1; base service own"
    # The context is part of the check's config: changing the service restarts it.
    manager.plan_changed(plan_of(services % "changed", check))
    assert manager.infos()[0]["change-id"] != running
    _, failure = await manager.refresh("ctx")
    assert failure == "exit status 1; base changed own"


async def test_a_failing_check_fires_the_failure_action_once_at_the_threshold(changes):
    fired: list[str] = []

    async def on_failure(name: str) -> None:
        fired.append(name)

    manager = CheckManager(changes, on_failure=on_failure)
    manager.plan_changed(plan_of(exec_check("act", "false", "threshold: 1")))
    await manager.refresh("act")
    await manager.refresh("act")  # (recovering: no action)
    await asyncio.sleep(0)
    assert fired == ["act"]


async def test_a_running_check_runs_every_period_by_itself(manager):
    manager.plan_changed(plan_of(exec_check("ticking", "true").replace("period: 1h", "period: 50ms")))
    for _ in range(200):  # 10 s at most
        if manager.infos()[0]["successes"] >= 3:
            break
        await asyncio.sleep(0.05)
    assert manager.infos()[0]["successes"] >= 3


def test_a_service_context_gives_what_the_exec_leaves_unset_field_by_field():
    plan = plan_of("""services:
  svc:
    override: replace
    command: sleep 1
    environment: {A: svc, B: svc}
    user-id: 1000
    group: staff
    working-dir: /srv
""")
    merged = merge_service_context(plan, "svc", ContextOptions(environment={"B": "own"}, user="root"))
    assert merged == ContextOptions(environment={"A": "svc", "B": "own"}, user_id=1000, user="root",
                                    group="staff", working_dir="/srv")
    assert merge_service_context(plan, "", ContextOptions(user="x")) == ContextOptions(user="x")
    with pytest.raises(ContextNotFound, match='^context service "nope" not found$'):
        merge_service_context(plan, "nope", ContextOptions())


# -- the checkers' texts ----------------------------------------------------------------------

def test_exec_details_are_the_last_five_lines_after_a_marker_when_there_were_more():
    assert last_lines(b"") == ""
    assert last_lines(b"one\ntwo\n") == "one\ntwo"
    assert last_lines(b"".join(b"line %d\n" % i for i in range(1, 8))) == (
        "(...)\nline 3\nline 4\nline 5\nline 6\nline 7")
    assert last_lines(b"a\n\nb\n") == "a\n\nb"  # blank lines inside are kept


def test_http_details_are_the_first_five_lines_then_a_marker():
    assert first_lines(b"  not found\n") == "not found"
    assert first_lines(b"".join(b"%d\n" % i for i in range(1, 9))) == "1\n2\n3\n4\n5\n(...)"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_tcp_and_http_checks_refused_say_so_in_gos_words():
    port = _closed_port()
    plan = plan_of(f"""checks:
  tcp: {{override: replace, tcp: {{host: 127.0.0.1, port: {port}}}}}
  http: {{override: replace, http: {{url: "http://127.0.0.1:{port}/health"}}}}
""")
    with pytest.raises(CheckFailed) as tcp:
        await run_check(plan.checks["tcp"])
    assert str(tcp.value) == f"dial tcp 127.0.0.1:{port}: connect: connection refused"
    with pytest.raises(CheckFailed) as http_refused:
        await run_check(plan.checks["http"])
    assert str(http_refused.value) == (
        f'Get "http://127.0.0.1:{port}/health": dial tcp 127.0.0.1:{port}: connect: connection refused')


async def test_an_http_check_fails_on_a_non_2xx_answer_with_the_start_of_its_body():
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"nothing\nhere\n" if self.path == "/missing" else b"ok"
            self.send_response(404 if self.path == "/missing" else 200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        plan = plan_of(f"""checks:
  ok: {{override: replace, http: {{url: "http://127.0.0.1:{port}/"}}}}
  missing: {{override: replace, http: {{url: "http://127.0.0.1:{port}/missing"}}}}
""")
        await run_check(plan.checks["ok"])
        with pytest.raises(CheckFailed, match="^non-2xx status code 404; nothing\nhere$"):
            await run_check(plan.checks["missing"])
    finally:
        server.shutdown()
        server.server_close()


async def test_an_exec_check_that_overruns_its_timeout_is_killed():
    plan = plan_of(exec_check("slow", "sleep 30", "timeout: 200ms"))
    with pytest.raises(CheckFailed, match="^check timed out after 200ms$"):
        await asyncio.wait_for(run_check(plan.checks["slow"]), 5)


async def test_an_exec_check_killed_by_a_signal_exits_with_128_plus_its_number():
    plan = plan_of(exec_check("killed", "sh -c 'kill -9 $$'"))
    with pytest.raises(CheckFailed, match="^exit status 137$"):
        await run_check(plan.checks["killed"])


async def test_an_exec_check_gets_sigpipe_at_its_default_which_python_ignores():
    # A shell cannot take back a signal ignored when it started: were SIGPIPE
    # still ignored (as in the node agent), this would exit 0.
    plan = plan_of(exec_check("piped", "sh -c 'kill -PIPE $$; exit 0'"))
    with pytest.raises(CheckFailed, match="^exit status 141$"):
        await run_check(plan.checks["piped"])
