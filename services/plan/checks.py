"""The health checks manager (Pebble §4.4).

Each running check is a `perform-check` change with one task that runs the
check every period. Failures count up; at the threshold the task errors, the
failure action fires (a service's on-check-failure) and a `recover-check`
change runs the check until it first succeeds, then a fresh perform-check
starts. Stopping a check aborts its change and keeps its counters.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from services.common.errors import DomainError, Failure
from services.plan.changes.manager import ChangeManager, TaskSpec
from services.plan.changes.model import ChangeError
from services.plan.checkers import CheckFailed, run_check
from services.plan.plan.model import Check, Plan

log = logging.getLogger("shoal.plan.checks")

KIND_TITLES = {"http": "HTTP", "tcp": "TCP", "exec": "exec"}
UP, DOWN, INACTIVE = "up", "down", "inactive"

FailureHandler = Callable[[str], Awaitable[None]]


class CheckError(DomainError):
    """A checks API error with Pebble's message (invalid unless said otherwise)."""


@dataclass
class CheckState:
    check: Check
    status: str = UP
    successes: int = 0
    failures: int = 0
    change_id: str = ""
    prev_change_id: str = ""
    # lifetime totals for metrics (reset only when the check is removed or modified)
    success_total: int = 0
    failure_total: int = 0
    ticker: asyncio.Event = field(default_factory=asyncio.Event)

    def info(self) -> dict:
        out = {
            "name": self.check.name,
            "startup": "disabled" if self.check.startup == "disabled" else "enabled",
            "status": self.status,
            "successes": self.successes,
            "threshold": self.check.effective_threshold(),
        }
        if self.check.level:
            out["level"] = self.check.level
        if self.failures:
            out["failures"] = self.failures
        if self.change_id:
            out["change-id"] = self.change_id
        if self.prev_change_id:
            out["prev-change-id"] = self.prev_change_id
        return out


class CheckManager:
    def __init__(
        self,
        changes: ChangeManager,
        on_failure: FailureHandler | None = None,
        environment: Callable[[Check], dict[str, str]] | None = None,
        on_attempt: Callable[[], None] | None = None,
    ):
        self.changes = changes
        self.on_failure = on_failure
        self.environment = environment or (lambda check: {})
        self.on_attempt = on_attempt  # after each run of a check (its counts change)
        self.states: dict[str, CheckState] = {}
        changes.register("perform-check", self._perform)
        changes.register("recover-check", self._recover)

    # -- plan changes ---------------------------------------------------------
    def plan_changed(self, plan: Plan) -> None:
        """Start, restart, stop or forget checks to match `plan`."""
        for name in list(self.states):
            if name not in plan.checks:
                self._abort(self.states.pop(name))
        for name, check in sorted(plan.checks.items()):
            state = self.states.get(name)
            if state is not None and state.check == check:
                continue
            if state is not None:
                self._abort(state)
            state = self.states[name] = CheckState(check=check)
            if check.enabled:
                self._spawn_perform(state)
            else:
                state.status = INACTIVE

    def _spawn_perform(self, state: CheckState) -> None:
        check = state.check
        change = self.changes.create(
            "perform-check",
            f'Perform {KIND_TITLES[check.kind]} check "{check.name}"',
            [[TaskSpec("perform-check", f'Perform {KIND_TITLES[check.kind]} check "{check.name}"',
                       {"check-name": check.name})]],
            notice_data={"check-name": check.name},
        )
        state.change_id = change.id

    def _spawn_recover(self, state: CheckState) -> None:
        check = state.check
        summary = f'Recover {KIND_TITLES[check.kind]} check "{check.name}"'
        change = self.changes.create(
            "recover-check",
            summary,
            [[TaskSpec("recover-check", summary, {"check-name": check.name})]],
            notice_data={"check-name": check.name},
        )
        state.prev_change_id, state.change_id = state.change_id, change.id

    def _abort(self, state: CheckState) -> None:
        if state.change_id:
            change = self.changes.find(state.change_id)
            if change is not None and not change.ready:
                try:
                    self.changes.abort(change.id)
                except ChangeError as error:  # already finishing
                    log.debug("abort %s: %s", change.id, error)

    # -- the check loops ------------------------------------------------------
    async def _sleep_period(self, state: CheckState) -> None:
        state.ticker.clear()
        try:
            await asyncio.wait_for(state.ticker.wait(), state.check.effective_period())
        except TimeoutError:
            pass

    async def _attempt(self, state: CheckState) -> str | None:
        """Run the check once; the failure text, or None on success."""
        try:
            await run_check(state.check, self.environment(state.check))
            return None
        except CheckFailed as error:
            return str(error)
        finally:
            if self.on_attempt is not None:
                self.on_attempt()

    async def _perform(self, task, change) -> None:
        state = self.states[task.data["check-name"]]
        threshold = state.check.effective_threshold()
        while True:
            await self._sleep_period(state)
            failure = await self._attempt(state)
            if failure is None:
                if state.failures:
                    task.log_info(f"succeeded after {_failures(state.failures)}")
                state.successes += 1
                state.success_total += 1
                state.failures = 0
                continue
            state.failures += 1
            state.failure_total += 1
            if state.failures < threshold:
                task.log_error(failure)
                continue
            state.status = DOWN
            log.warning("check %s down: %s", state.check.name, failure)
            asyncio.get_running_loop().call_soon(self._after_threshold, state)
            raise CheckFailed(failure)

    def _after_threshold(self, state: CheckState) -> None:
        if self.states.get(state.check.name) is not state:
            return
        self._spawn_recover(state)
        if self.on_failure is not None:
            asyncio.get_running_loop().create_task(self.on_failure(state.check.name))

    async def _recover(self, task, change) -> None:
        state = self.states[task.data["check-name"]]
        while True:
            await self._sleep_period(state)
            failure = await self._attempt(state)
            if failure is None:
                task.log_info(f"succeeded after {_failures(state.failures)}")
                state.status = UP
                state.successes = 1
                state.success_total += 1
                state.failures = 0
                asyncio.get_running_loop().call_soon(self._after_recovery, state)
                return
            state.failures += 1
            state.failure_total += 1
            task.log_error(failure)

    def _after_recovery(self, state: CheckState) -> None:
        if self.states.get(state.check.name) is state:
            self._spawn_perform_keeping(state)

    def _spawn_perform_keeping(self, state: CheckState) -> None:
        previous = state.change_id
        self._spawn_perform(state)
        state.prev_change_id = previous

    # -- API ------------------------------------------------------------------
    def infos(self, level: str = "", names: list[str] | None = None) -> list[dict]:
        if level not in ("", "alive", "ready"):
            raise CheckError('level must be "alive" or "ready"')
        wanted = set(names or ())
        out = []
        for name in sorted(self.states):
            state = self.states[name]
            if wanted and name not in wanted:
                continue
            if level and state.check.level != level:
                continue
            out.append(state.info())
        return out

    def healthy(self, level: str = "", names: list[str] | None = None) -> bool:
        if level not in ("", "alive", "ready"):
            raise CheckError('level must be "alive" or "ready"')
        wanted = set(names or ())
        for name, state in self.states.items():
            if wanted and name not in wanted:
                continue
            check_level = state.check.level
            if level == "alive" and check_level != "alive":
                continue
            if level == "ready" and check_level not in ("ready", "alive"):
                continue
            if (level == "" or check_level) and state.status == DOWN:
                return False
        return True

    def _named(self, action: str, names: list[str]) -> list[CheckState]:
        if not names:
            raise CheckError(f"must specify checks for {action} action")
        missing = sorted(n for n in set(names) if n not in self.states)
        if missing:
            raise CheckError(f"cannot {action} checks: cannot find checks in plan: {', '.join(missing)}")
        return [self.states[n] for n in sorted(set(names))]

    def start(self, names: list[str]) -> list[str]:
        changed = []
        for state in self._named("start", names):
            if state.status != INACTIVE:
                continue
            state.status, state.successes, state.failures = UP, 0, 0
            self._spawn_perform(state)
            changed.append(state.check.name)
        return changed

    def stop(self, names: list[str]) -> list[str]:
        changed = []
        for state in self._named("stop", names):
            if state.status == INACTIVE:
                continue
            self._abort(state)
            state.status = INACTIVE
            changed.append(state.check.name)
        return changed

    def start_enabled_inactive(self) -> None:
        """Replan also starts every enabled check that is inactive."""
        for state in self.states.values():
            if state.status == INACTIVE and state.check.enabled:
                state.status, state.successes, state.failures = UP, 0, 0
                self._spawn_perform(state)

    async def refresh(self, name: str) -> tuple[dict, str | None]:
        if not name:
            raise CheckError("must specify check name")
        state = self.states.get(name)
        if state is None:
            raise CheckError(f'cannot find check with name "{name}"', Failure.NOT_FOUND)
        failure = await self._attempt(state)
        if state.status != INACTIVE:
            state.ticker.set()  # the loop runs again now and resets its period
        return state.info(), failure

    def metrics(self) -> list[tuple[str, CheckState]]:
        return sorted(self.states.items())


def _failures(n: int) -> str:
    return f"{n} failure" + ("" if n == 1 else "s")
