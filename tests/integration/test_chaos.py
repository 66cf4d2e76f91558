"""A short chaos round in CI (the full one is `make chaos`): SIGKILL each
process of a loaded suite in turn; nothing hangs, nothing acknowledged is
lost or doubled."""

from __future__ import annotations

from tests.agents import Agent
from tests.chaos.chaos import run_chaos


def test_killing_each_process_under_load_loses_no_acknowledged_write(fresh_suite, tmp_path):
    agent = Agent(tmp_path / "agent").spawn().wait_ready()
    try:
        report = run_chaos(fresh_suite, agent, settle=0.7)
    finally:
        agent.stop()
    assert report["problems"] == [], report
