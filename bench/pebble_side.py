"""Shoal ÷ Pebble, side by side in one run, when PEBBLE_BIN names a Pebble
binary the user supplies (the project never ships or builds Pebble; skipped
when it is unset).

Both daemons carry the same layer (10 running `sleep` services and the 2
checks of bench/views.py) and sit behind the same kind of socat bridge (TCP
loopback → their unix socket). Measured alternately, twice each (wrk, 32
connections, bounded duration):

- `GET /v1/services`, `/v1/changes?select=all`, `/v1/checks` through the
  bridge (the caller is the socket's peer, as Pebble is measured);
- the open `GET /v1/system-info` and `/v1/health` on the plain-HTTP listener;
- idle RSS: the whole suite (`shoal run` and its 5 processes) ÷ the one
  `pebble run` process, each with the 10 services running (theirs not counted);
- start → first answered `GET /v1/services` on the socket (default options:
  `shoal run` ÷ `pebble run`), median of RUNS starts each.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import subprocess
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from bench.gateway_ratio import _wait_port
from bench.load import run_wrk, wrk_available
from bench.startup import IDLE_SECONDS, PROCESSES, _first_answer, _one_start
from bench.suite import call, free_port, rss_mb, running_suite
from bench.views import CHECKS, _layer, _pair, _process, _start
from tests.replay.targets import MARKER, PATH, kill_leftovers, pebble_bin
from tests.support import Suite, stop_process

RUNS = 3
TITLE = "Shoal ÷ Pebble (PEBBLE_BIN)"
SOCKET_PATHS = ["/v1/services", "/v1/changes?select=all", "/v1/checks"]
HTTP_PATHS = ["/v1/system-info", "/v1/health"]


@contextlib.contextmanager
def _pebble(binary: str, home: Path, http_port: int | None = None):
    """`pebble run` in its own PEBBLE directory (and `--http` when a port is given)."""
    home.mkdir(parents=True, exist_ok=True)
    marker = uuid.uuid4().hex
    env = {**os.environ, "PATH": PATH, "PEBBLE": str(home), MARKER: marker}
    env.pop("PEBBLE_SOCKET", None)
    args = [binary, "run"] + (["--http", f"127.0.0.1:{http_port}"] if http_port else [])
    started = time.perf_counter()
    process = subprocess.Popen(args, cwd=home, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield process, started
    finally:
        stop_process(process)
        kill_leftovers(marker)


def _start_seconds(binary: str) -> tuple[list[float], list[float]]:
    shoal, pebble = [], []
    for _ in range(RUNS):
        shoal.append(_one_start(measure_rss=False)["first"])
        with tempfile.TemporaryDirectory(prefix="shoal-bench-pebble-start-") as tmp, \
                _pebble(binary, Path(tmp) / "pebble") as (process, started):
            pebble.append(_first_answer(Path(tmp) / "pebble" / ".pebble.socket", started, process))
    return shoal, pebble


def _size(url: str) -> int:
    """The length of one answer's body, so the report shows both answered alike."""
    with urllib.request.urlopen(url, timeout=10) as answer:
        return len(answer.read())


def _row(label: str, shoal: float, pebble: float, unit: str, fmt: str = ".0f") -> tuple[str, str, str]:
    return (f"{label}: Shoal ÷ Pebble ({shoal:{fmt}} ÷ {pebble:{fmt}} {unit})", f"{shoal / pebble:.2f}", "")


def _run(binary: str) -> dict:
    rows: list[tuple[str, str, str]] = []
    latency: dict = {}
    errors = 0
    figures: dict = {}
    sizes: dict = {}
    ten = [f"svc-{i:03d}" for i in range(10)]
    layer = {"action": "add", "label": "bench", "format": "yaml", "layer": _layer(ten) + CHECKS, "combine": True}
    pebble_http = free_port()
    with running_suite() as suite, tempfile.TemporaryDirectory(prefix="shoal-bench-pebble-") as tmp, \
            _pebble(binary, Path(tmp) / "pebble", pebble_http) as (pebble_process, started):
        pebble_socket = Path(tmp) / "pebble" / ".pebble.socket"
        _first_answer(pebble_socket, started, pebble_process)
        _wait_port(pebble_http, 30)
        for daemon in (suite, _Socket(pebble_socket)):
            call(daemon, "POST", "/v1/layers", layer)
            _start(daemon, ten)
        time.sleep(IDLE_SECONDS)
        shoal_rss = rss_mb(suite.process.pid) + sum(rss_mb(suite.pid(name)) for name in PROCESSES)
        pebble_rss = rss_mb(pebble_process.pid)
        shoal_bridge, pebble_bridge = free_port(), free_port()
        with _process("socat", f"TCP-LISTEN:{shoal_bridge},fork,reuseaddr,bind=127.0.0.1",
                      f"UNIX-CONNECT:{suite.socket}", python=False), \
                _process("socat", f"TCP-LISTEN:{pebble_bridge},fork,reuseaddr,bind=127.0.0.1",
                         f"UNIX-CONNECT:{pebble_socket}", python=False):
            _wait_port(shoal_bridge, 30)
            _wait_port(pebble_bridge, 30)
            sides = [(f"socket via socat, GET {p}", f"http://127.0.0.1:{shoal_bridge}{p}",
                      f"http://127.0.0.1:{pebble_bridge}{p}") for p in SOCKET_PATHS]
            sides += [(f"plain HTTP, GET {p}", f"http://127.0.0.1:{suite.http_port}{p}",
                       f"http://127.0.0.1:{pebble_http}{p}") for p in HTTP_PATHS]
            for label, shoal_url, pebble_url in sides:
                sizes[label] = {"shoal": _size(shoal_url), "pebble": _size(pebble_url)}
                run_wrk(shoal_url, seconds=1)  # warm up caches and connections
                run_wrk(pebble_url, seconds=1)
            for label, shoal_url, pebble_url in sides:
                by_shoal, by_pebble = _pair(shoal_url, pebble_url, {})
                rows.append(_row(label, by_shoal.requests_per_second, by_pebble.requests_per_second, "req/s"))
                figures[label] = {"shoal": by_shoal.requests_per_second, "pebble": by_pebble.requests_per_second,
                                  "answer bytes": sizes[label]}
                errors += sum(r.errors + r.non_2xx for r in (by_shoal, by_pebble))
                if label.endswith("/v1/services"):
                    latency["Shoal, socket via socat"] = by_shoal.latency_ms
                    latency["Pebble, socket via socat"] = by_pebble.latency_ms
    rows.append(_row("idle RSS with 10 services, whole suite ÷ pebble", shoal_rss, pebble_rss, "MB", ".1f"))
    shoal_start, pebble_start = _start_seconds(binary)
    shoal_first, pebble_first = statistics.median(shoal_start), statistics.median(pebble_start)
    rows.append(_row(f"start → first /v1/services, median of {RUNS}", shoal_first, pebble_first, "s", ".3f"))
    rows.append(("errors + non-2xx (both sides)", str(errors), "expect 0"))
    figures.update({"idle RSS (MB)": {"shoal": shoal_rss, "pebble": pebble_rss},
                    "start → first /v1/services (s)": {"shoal": shoal_first, "pebble": pebble_first}})
    return {"title": TITLE, "rows": rows, "latency": latency, "figures": figures}


class _Socket:
    """Just enough of a Suite for bench.suite.call on another daemon's socket."""

    def __init__(self, path: Path):
        self.socket = str(path)

    unix = Suite.unix


async def main() -> dict:
    binary = pebble_bin()
    if not binary:
        print("   skipped: set PEBBLE_BIN to a Pebble binary to measure Shoal ÷ Pebble", flush=True)
        return {"title": TITLE, "rows": [], "skipped": "PEBBLE_BIN is not set"}
    if not wrk_available():
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    return await asyncio.to_thread(_run, binary)


if __name__ == "__main__":
    result = asyncio.run(main())
    for label, value, goal in result["rows"]:
        print(f"{label:<70} {value:>8}   {goal}")
