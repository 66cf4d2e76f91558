"""Idle memory of the whole suite: RSS of each process a few seconds after start."""

from __future__ import annotations

import asyncio

from bench.suite import rss_mb, running_suite

PROCESSES = ["gateway", "identity", "plan", "beacon", "application"]


async def main() -> dict:
    with running_suite() as suite:
        await asyncio.sleep(3)
        figures = {name: rss_mb(suite.pid(name)) for name in PROCESSES}
    total = sum(figures.values())
    rows = [(f"idle RSS {name} (MB)", f"{mb:.1f}", "") for name, mb in figures.items()]
    rows.append(("idle RSS, whole suite (MB)", f"{total:.1f}", ""))
    return {"title": "idle memory", "rows": rows}
