"""`make soak`: saturating load on the read path (token `GET /v1/services`
over HTTPS with wrk, SOAK_SECONDS, default 60) against a fresh suite.

Verdict: zero errors and non-2xx answers; each process's RSS before, after
and its growth; open file descriptors per process before and after (after
the load stops and connections close, the count must be back where it
started — no descriptor leaked)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = ("gateway", "identity", "plan", "beacon", "application")
FD_SLACK = 4  # descriptors a process may legitimately hold open afterwards (pool growth, logs)


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def snapshot(suite) -> dict[str, tuple[float, int]]:
    from bench.suite import rss_mb

    return {name: (rss_mb(suite.pid(name)), fds(suite.pid(name))) for name in PROCESSES}


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from bench.load import run_wrk, wrk_available
    from bench.suite import call, running_suite

    if not wrk_available():
        print("wrk is not installed (apt-get install wrk)")
        return 2
    seconds = int(os.environ.get("SOAK_SECONDS", "60"))
    with running_suite() as suite:
        token = call(suite, "POST", "/api/security/tokens", {"name": "soak"})["token"]
        url = f"https://127.0.0.1:{suite.https_port}/v1/services"
        run_wrk(url, {"X-API-Token": token}, seconds=2)  # warm up: pools and caches fill
        time.sleep(1)
        before = snapshot(suite)
        result = run_wrk(url, {"X-API-Token": token}, seconds=seconds, connections=64)
        time.sleep(2)  # connections close
        after = snapshot(suite)
    problems = []
    print(f"soak: {seconds}s, {result.requests_per_second:.0f} req/s, latency {result.latency_ms}")
    print(f"errors {result.errors}, non-2xx {result.non_2xx}")
    if result.errors or result.non_2xx:
        problems.append(f"{result.errors} errors and {result.non_2xx} non-2xx answers")
    print(f"{'process':<12}{'RSS before':>12}{'RSS after':>12}{'growth':>9}{'fds before':>12}{'fds after':>11}")
    for name in PROCESSES:
        (rss0, fd0), (rss1, fd1) = before[name], after[name]
        print(f"{name:<12}{rss0:>10.1f}MB{rss1:>10.1f}MB{rss1 - rss0:>+7.1f}MB{fd0:>12}{fd1:>11}")
        if fd1 > fd0 + FD_SLACK:
            problems.append(f"{name}: {fd1 - fd0} more file descriptors after the load")
    print("verdict:", "PASS" if not problems else "FAIL")
    for problem in problems:
        print("  -", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
