"""Plan service at scale: start 200 services in one change.

One layer defines SERVICES independent services (`sleep`); one
`POST /v1/services {action: start}` starts them all and the clock stops when
the change is Done — each start includes Pebble's one-second "okay" wait,
and independent services start concurrently. Then the plan service's RSS
with all of them supervised (their output buffers included). Goals: ≤ 1.5 s
and ≤ 80 MB.
"""

from __future__ import annotations

import asyncio
import time

import yaml

from bench.suite import call, rss_mb, running_suite

SERVICES = 200


def _run() -> dict:
    with running_suite() as suite:
        names = [f"bench-{n:03d}" for n in range(SERVICES)]
        layer = {"services": {name: {"override": "replace", "command": "sleep 1000"} for name in names}}
        call(suite, "POST", "/v1/layers", {"action": "add", "label": "bench", "format": "yaml",
                                           "layer": yaml.safe_dump(layer)})
        before = rss_mb(suite.pid("plan"))
        started = time.perf_counter()
        change = call(suite, "POST", "/v1/services", {"action": "start", "services": names})["change"]
        done = call(suite, "GET", f"/v1/changes/{change}/wait?timeout=60s")["result"]
        elapsed = time.perf_counter() - started
        if done["status"] != "Done":
            raise RuntimeError(f"start change ended {done['status']}: {done.get('err')}")
        active = sum(s["current"] == "active" for s in call(suite, "GET", "/v1/services")["result"])
        after = rss_mb(suite.pid("plan"))
        stop = call(suite, "POST", "/v1/services", {"action": "stop", "services": names})["change"]
        call(suite, "GET", f"/v1/changes/{stop}/wait?timeout=60s")
    return {
        "title": f"plan service: start {SERVICES} services in one change",
        "rows": [
            (f"start {SERVICES} services, one change (s)", f"{elapsed:.2f}", "goal ≤ 1.5"),
            ("services active afterwards", str(active), f"= {SERVICES}"),
            ("plan service RSS before (MB)", f"{before:.1f}", ""),
            (f"plan service RSS with {SERVICES} running (MB)", f"{after:.1f}", "goal ≤ 80"),
        ],
        "seconds": elapsed,
        "rss_mb": after,
    }


async def main() -> dict:
    return await asyncio.to_thread(_run)


if __name__ == "__main__":
    figures = asyncio.run(main())
    for label, value, goal in figures["rows"]:
        print(f"{label:<50} {value:>8}   {goal}")
