"""Faults under load: a real `shoal run` suite takes steady mixed traffic —
reads, layer adds, service start/stop, token and user writes, application
updates — while each service process in turn, and the gateway once, is
killed with SIGKILL; `shoal run` brings each back.

Every request must either succeed or fail fast with a clear status (none
hangs past its deadline), and afterwards every acknowledged write must be
in the stores exactly once.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import signal
import threading
import time
from dataclasses import dataclass, field

from tests.agents import Agent
from tests.support import Suite

DEADLINE = 15.0  # the longest a request may take, failing or not
KILL_ORDER = ("identity", "plan", "beacon", "application", "gateway")
FAST_FAILURES = {502, 503, 504}
# An application action cut off by a kill holds the application's lease until
# it lapses (application store: LEASE_SECONDS); meanwhile the next action is
# told so with 409 — a clear refusal, not a lost write.
CLEAR_REFUSALS = {"update": {409}}


@dataclass
class Traffic:
    kind: str
    acknowledged: list[str] = field(default_factory=list)
    refused: dict[int, int] = field(default_factory=dict)  # status → count (0: connection failed)
    slowest: float = 0.0
    error: BaseException | None = None


class Client(threading.Thread):
    def __init__(self, suite: Suite, kind: str, stop: threading.Event, app_id: str):
        super().__init__(daemon=True)
        self.suite, self.stop_event, self.app_id = suite, stop, app_id
        self.traffic = Traffic(kind)

    def run(self):
        try:
            for n in itertools.count():
                if self.stop_event.is_set():
                    return
                self.once(n)
        except BaseException as error:  # noqa: BLE001 - reported by the run, not lost in the thread
            self.traffic.error = error

    def once(self, n: int) -> None:
        kind, name = self.traffic.kind, f"{self.traffic.kind}-{n}"
        started = time.monotonic()
        try:
            status, ok = self.request(kind, name, n)
        except (OSError, http.client.HTTPException):
            status, ok = 0, False
        self.traffic.slowest = max(self.traffic.slowest, time.monotonic() - started)
        if ok:
            if kind in WRITES:
                self.traffic.acknowledged.append(name)
        else:
            self.traffic.refused[status] = self.traffic.refused.get(status, 0) + 1
            time.sleep(0.05)

    def request(self, kind: str, name: str, n: int) -> tuple[int, bool]:
        call = lambda method, path, body=None: self.suite.unix(method, path, body, timeout=DEADLINE)
        if kind == "read":
            answer = call("GET", "/v1/services")
            return answer.status, answer.status == 200
        if kind == "layer":
            layer = f"services:\n  {name}:\n    override: replace\n    command: sleep 1000\n"
            answer = call("POST", "/v1/layers", {"action": "add", "label": name, "format": "yaml",
                                                 "layer": layer})
            return answer.status, answer.status == 200
        if kind == "service":
            answer = call("POST", "/v1/services", {"action": "start" if n % 2 == 0 else "stop",
                                                   "services": ["layer-0"]})
            return answer.status, answer.status in (200, 202, 400)  # 400: layer-0 not there yet
        if kind == "token":
            answer = call("POST", "/api/security/tokens", {"name": name})
            return answer.status, answer.status == 200
        if kind == "user":
            answer = call("POST", "/api/v0.2/users/create", {"Email": f"{name}@example.com", "Password": "pw"})
            return answer.status, answer.status == 200
        if kind == "update":
            answer = call("PUT", f"/api/v0.2/applications/update/{self.app_id}",
                          {"Command": {"command": "sleep 1000", "environment": {"UPDATE": name}}})
            if answer.status != 200:
                return answer.status, False
            lines = [json.loads(line) for line in answer.body.splitlines()]
            ok = bool(lines) and lines[-1].get("Status") == "Finalized" and not any(
                line.get("Status") == "Error" for line in lines)
            return answer.status, ok
        raise ValueError(kind)


WRITES = ("layer", "token", "user", "update")
KINDS = ("read", "layer", "service", "token", "user", "update")


def kill(suite: Suite, name: str) -> None:
    pid = suite.pid(name)
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # `shoal run` starts a new one
        try:
            if suite.pid(name) != pid and suite.unix("GET", "/v1/system-info", timeout=2).status == 200:
                return
        except (OSError, ValueError, http.client.HTTPException):
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{name} did not come back after SIGKILL")


def stored(suite: Suite) -> dict[str, list[str]]:
    plan = suite.unix("GET", "/v1/plan?format=yaml").json()["result"]
    import yaml

    services = list((yaml.safe_load(plan) or {}).get("services", {}))
    tokens = [t["name"] for t in suite.unix("GET", "/api/security/tokens").json()["tokens"]]
    users = [u.removesuffix("@example.com") for u in suite.unix("GET", "/api/v0.2/users/list").json()]
    app = suite.unix("GET", "/api/v0.2/applications/list").json()[0]
    history = suite.unix("GET", f"/api/v0.2/applications/list/{app['Id']}").json()
    updates = [d["Command"].get("environment", {}).get("UPDATE", "") for d in history]
    return {"layer": services, "token": tokens, "user": users, "update": updates}


def run_chaos(suite: Suite, agent: Agent, settle: float = 1.0) -> dict:
    """Load, kill each process in turn, check; a report of what happened."""
    answer = suite.unix("POST", "/api/v0.2/beacons/create",
                        {"Address": agent.address, "Token": agent.token, "Alias": "chaos"})
    assert answer.status == 200, answer.body
    answer = suite.unix("POST", "/api/v0.2/applications/create",
                        {"Name": "chaos", "Command": {"command": "sleep 1000"}, "Instances": [agent.address]})
    assert answer.status == 200, answer.body
    app_id = str(suite.unix("GET", "/api/v0.2/applications/list").json()[0]["Id"])
    stop = threading.Event()
    clients = [Client(suite, kind, stop, app_id) for kind in KINDS]
    for client in clients:
        client.start()
    time.sleep(settle)
    for name in KILL_ORDER:
        kill(suite, name)
        time.sleep(settle)
    stop.set()
    for client in clients:
        client.join(DEADLINE * 2)
    problems = []
    for client in clients:
        t = client.traffic
        if client.is_alive():
            problems.append(f"{t.kind}: a request hung")
        if t.error is not None:
            problems.append(f"{t.kind}: client crashed: {t.error!r}")
        if t.slowest > DEADLINE:
            problems.append(f"{t.kind}: a request took {t.slowest:.1f}s")
        # 0: the connection failed at once (the gateway was down); 200: a
        # STREAM that reported an instance's error in its lines.
        expected = (0, 200, *FAST_FAILURES, *CLEAR_REFUSALS.get(t.kind, ()))
        unclear = {s: c for s, c in t.refused.items() if s not in expected}
        if t.kind != "service" and unclear:
            problems.append(f"{t.kind}: refused with {unclear}")
        if t.kind in WRITES and not t.acknowledged:
            problems.append(f"{t.kind}: nothing was acknowledged")
    have = stored(suite)
    for client in clients:
        t = client.traffic
        for name in t.acknowledged:
            count = have[t.kind].count(name)
            if count != 1:
                problems.append(f"{t.kind} {name}: stored {count} times")
    return {
        "traffic": {c.traffic.kind: {"acknowledged": len(c.traffic.acknowledged), "refused": c.traffic.refused,
                                     "slowest_s": round(c.traffic.slowest, 2)} for c in clients},
        "problems": problems,
    }
