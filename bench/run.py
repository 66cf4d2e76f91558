"""`make bench`: run every benchmark in one go, print one report, and write
the figures (bench/results/latest.json) and a latency chart (PNG).

Each benchmark module has `async def main() -> dict` returning its figures:
{"title": str, "rows": [(label, value, goal-or-"")...], "latency": {path: {"50%": ms...}}}.
`python -m bench.run bench.NAME...` runs only those and replaces only their
figures in latest.json.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
import time
from pathlib import Path

BENCHMARKS = [
    "bench.gateway_ratio",
    "bench.views",
    "bench.proxy_reads",
    "bench.plan_start",
    "bench.deploy_fanout",
    "bench.rolling_update",
    "bench.telemetry_cost",
    "bench.startup",
    "bench.pebble_side",  # only when PEBBLE_BIN names a Pebble binary; skipped otherwise
]
RESULTS = Path(__file__).parent / "results"


def _chart(latency: dict[str, dict[str, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    percentiles = ["50%", "75%", "90%", "99%"]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    width = 0.8 / max(1, len(latency))
    for i, (name, values) in enumerate(latency.items()):
        xs = [p + i * width for p in range(len(percentiles))]
        ax.bar(xs, [values.get(p, 0.0) for p in percentiles], width, label=name)
    ax.set_xticks([p + width * (len(latency) - 1) / 2 for p in range(len(percentiles))], percentiles)
    ax.set_ylabel("latency (ms)")
    ax.set_title("Latency percentiles per path (wrk, 32 connections)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _report(selected: list[str], partial: bool) -> dict:
    """A full run starts a new report; benchmarks named on the command line
    replace only their own figures in the last one (each then says when)."""
    previous = RESULTS / "latest.json"
    if not partial or not previous.exists():
        return {"when": time.strftime("%Y-%m-%d %H:%M:%S"), "benchmarks": {}}
    report = json.loads(previous.read_text())
    for name in selected:
        report["benchmarks"].pop(name, None)
    return report


async def run(selected: list[str]) -> int:
    RESULTS.mkdir(exist_ok=True)
    partial = not set(selected) >= set(BENCHMARKS)
    report = _report(selected, partial)
    latency: dict = {}
    for figures in report["benchmarks"].values():
        latency.update(figures.get("latency", {}))
    failed = 0
    for name in selected:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            print(f"== {name}: not available ({error})")
            failed += 1
            continue
        print(f"== {name}", flush=True)
        figures = await module.main()
        if partial:
            figures["when"] = time.strftime("%Y-%m-%d %H:%M:%S")
        report["benchmarks"][name] = figures
        latency.update(figures.get("latency", {}))
        for label, value, goal in figures.get("rows", []):
            print(f"   {label:<58} {value:>14}   {goal}")
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=2, default=str))
    if latency:
        _chart(latency, RESULTS / "latency.png")
        print(f"chart: {RESULTS / 'latency.png'}")
    return 1 if failed else 0


def main() -> None:
    selected = sys.argv[1:] or BENCHMARKS
    sys.exit(asyncio.run(run(selected)))


if __name__ == "__main__":
    main()
