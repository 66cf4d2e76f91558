"""A throwaway suite for benchmarks: `shoal run` in a temporary SHOAL_HOME
(reusing the test harness), plus small HTTP helpers over its unix socket."""

from __future__ import annotations

import contextlib
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from support import Suite, free_port


@contextlib.contextmanager
def running_suite(env: dict | None = None, gateway_workers: int = 1):
    with tempfile.TemporaryDirectory(prefix="shoal-bench-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        suite = Suite(home=home, http_port=free_port(), https_port=free_port(), env=dict(env or {}),
                      gateway_workers=gateway_workers)
        suite.start()
        try:
            yield suite
        finally:
            suite.stop()


def call(suite: Suite, method: str, path: str, body=None) -> dict:
    answer = suite.unix(method, path, json.dumps(body) if body is not None else None,
                        {"Content-Type": "application/json"} if body is not None else None)
    if answer.status >= 400:
        raise RuntimeError(f"{method} {path}: {answer.status} {answer.body[:300]!r}")
    return answer.json() if answer.body else {}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")
