"""Rolling update over 10 instances: the time per batch, and the time a
failed rollout takes to roll back.

The suite plus 10 plan agents on loopback, registered as beacons; the
application has a ready check (exec, every 0.5 s, down after 3 failures). A rolling update with
batches of 2 (5 batches) is timed from the stream: a batch runs from its
"pushing" line to the next batch's (or `Finalized`), and each includes the
restart (Pebble's 1 s "okay" delay) and the wait for a success of the check
after it. Then a version whose check fails on the last instance: the time
to roll back runs from the failed batch's last line to `Finalized` (push
the previous deployment to the 10 updated instances, restart them).
Bounded: two updates, one stream each, a 120 s deadline per instance.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.suite import call, running_suite
from tests.agents import start_agents
from tests.support import UnixHTTPConnection

INSTANCES = 10
BATCH = 2
APP = "rolling-bench"
CHECK = "import os, sys; sys.exit(os.path.exists(os.path.join(os.environ['SHOAL_HOME'], 'poison')))"


def _command(round_: int) -> dict:
    return {
        "command": "sleep 1000",
        "environment": {"ROUND": str(round_)},
        "checks": {f"{APP}.ready": {"level": "ready", "period": "0.5s", "threshold": 3,
                                    "exec": {"command": f"{shlex.quote(sys.executable)} -c {shlex.quote(CHECK)}"}}},
    }


def _timed_stream(suite, path: str, body: dict) -> list[tuple[float, dict]]:
    """The stream's lines, each with the seconds since the request was sent."""
    conn = UnixHTTPConnection(suite.socket, 300)
    started = time.perf_counter()
    try:
        conn.request("PUT", path, json.dumps(body), {"Content-Type": "application/json"})
        response = conn.getresponse()
        if response.status != 200:
            raise RuntimeError(f"{path}: {response.status} {response.read()[:300]!r}")
        out = [(time.perf_counter() - started, json.loads(line)) for line in response if line.strip()]
    finally:
        conn.close()
    if not out or out[-1][1]["Status"] != "Finalized":
        raise RuntimeError(f"{path}: the stream did not finish")
    return out


def _starts(lines: list[tuple[float, dict]], prefix: str, holding: str = "") -> list[float]:
    """When each step whose description starts with `prefix` (and holds `holding`) began."""
    return [t for t, line in lines
            if line["Status"] == "Starting" and line["Message"].startswith(prefix) and holding in line["Message"]]


def _run() -> dict:
    with running_suite() as suite, tempfile.TemporaryDirectory(prefix="shoal-rolling-") as tmp:
        agents = start_agents(Path(tmp), INSTANCES)
        try:
            for n, agent in enumerate(agents):
                call(suite, "POST", "/api/v0.2/beacons/create",
                     {"Address": agent.address, "Token": agent.token, "Alias": f"roll{n}"})
            answer = suite.unix("POST", "/api/v0.2/applications/create?start=true",
                                json.dumps({"Name": APP, "Command": _command(0),
                                            "Instances": [a.address for a in agents]}),
                                {"Content-Type": "application/json"}, timeout=300)
            if answer.status != 200:
                raise RuntimeError(f"create: {answer.status} {answer.body[:300]!r}")
            query = f"strategy=rolling&batch={BATCH}&deadline=120s"
            good = _timed_stream(suite, f"/api/v0.2/applications/update/{APP}?{query}", {"Command": _command(1)})
            if any(line["Status"] == "Error" for _, line in good):
                raise RuntimeError("the good rolling update failed")
            marks = [*_starts(good, "Batch ", "pushing deployment"), good[-1][0]]
            per_batch = [b - a for a, b in itertools.pairwise(marks)]

            (agents[-1].home / "poison").write_text("")
            bad = _timed_stream(suite, f"/api/v0.2/applications/update/{APP}?{query}", {"Command": _command(2)})
            rollback_starts = _starts(bad, "Rolling back")
            if not rollback_starts:
                raise RuntimeError("the failing rolling update did not roll back")
            failed_at = max(t for t, line in bad if t < rollback_starts[0])
            rollback = bad[-1][0] - failed_at
        finally:
            for agent in agents:
                agent.stop()
    return {
        "title": f"rolling update over {INSTANCES} instances",
        "rows": [
            (f"batches of {BATCH}: time per batch, median (s)", f"{statistics.median(per_batch):.2f}", ""),
            ("time per batch, slowest (s)", f"{max(per_batch):.2f}", ""),
            (f"whole rolling update, {len(per_batch)} batches (s)", f"{good[-1][0]:.2f}", ""),
            (f"roll back {INSTANCES} instances after the last batch failed (s)", f"{rollback:.2f}", ""),
        ],
        "per_batch_seconds": per_batch,
        "rollback_seconds": rollback,
    }


async def main() -> dict:
    return await asyncio.to_thread(_run)


if __name__ == "__main__":
    figures = asyncio.run(main())
    for label, value, goal in figures["rows"]:
        print(f"{label:<58} {value:>8}   {goal}")
