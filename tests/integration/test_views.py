"""The gateway's views against the real suite: view-served reads answer the
RPC's bytes, keep answering with no RPC (the plan service paused), read
your writes across two gateway workers sharing SHOAL_HOME (each with its own
views), and fall back to the RPC, fail fast and never answer stale when the
plan service is killed under load; only a service identity may watch."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time

import grpc
import pytest

from services.common import signing
from shoal.v1 import plan_pb2, plan_pb2_grpc
from tests.integration.test_gateway_workers import only
from tests.support import ROOT, Suite, UnixHTTPConnection, free_port, request, wait_for

GATEWAY = ("import asyncio, sys; from gateway.main import run_gateway; from services.common.config import load_settings; "
           "asyncio.run(run_gateway(load_settings(), socket_path=sys.argv[1]))")

LAYER = """services:
  one:
    override: replace
    command: sleep 1000
  two:
    override: replace
    command: sleep 1000
checks:
  alive-check:
    override: replace
    level: alive
    period: 1h
    exec:
      command: "true"
  ready-check:
    override: replace
    level: ready
    period: 1h
    exec:
      command: "true"
"""

VIEW_PATHS = ("/v1/services", "/v1/services?names=one", "/v1/services?names=two,nothing", "/v1/services?names=",
              "/v1/checks", "/v1/checks?level=alive", "/v1/checks?level=ready&names=ready-check",
              "/v1/checks?level=bogus", "/v1/health", "/v1/health?level=ready", "/v1/health?level=alive",
              "/v1/health?names=alive-check", "/v1/health?level=nope", "/v1/system-info",
              "/v1/changes", "/v1/changes?select=all", "/v1/changes?select=ready", "/v1/changes?select=bogus",
              "/v1/changes?select=all&for=one", "/v1/changes/1", "/v1/changes/2", "/v1/changes/999")


class Worker:
    """Another gateway process on the suite's SHOAL_HOME, on its own socket."""

    def __init__(self, suite, name: str, views: bool = True):
        self.socket = suite.home / f"{name}.sock"
        env = {**suite.env, "SHOAL_GATEWAY_VIEWS": "1" if views else "0"}
        self.log = open(suite.home.parent / f"{name}.log", "ab")  # noqa: SIM115 - closed by stop()
        self.process = subprocess.Popen([sys.executable, "-c", GATEWAY, str(self.socket)], cwd=ROOT, env=env,
                                        stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(lambda: self.socket.exists() and self.unix("GET", "/v1/services").status == 200, timeout=30)

    def unix(self, method: str, path: str, body=None, timeout: float = 30):
        return request(UnixHTTPConnection(str(self.socket), timeout), method, path, body)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(20)
        self.log.close()


@pytest.fixture(scope="module")
def layered(suite):
    answer = suite.unix("POST", "/v1/layers", {"action": "add", "label": "views", "format": "yaml", "layer": LAYER,
                                                "combine": True})
    assert answer.status == 200, answer.body
    change = suite.unix("POST", "/v1/services", {"action": "start", "services": ["one"]}).json()["change"]
    assert suite.unix("GET", f"/v1/changes/{change}/wait").json()["result"]["status"] == "Done"
    return suite


def view_live(suite) -> bool:
    path = suite.home / "run" / "gateway-revision"
    return path.exists() and path.read_bytes() != bytes(8)


def test_view_answers_are_the_rpc_answers_byte_for_byte(layered):
    rpc = Worker(layered, "rpc-gateway", views=False)
    try:
        wait_for(lambda: view_live(layered))
        for path in VIEW_PATHS:
            viewed, asked = layered.unix("GET", path), rpc.unix("GET", path)
            assert (viewed.status, viewed.body) == (asked.status, asked.body), path
            assert viewed.headers["Content-Type"] == asked.headers["Content-Type"], path
    finally:
        rpc.stop()


def test_view_routes_answer_with_no_rpc_while_the_plan_service_is_paused(layered):
    wait_for(lambda: view_live(layered))
    before = {path: layered.unix("GET", path) for path in ("/v1/services", "/v1/checks", "/v1/health",
                                                            "/v1/system-info", "/v1/changes?select=all",
                                                            "/v1/changes", "/v1/changes/1")}
    pid = layered.pid("plan")
    os.kill(pid, signal.SIGSTOP)
    try:
        for path, answer in before.items():
            started = time.monotonic()
            paused = layered.unix("GET", path, timeout=3)
            assert (paused.status, paused.body) == (answer.status, answer.body), path
            assert time.monotonic() - started < 1
    finally:
        os.kill(pid, signal.SIGCONT)


def _current(answer, name: str) -> str:
    return next(s["current"] for s in answer.json()["result"] if s["name"] == name)


def test_reads_follow_writes_made_through_another_worker(layered):
    other = Worker(layered, "second-gateway")
    try:
        wait_for(lambda: view_live(layered))
        for round_ in range(8):
            writer, reader = (layered.unix, other.unix) if round_ % 2 == 0 else (other.unix, layered.unix)
            name = f"added-{round_}"
            layer = f"services:\n  {name}:\n    override: replace\n    command: sleep 1000\n"
            assert writer("POST", "/v1/layers", {"action": "add", "label": f"ryw-{round_}", "format": "yaml",
                                                  "layer": layer}).status == 200
            assert name in [s["name"] for s in reader("GET", "/v1/services").json()["result"]]
            for action, state in (("start", "active"), ("stop", "inactive")):
                change = writer("POST", "/v1/services", {"action": action, "services": [name]}).json()["change"]
                seen = reader("GET", f"/v1/changes/{change}")
                assert seen.status == 200 and seen.json()["result"]["kind"] == action
                assert change in [c["id"] for c in reader("GET", "/v1/changes?select=all").json()["result"]]
                assert writer("GET", f"/v1/changes/{change}/wait").json()["result"]["status"] == "Done"
                assert _current(reader("GET", f"/v1/services?names={name}"), name) == state
                assert _current(reader("GET", "/v1/services"), name) == state
    finally:
        other.stop()


def reads_while_the_plan_service_is_killed(suite, path: str, read, once_back):
    """GET `path` from 3 threads (bounded in count and time) while the plan
    service is killed and restarted by the suite; `once_back()`, called when
    an answer only the RPC gives comes from the new plan service, returns the
    moment that later answers are judged from. Asserts that every request was
    answered 200 or 502, none hung, and the service was seen down; returns
    the answers as (started, took, status, read(answer) or None) and that
    moment."""
    answers: list = []
    stop = threading.Event()
    deadline = time.monotonic() + 40

    def load() -> None:
        for _ in range(5000):  # bounded in count and in time
            if stop.is_set() or time.monotonic() > deadline:
                return
            started = time.monotonic()
            try:
                answer = suite.unix("GET", path, timeout=10)
            except OSError:
                answers.append((started, time.monotonic() - started, 0, None))
                continue
            answers.append((started, time.monotonic() - started, answer.status,
                            read(answer) if answer.status == 200 else None))

    threads = [threading.Thread(target=load) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.3)
        os.kill(suite.pid("plan"), signal.SIGKILL)
        # Back: an answer only the RPC gives (the plan's YAML) comes from the new plan service.
        wait_for(lambda: suite.unix("GET", "/v1/plan?format=yaml", timeout=5).status == 200, timeout=30, every=0.05)
        mark = once_back()
        time.sleep(1)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert answers, "no load ran"
    assert {status for _, _, status, _ in answers} <= {200, 502}, {status for _, _, status, _ in answers}
    assert max(took for _, took, _, _ in answers) < 3, "a request hung while the plan service was down"
    assert any(status == 502 for _, _, status, _ in answers), "the plan service was never seen down"
    return answers, mark


def test_a_killed_plan_service_fails_fast_then_answers_fresh(fresh_suite):
    suite = fresh_suite
    layer = "services:\n  web:\n    override: replace\n    command: sleep 1000\n"
    assert suite.unix("POST", "/v1/layers", {"action": "add", "label": "web", "format": "yaml",
                                             "layer": layer}).status == 200
    change = suite.unix("POST", "/v1/services", {"action": "start", "services": ["web"]}).json()["change"]
    assert suite.unix("GET", f"/v1/changes/{change}/wait").json()["result"]["status"] == "Done"
    wait_for(lambda: view_live(suite))
    old = suite.unix("GET", "/v1/services").json()["result"][0]
    assert old["current"] == "active"

    answers, back = reads_while_the_plan_service_is_killed(
        suite, "/v1/services", lambda answer: answer.json()["result"][0], time.monotonic)
    after = [info for started, _, status, info in answers if status == 200 and started > back]
    assert after, "no answer after the plan service was back"
    # Its processes were reaped: web is inactive now; nothing after shows the old state.
    assert all(info["current"] == "inactive" for info in after), after
    first_new = min(started + took for started, took, status, info in answers
                    if status == 200 and info["current"] == "inactive")
    stale = [info for started, _, status, info in answers
             if status == 200 and started > first_new and info["current"] != "inactive"]
    assert not stale, "an answer showed the old state after one had shown the new"


def test_only_a_service_identity_may_watch(suite):
    async def watch(caller):
        async with grpc.aio.insecure_channel(suite.grpc_address("plan")) as channel:
            stream = plan_pb2_grpc.PlanStub(channel).Watch(
                plan_pb2.WatchRequest(), metadata=signing.sign(suite.secret(), caller, ttl=60), timeout=5)
            try:
                return (await anext(stream.__aiter__())).snapshot
            except grpc.aio.AioRpcError as error:
                return error.code()
            finally:
                stream.cancel()

    assert asyncio.run(watch(signing.Caller("someone", "admin"))) == grpc.StatusCode.PERMISSION_DENIED
    assert asyncio.run(watch(signing.service_caller("gateway"))) is True


def two_worker_suite(tmp_path_factory, name: str):
    """A suite run with `--gateway-workers 2` on a home of its own; a worker a
    test stopped (SIGSTOP) is resumed before the suite stops."""
    home = tmp_path_factory.mktemp(name) / "home"
    home.mkdir()
    started = Suite(home=home, http_port=free_port(), https_port=free_port(), gateway_workers=2).start()
    yield started
    for pid in started.gateway_pids():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
    started.stop()


@pytest.fixture(scope="module")
def workers(tmp_path_factory):
    yield from two_worker_suite(tmp_path_factory, "view-workers")


def test_reads_follow_writes_across_shoal_run_gateway_workers(workers):
    """A stopped worker's view has not seen what the other did: once it runs
    again, its first read waits for the revision the write made."""
    wait_for(lambda: view_live(workers))
    for round_ in range(6):
        writer = round_ % 2
        name = f"w-{round_}"
        layer = f"services:\n  {name}:\n    override: replace\n    command: sleep 1000\n"
        with only(workers, writer):
            assert workers.unix("POST", "/v1/layers", {"action": "add", "label": name, "format": "yaml",
                                                       "layer": layer}).status == 200
            change = workers.unix("POST", "/v1/services", {"action": "start", "services": [name]}).json()["change"]
            assert workers.unix("GET", f"/v1/changes/{change}/wait").json()["result"]["status"] == "Done"
        with only(workers, 1 - writer):
            assert _current(workers.unix("GET", "/v1/services"), name) == "active"
            assert workers.unix("GET", f"/v1/changes/{change}").json()["result"]["status"] == "Done"
