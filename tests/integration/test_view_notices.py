"""`GET /v1/notices` from the gateway's view, against the real suite: each
caller (root, another uid on the socket, an admin asking for all users or
one user, with type, key and after filters) gets the RPC's bytes (a
gateway with no views answers the same requests), refused queries and
long-polls answer as the RPC does, the view answers while the plan service
is paused, a posted notice is seen through another gateway worker, and a
killed plan service makes the route fail fast, then answer fresh."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.integration.test_gateway_workers import only
from tests.integration.test_views import (
    Worker,
    reads_while_the_plan_service_is_killed,
    two_worker_suite,
    view_live,
)
from tests.support import ROOT, wait_for

NOBODY = 65534

_AS_UID = """
import json, sys
sys.path.insert(0, {root!r})
from tests.support import UnixHTTPConnection, request  # imported while still allowed to read it
import os
os.setgid({uid}); os.setuid({uid})
out = []
for socket, method, path, body in json.loads(sys.stdin.read()):
    a = request(UnixHTTPConnection(socket, 10), method, path, body, None)
    out.append([a.status, a.body.decode(errors="replace")])
print(json.dumps(out))
"""


def as_uid(uid: int, calls: list[tuple[str, str, str, dict | None]]) -> list[tuple[int, bytes]]:
    """(status, body) of each (socket, method, path, body), sent by a client running as `uid`."""
    done = subprocess.run([sys.executable, "-c", _AS_UID.format(root=str(ROOT), uid=uid)], check=False,
                          input=json.dumps(calls), capture_output=True, text=True, timeout=120, cwd="/")
    assert done.returncode == 0, done.stderr
    return [(status, text.encode()) for status, text in json.loads(done.stdout)]


def _open_to_others(suite) -> None:
    for path in [suite.home, *suite.home.parents]:
        if path == Path("/"):
            break
        os.chmod(path, path.stat().st_mode | 0o011)


def _notice(send, key: str, data: dict | None = None) -> str:
    body = {"action": "add", "type": "custom", "key": key, **({"data": data} if data else {})}
    answer = send("POST", "/v1/notices", body)
    assert answer.status == 200, answer.body
    return answer.json()["result"]["id"]


def _keys(answer) -> list[str]:
    assert answer.status == 200, answer.body
    return [n["key"] for n in answer.json()["result"]]


needs_root = pytest.mark.skipif(os.getuid() != 0, reason="needs root to connect as another uid")


@pytest.fixture(scope="module")
def noticed(suite):
    """Public, root's and nobody's notices; the time between the first and the rest."""
    _open_to_others(suite)
    _notice(suite.unix, "root.example.com/first", {"n": "1"})
    first = next(n for n in suite.unix("GET", "/v1/notices").json()["result"]
                 if n["key"] == "root.example.com/first")
    time.sleep(0.01)
    _notice(suite.unix, "root.example.com/second")
    _notice(suite.unix, "root.example.com/first", {"n": "2"})  # a second occurrence
    if os.getuid() == 0:
        answers = as_uid(NOBODY, [[str(suite.socket), "POST", "/v1/notices",
                                   {"action": "add", "type": "custom", "key": f"nobody.example.com/{n}"}]
                                  for n in ("one", "two")])
        assert [status for status, _ in answers] == [200, 200], answers
    return suite, first["last-repeated"]


def _root_paths(after: str) -> list[str]:
    stamp = quote(after, safe="")
    return ["/v1/notices", "/v1/notices?users=all", f"/v1/notices?user-id={NOBODY}", "/v1/notices?user-id=0",
            "/v1/notices?users=all&types=custom", "/v1/notices?types=change-update", "/v1/notices?types=warning",
            "/v1/notices?types=bogus", "/v1/notices?types=bogus,custom", "/v1/notices?types=custom&types=warning",
            "/v1/notices?keys=root.example.com/second", "/v1/notices?users=all&keys=nobody.example.com/one,root.example.com/first",
            f"/v1/notices?after={stamp}", f"/v1/notices?users=all&after={stamp}",
            f"/v1/notices?types=custom&keys=root.example.com/first&after={stamp}",
            # refused or not held: the RPC answers
            "/v1/notices?after=yesterday", "/v1/notices?users=some", "/v1/notices?users=all&user-id=0",
            "/v1/notices?user-id=abc", "/v1/notices?user-id=1&user-id=2", "/v1/notices?user-id=-1",
            "/v1/notices?timeout=1ms", "/v1/notices?timeout=bogus", "/v1/notices?types=bogus&after=yesterday"]


NOBODY_PATHS = ["/v1/notices", "/v1/notices?types=custom", "/v1/notices?keys=nobody.example.com/two",
                "/v1/notices?users=all", "/v1/notices?user-id=0", f"/v1/notices?user-id={NOBODY}",
                "/v1/notices?after=nope"]


def test_notices_from_the_view_are_the_rpc_notices_for_each_caller(noticed):
    suite, after = noticed
    rpc = Worker(suite, "notices-rpc-gateway", views=False)
    try:
        wait_for(lambda: view_live(suite))
        for path in _root_paths(after):
            viewed, asked = suite.unix("GET", path), rpc.unix("GET", path)
            assert (viewed.status, viewed.body) == (asked.status, asked.body), path
            assert viewed.headers["Content-Type"] == asked.headers["Content-Type"], path
        assert _keys(suite.unix("GET", "/v1/notices?types=custom")) == [
            "root.example.com/second", "root.example.com/first"]
        if os.getuid() == 0:
            calls = [[str(socket), "GET", path, None] for path in NOBODY_PATHS
                     for socket in (suite.socket, rpc.socket)]
            answers = as_uid(NOBODY, calls)
            for n, path in enumerate(NOBODY_PATHS):
                assert answers[2 * n] == answers[2 * n + 1], path
            mine = json.loads(answers[2 * NOBODY_PATHS.index("/v1/notices?types=custom")][1])["result"]
            assert [n["key"] for n in mine] == ["nobody.example.com/one", "nobody.example.com/two"]
            assert {n["user-id"] for n in mine} == {NOBODY}
    finally:
        rpc.stop()


@needs_root
def test_the_view_answers_each_caller_while_the_plan_service_is_paused(noticed):
    suite, after = noticed
    wait_for(lambda: view_live(suite))
    root_paths = _root_paths(after)[:15]  # those the view holds
    nobody_paths = NOBODY_PATHS[:3]
    before = {path: suite.unix("GET", path) for path in root_paths}
    theirs = as_uid(NOBODY, [[str(suite.socket), "GET", path, None] for path in nobody_paths])
    assert {n["user-id"] for n in before["/v1/notices?users=all"].json()["result"]} >= {0, NOBODY}
    pid = suite.pid("plan")
    os.kill(pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        for path, answer in before.items():
            paused = suite.unix("GET", path, timeout=3)
            assert (paused.status, paused.body) == (answer.status, answer.body), path
        assert as_uid(NOBODY, [[str(suite.socket), "GET", path, None] for path in nobody_paths]) == theirs
        assert time.monotonic() - started < 5
    finally:
        os.kill(pid, signal.SIGCONT)


def test_a_posted_notice_is_seen_through_another_worker(suite):
    other = Worker(suite, "notices-second-gateway")
    try:
        wait_for(lambda: view_live(suite))
        for round_ in range(8):
            writer, reader = (suite.unix, other.unix) if round_ % 2 == 0 else (other.unix, suite.unix)
            key = f"ryw.example.com/n{round_}"
            notice = _notice(writer, key, {"round": str(round_)})
            assert key in _keys(reader("GET", "/v1/notices"))
            assert _keys(reader("GET", f"/v1/notices?keys={key}")) == [key]
            again = _notice(writer, key, {"round": f"{round_}-again"})  # a new occurrence, the same notice
            assert again == notice
            seen = reader("GET", f"/v1/notices?keys={key}").json()["result"]
            assert [(n["occurrences"], n["last-data"]) for n in seen] == [(2, {"round": f"{round_}-again"})]
    finally:
        other.stop()


def test_notices_read_follow_writes_across_shoal_run_workers(workers_suite):
    """A stopped worker's view has not seen the notice the other posted:
    once it runs again, its first read waits for the revision the post made."""
    wait_for(lambda: view_live(workers_suite))
    for round_ in range(4):
        writer = round_ % 2
        key = f"workers.example.com/n{round_}"
        with only(workers_suite, writer):
            _notice(workers_suite.unix, key)
        with only(workers_suite, 1 - writer):
            assert _keys(workers_suite.unix("GET", f"/v1/notices?keys={key}")) == [key]


@pytest.fixture(scope="module")
def workers_suite(tmp_path_factory):
    yield from two_worker_suite(tmp_path_factory, "notice-workers")


def test_a_killed_plan_service_fails_notices_fast_then_answers_fresh(fresh_suite):
    suite = fresh_suite
    _notice(suite.unix, "kill.example.com/before")
    wait_for(lambda: view_live(suite))
    assert "kill.example.com/before" in _keys(suite.unix("GET", "/v1/notices"))

    def post_after_restart() -> float:
        # A notice posted after the restart is in every answer after it was posted.
        _notice(suite.unix, "kill.example.com/after")
        return time.monotonic()

    answers, posted = reads_while_the_plan_service_is_killed(
        suite, "/v1/notices?types=custom", lambda answer: [n["key"] for n in answer.json()["result"]],
        post_after_restart)
    ok = [keys for _, _, status, keys in answers if status == 200]
    assert all("kill.example.com/before" in keys for keys in ok), "a stored notice was missing"
    after = [keys for started, _, status, keys in answers if status == 200 and started > posted]
    assert after, "no answer after the notice was posted"
    assert all("kill.example.com/after" in keys for keys in after), "an answer after the post did not show it"
