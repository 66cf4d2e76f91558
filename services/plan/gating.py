"""Health-gated start order (Shoal's own, opt-in; README "Supervision beyond
Pebble").

A service that `requires` a gating dependency, or comes `after` one that is
being started too, waits before its process is started:

- for a dependency with `ready-checks`, until it is running and each of
  those checks has passed (its latest run succeeded);
- for a `kind: one-shot` dependency, until it has exited with 0 (`done`).

Each dependency is waited for up to its `ready-timeout`. A dependency that
can no longer get there (a one-shot that exited non-zero, one that used up
its restart-limit, one that was stopped) fails the wait at once. Either
failure names the dependency and why.

The rules (`dependencies_to_wait_for`, `judge`) are pure; `wait_for_dependencies`
polls what the supervisor and the checks manager show, bounded in time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

from services.common import metrics
from services.common.durations import format_duration
from services.plan.plan.model import Plan, Service
from services.plan.supervisor import BACKOFF, DONE, EXITED, INITIAL, RUNNING, STARTING
from services.plan.supervisor import FAILED as GAVE_UP

DEPENDENCY_WAITS = metrics.counter(
    "shoal_supervisor_dependency_waits_total",
    "Waits of a service's start for a dependency's ready checks or one-shot completion, by outcome",
    ("service", "dependency", "outcome"),
)

MET, WAITING, FAILED = "met", "waiting", "failed"
POLL = 0.05


@dataclass(frozen=True)
class CheckView:
    """What the wait looks at of one check."""

    status: str  # "up" | "down" | "inactive"
    successes: int
    last_error: str = ""  # of its latest run ("" when that run passed)


@dataclass(frozen=True)
class Observation:
    """What the wait looks at of one dependency."""

    state: str | None  # the supervisor's internal state (None: never started)
    exit_code: int | None = None
    checks: Mapping[str, CheckView] = field(default_factory=dict)


class DependencyError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def dependencies_to_wait_for(plan: Plan, name: str, being_started: Collection[str],
                             started: Collection[str]) -> list[str]:
    """The gating dependencies `name` waits for, in the order it names them:
    those it requires, and those it comes after that are being started in the
    same change or have been started before."""
    service = plan.services[name]
    out: list[str] = []
    for dependency in [*service.requires, *service.after]:
        other = plan.services.get(dependency)
        if dependency in out or other is None or not other.gates_dependents:
            continue
        if dependency in service.requires or dependency in being_started or dependency in started:
            out.append(dependency)
    return out


def what_is_awaited(dependency: Service) -> str:
    if dependency.one_shot:
        return "to exit with code 0 (one-shot)"
    names = ", ".join(f'"{c}"' for c in dependency.ready_checks)
    return f"its ready checks {names} to pass"


def judge(dependency: Service, seen: Observation) -> tuple[str, str]:
    """(MET | WAITING | FAILED, why) for a dependent of `dependency`."""
    state = seen.state
    if state in (None, INITIAL):
        return WAITING, "it has not been started"
    if state == GAVE_UP:
        return FAILED, "it used up its restart-limit"
    if state == BACKOFF:
        return WAITING, f"it is backing off after exiting with code {seen.exit_code}"
    if dependency.one_shot:
        if state == DONE:
            return MET, "it exited with code 0"
        if state in (STARTING, RUNNING):
            return WAITING, "it is still running"
        if state == EXITED:
            return FAILED, f"it exited with code {seen.exit_code}"
        return FAILED, "it was stopped before it completed"
    if state not in (STARTING, RUNNING):
        return FAILED, "it is not running"
    for name in dependency.ready_checks:
        check = seen.checks.get(name)
        if check is None or check.status == "inactive":
            return WAITING, f'check "{name}" is not running'
        if check.last_error:
            return WAITING, f'check "{name}" is failing: {check.last_error}'
        if check.status != "up" or check.successes < 1:
            return WAITING, f'check "{name}" has not passed yet'
    return MET, "its ready checks passed"


async def wait_for_dependencies(
    plan: Plan,
    name: str,
    dependencies: list[str],
    observe: Callable[[str], Observation],
    *,
    task_log: Callable[[str], None],
    aborted: asyncio.Event | None = None,
) -> None:
    """Wait for each dependency in turn, each up to its ready-timeout counted
    from the start of the whole wait; DependencyError on failure or timeout."""
    began = time.monotonic()
    for dependency_name in dependencies:
        dependency = plan.services[dependency_name]
        timeout = dependency.effective_ready_timeout()
        task_log(f'Waiting up to {format_duration(timeout)} for service "{dependency_name}": '
                 f"{what_is_awaited(dependency)}.")
        while True:
            verdict, why = judge(dependency, observe(dependency_name))
            waited = time.monotonic() - began
            if verdict == MET:
                DEPENDENCY_WAITS.labels(name, dependency_name, "ready").inc()
                task_log(f'Service "{dependency_name}" is ready ({why}) after {format_duration(round(waited, 1))}.')
                break
            if verdict == FAILED:
                DEPENDENCY_WAITS.labels(name, dependency_name, "failed").inc()
                raise DependencyError(f'dependency "{dependency_name}" failed: {why}')
            if waited >= timeout:
                DEPENDENCY_WAITS.labels(name, dependency_name, "timeout").inc()
                raise DependencyError(f'dependency "{dependency_name}" not ready after '
                                      f"{format_duration(timeout)}: {why}")
            if aborted is not None and aborted.is_set():
                raise DependencyError(f'start aborted while waiting for dependency "{dependency_name}"')
            await asyncio.sleep(min(POLL, max(0.0, timeout - waited)))
