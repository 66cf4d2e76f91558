"""Start, stop and weight of the whole suite (`shoal run`, default configuration):

- start → the first answered `GET /v1/services` (goal ≤ 0.8 s), and → the
  supervisor's "suite ready" (every child said it serves), best and median
  of RUNS starts; the CPU seconds all processes spent until then (a figure
  that does not depend on what else the machine runs);
- stop when idle: SIGTERM → `shoal run` has exited (goal ≤ 0.5 s);
- idle RSS of each process a few seconds after start, and their sum (goals:
  supervisor ≤ 20 MB, plan ≤ 45 MB, whole suite ≤ 250 MB);
- `GET /v1/services` through N gateway workers ÷ through one (wrk, HTTPS,
  32 connections, an API token).
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.suite import ROOT, rss_mb, running_suite

sys.path.insert(0, str(ROOT / "tests"))
from support import UnixHTTPConnection, request

RUNS = 5
IDLE_SECONDS = 3
PROCESSES = ["identity", "plan", "beacon", "application", "gateway"]
LOAD_SECONDS = 8
_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime


def _one_start(measure_rss: bool) -> dict:
    with tempfile.TemporaryDirectory(prefix="shoal-bench-start-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        log_path = Path(tmp) / "run.log"
        env = {**os.environ, "SHOAL_HOME": str(home)}
        with open(log_path, "wb") as log:
            started = time.perf_counter()
            process = subprocess.Popen([sys.executable, "-m", "shoal.cli.main", "run"], cwd=ROOT, env=env,
                                       stdout=log, stderr=subprocess.STDOUT)
            try:
                first = _first_answer(home / ".shoal.socket", started, process)
                ready = _suite_ready(log_path, started)
                pids = {name: int((home / "run" / f"{name}.pid").read_text()) for name in PROCESSES}
                cpu = sum(_cpu_seconds(pid) for pid in pids.values()) + _cpu_seconds(process.pid)
                rss = {}
                if measure_rss:
                    time.sleep(IDLE_SECONDS)
                    rss = {"supervisor": rss_mb(process.pid), **{n: rss_mb(p) for n, p in pids.items()}}
                stopping = time.perf_counter()
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)
                stop = time.perf_counter() - stopping
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()
    return {"first": first, "ready": ready, "cpu": cpu, "stop": stop, "rss": rss}


def _first_answer(socket_path: Path, started: float, process: subprocess.Popen) -> float:
    while time.perf_counter() - started < 60:
        if process.poll() is not None:
            raise RuntimeError(f"shoal run exited with {process.returncode}")
        try:
            if request(UnixHTTPConnection(str(socket_path), 5), "GET", "/v1/services").status == 200:
                return time.perf_counter() - started
        except OSError:
            pass
        time.sleep(0.005)
    raise TimeoutError("no answer to /v1/services within 60 s")


def _suite_ready(log_path: Path, started: float) -> float:
    """The supervisor's own "suite ready in X s" (measured from its start)."""
    deadline = time.perf_counter() + 60
    while time.perf_counter() < deadline:
        found = re.search(rb"suite ready in ([0-9.]+)s", log_path.read_bytes())
        if found:
            return float(found.group(1))
        time.sleep(0.01)
    raise TimeoutError("the supervisor never said the suite is ready")


def _workers_ratio(workers: int) -> tuple[float, float]:
    from bench.load import run_wrk, wrk_available

    if not wrk_available():
        return float("nan"), float("nan")
    rates = []
    for count in (1, workers):
        with running_suite(gateway_workers=count) as suite:
            answer = suite.unix("POST", "/api/security/tokens", '{"name": "bench"}',
                                {"Content-Type": "application/json"})
            token = answer.json()["token"]
            url = f"https://127.0.0.1:{suite.https_port}/v1/services"
            rates.append(run_wrk(url, {"X-API-Token": token}, seconds=LOAD_SECONDS).requests_per_second)
    return rates[0], rates[1]


def _run() -> dict:
    runs = [_one_start(measure_rss=(n == RUNS - 1)) for n in range(RUNS)]
    firsts = [r["first"] for r in runs]
    readies = [r["ready"] for r in runs]
    rss = runs[-1]["rss"]
    total = sum(rss.values())
    workers = max(2, len(os.sched_getaffinity(0)))
    one, many = _workers_ratio(workers)
    rows = [
        ("start → first /v1/services, best (s)", f"{min(firsts):.2f}", "goal ≤ 0.8"),
        ("start → first /v1/services, median (s)", f"{statistics.median(firsts):.2f}", ""),
        ("start → suite ready, median (s)", f"{statistics.median(readies):.2f}", ""),
        ("CPU spent by all processes until then, median (s)", f"{statistics.median(r['cpu'] for r in runs):.2f}", ""),
        ("stop when idle, median (s)", f"{statistics.median(r['stop'] for r in runs):.2f}", "goal ≤ 0.5"),
    ]
    goals = {"supervisor": "goal ≤ 20", "plan": "goal ≤ 45"}
    rows += [(f"idle RSS {name} (MB)", f"{mb:.1f}", goals.get(name, "")) for name, mb in rss.items()]
    rows.append(("idle RSS, whole suite (MB)", f"{total:.1f}", "goal ≤ 250"))
    rows += [
        ("GET /v1/services, one gateway worker (req/s)", f"{one:.0f}", ""),
        (f"GET /v1/services, {workers} gateway workers (req/s)", f"{many:.0f}", ""),
        (f"{workers} workers ÷ one", f"{many / one:.2f}" if one else "nan", ""),
    ]
    return {"title": "start, stop, idle memory, gateway workers", "rows": rows,
            "first_seconds": min(firsts), "stop_seconds": statistics.median(r["stop"] for r in runs),
            "rss_mb": rss, "workers_ratio": many / one if one else None}


async def main() -> dict:
    return await asyncio.to_thread(_run)


if __name__ == "__main__":
    figures = asyncio.run(main())
    for label, value, goal in figures["rows"]:
        print(f"{label:<55} {value:>8}   {goal}")
