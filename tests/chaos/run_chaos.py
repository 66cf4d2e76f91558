"""`make chaos`: the chaos round (tests/chaos/chaos.py) on SQLite, then on
PostgreSQL; prints each round's traffic and verdict, exits non-zero on any
problem. CHAOS_SETTLE sets the seconds of load between kills (default 2)."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def one_round(backend: str, settle: float) -> list[str]:
    from tests.agents import Agent
    from tests.chaos.chaos import run_chaos
    from tests.databases import PG_URL
    from tests.support import Suite, free_port

    env = {}
    prefix = f"chaos{secrets.token_hex(3)}_"
    if backend == "postgresql":
        env = {"SHOAL_DATABASE_URL": PG_URL, "SHOAL_DATABASE_SCHEMA_PREFIX": prefix}
    with tempfile.TemporaryDirectory(prefix="shoal-chaos-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        agent = Agent(Path(tmp) / "agent").spawn().wait_ready()
        suite = Suite(home=home, http_port=free_port(), https_port=free_port(), env=env).start()
        try:
            report = run_chaos(suite, agent, settle)
        finally:
            suite.stop()
            agent.stop()
            if backend == "postgresql":
                asyncio.run(_drop(prefix))
    print(f"== chaos on {backend}")
    print(json.dumps(report["traffic"], indent=2))
    print("verdict:", "PASS" if not report["problems"] else "FAIL")
    for problem in report["problems"]:
        print("  -", problem)
    return report["problems"]


async def _drop(prefix: str) -> None:
    import asyncpg

    from tests.databases import PG_URL

    conn = await asyncpg.connect(PG_URL)
    try:
        for service in ("identity", "plan", "beacon", "application"):
            await conn.execute(f'DROP SCHEMA IF EXISTS "{prefix}{service}" CASCADE')
    finally:
        await conn.close()


def main() -> int:
    sys.path.insert(0, str(ROOT))
    settle = float(os.environ.get("CHAOS_SETTLE", "2"))
    problems = one_round("sqlite", settle) + one_round("postgresql", settle)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
