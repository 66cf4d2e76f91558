"""Deploy fan-out: time to deploy one application to 20 instances ÷ to 1.

The suite plus 20 plan agents on loopback (each its own SHOAL_HOME and
beacon token), registered as beacons. A deployment is the full action a
user waits for: push the layer to every instance, then restart the service
there and wait for each change (Pebble's 1 s "okay" delay included), read to
the stream's `Finalized`. Instances are reached concurrently, so the goal is
a ratio ≤ 3. Each figure is the median of ROUNDS updates with a new Command.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

from bench.suite import call, running_suite
from tests.agents import Agent, start_agents

FAN_OUT = 20
ROUNDS = 3


def _command(round_: int) -> dict:
    return {"command": "sleep 1000", "environment": {"ROUND": str(round_)}}


def _deploy(suite, method: str, path: str, body: dict) -> float:
    started = time.perf_counter()
    answer = suite.unix(method, path, json.dumps(body), {"Content-Type": "application/json"}, timeout=300)
    elapsed = time.perf_counter() - started
    events = [json.loads(line) for line in answer.body.splitlines()]
    if answer.status != 200 or not events or events[-1]["Status"] != "Finalized":
        raise RuntimeError(f"{path}: {answer.status} {answer.body[:300]!r}")
    errors = [e for e in events if e["Status"] == "Error"]
    if errors:
        raise RuntimeError(f"{path}: {errors[0]['Instance']}: {errors[0]['Message']}")
    return elapsed


def _measure(suite, name: str, instances: list[Agent]) -> float:
    times = [_deploy(suite, "POST", "/api/v0.2/applications/create?start=true",
                     {"Name": name, "Command": _command(0), "Instances": [a.address for a in instances]})]
    for round_ in range(1, ROUNDS):
        times.append(_deploy(suite, "PUT", f"/api/v0.2/applications/update/{name}?restart=true",
                             {"Command": _command(round_)}))
    return statistics.median(times)


def _run() -> dict:
    with running_suite() as suite, tempfile.TemporaryDirectory(prefix="shoal-fanout-") as tmp:
        agents = start_agents(Path(tmp), FAN_OUT)
        try:
            for n, agent in enumerate(agents):
                call(suite, "POST", "/api/v0.2/beacons/create",
                     {"Address": agent.address, "Token": agent.token, "Alias": f"bench{n}"})
            one = _measure(suite, "fanout-one", agents[:1])
            many = _measure(suite, "fanout-many", agents)
        finally:
            for agent in agents:
                agent.stop()
    ratio = many / one
    return {
        "title": "application deploy fan-out",
        "rows": [
            ("deploy to 1 instance, median (s)", f"{one:.2f}", ""),
            (f"deploy to {FAN_OUT} instances, median (s)", f"{many:.2f}", ""),
            (f"{FAN_OUT} instances ÷ 1 instance", f"{ratio:.2f}", "goal ≤ 3"),
        ],
        "one_seconds": one,
        "many_seconds": many,
        "ratio": ratio,
    }


async def main() -> dict:
    return await asyncio.to_thread(_run)


if __name__ == "__main__":
    figures = asyncio.run(main())
    for label, value, goal in figures["rows"]:
        print(f"{label:<45} {value:>8}   {goal}")
