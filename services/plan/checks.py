"""The health checks manager, by Pebble's checkstate rules (spec §4.4).

A running check is a `perform-check` change whose one task runs the check
every period, or at once when refreshed. Its failures count up; at the
threshold the failure action fires (a service's on-check-failure), the task
errors and a `recover-check` change runs the check until it first succeeds;
then a fresh perform-check starts. What `GET /v1/checks` shows is kept per
check (`CheckState`) and written by those loops as Pebble's are:

- each loop counts from its change's own start (a perform-check from 0, a
  recover-check from the failures that sent the check down), and the state
  shows the last count a loop wrote: after a recovery, `successes` is 1 and
  the next success of the new perform-check makes it 1 again;
- a failure below the threshold is logged to the task; at the threshold the
  task's error is the log line; each failure of a recover-check is logged;
  a perform-check that succeeds after failures logs `succeeded after N
  failures`;
- a stopped check is inactive with no change, keeping its counters;
  starting it (or a replan, for a startup-enabled one) starts a new
  perform-check from zero;
- on every plan change (a layer added): a running check whose config
  (service context included) is unchanged keeps running, as does one that
  only became `startup: disabled`; a removed or modified one is aborted and
  forgotten (its metrics too), and a modified one starts again; every check
  that is not running is started again if startup-enabled (counters reset,
  metrics kept), else shown inactive with its counters reset;
- a refresh of a running check is run by its loop (counted, logged, and its
  period restarts) and answers the state after that run; a refresh of a
  stopped check runs it once, counting nothing, and so does one whose loop
  stopped before running it (Pebble's would wait for the client to give up).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from services.common.errors import DomainError, Failure
from services.plan.changes.manager import ChangeManager, TaskSpec
from services.plan.changes.model import ChangeError
from services.plan.checkers import CheckFailed, run_check
from services.plan.plan.context import check_in_context
from services.plan.plan.model import Check, Plan

log = logging.getLogger("shoal.plan.checks")

KIND_TITLES = {"http": "HTTP", "tcp": "TCP", "exec": "exec"}
UP, DOWN, INACTIVE = "up", "down", "inactive"
LEVELS = ("", "alive", "ready")

FailureHandler = Callable[[str], Awaitable[None]]

# A refresh answered with this runs the check directly: the loop it waited
# for was stopped before it could run it.
_RUN_DIRECTLY = object()


class CheckError(DomainError):
    """A checks API error with Pebble's message (invalid unless said otherwise)."""


@dataclass
class CheckState:
    """What is shown of one check, and the refreshes waiting for its loop."""

    check: Check  # the config it runs (or last ran) with, service context merged
    status: str = INACTIVE
    successes: int = 0
    failures: int = 0
    change_id: str = ""
    prev_change_id: str = ""
    # lifetime totals for metrics (reset only when the check is removed or modified)
    success_total: int = 0
    failure_total: int = 0
    last_error: str = ""  # of the latest run ("" when it passed); what a gated start reports
    refreshes: deque[asyncio.Future] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def update(self, change_id: str, prev_change_id: str, successes: int, failures: int) -> None:
        """Pebble's updateCheckData: no change is inactive, failures at the
        threshold are down, anything else is up."""
        self.change_id, self.prev_change_id = change_id, prev_change_id
        self.successes, self.failures = successes, failures
        if not change_id:
            self.status = INACTIVE
        elif failures >= self.check.effective_threshold():
            self.status = DOWN
        else:
            self.status = UP

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


@dataclass
class _Run:
    """One perform-check or recover-check change: the config it runs and its
    own counters (Pebble's check details of the task)."""

    state: CheckState
    check: Check
    successes: int = 0
    failures: int = 0


class _Ticker:
    """Go's time.Ticker as a check loop uses it: ticks every period from the
    start; one that comes while the check runs waits for the loop, the rest
    are dropped; a refresh starts the period again."""

    def __init__(self, period: float):
        self.period = period
        self.next = self._now() + period

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()

    def delay(self) -> float:
        return self.next - self._now()

    def consume(self) -> None:
        now = self._now()
        self.next += self.period
        if self.next <= now:
            self.next += self.period * ((now - self.next) // self.period + 1)

    def reset(self) -> None:
        self.next = self._now() + self.period


class CheckManager:
    def __init__(
        self,
        changes: ChangeManager,
        on_failure: FailureHandler | None = None,
        base_environment: Mapping[str, str] | None = None,
        on_attempt: Callable[[], None] | None = None,
    ):
        """`base_environment`: what an exec check's environment starts from
        (the daemon's children's; None: the process's own)."""
        self.changes = changes
        self.on_failure = on_failure
        self.base_environment = base_environment
        self.on_attempt = on_attempt  # after each run of a check's loop (what it shows changes)
        self.states: dict[str, CheckState] = {}
        self._plan = Plan()
        self._runs: dict[str, _Run] = {}  # change id → its loop's run
        self._actions: set[asyncio.Task] = set()  # failure actions under way
        changes.register("perform-check", self._perform)
        changes.register("recover-check", self._recover)

    # -- plan changes ---------------------------------------------------------
    def plan_changed(self, plan: Plan) -> None:
        """Pebble's PlanChanged, for a new combined plan (see the module)."""
        self._plan = plan
        existing: set[str] = set()  # running when the plan changed
        restart: set[str] = set()
        for name, state in list(self.states.items()):
            if not state.change_id:
                continue
            existing.add(name)
            new = plan.checks.get(name)
            if new is not None:
                if check_in_context(plan, new) == state.check:
                    continue
                if new.startup == "disabled" and state.check.startup != "disabled":
                    continue  # it goes on until stopped; then it stays inactive
                restart.add(name)
            self._abort(state)
            self._release(state)
            del self.states[name]
        for name in list(self.states):
            if name not in plan.checks:
                self._release(self.states.pop(name))
        for name, check in sorted(plan.checks.items()):
            if name in existing and name not in restart:
                continue
            state = self.states.get(name)
            if state is None:
                state = self.states[name] = CheckState(check=check_in_context(plan, check))
            if name in restart or check.enabled:
                self._start(state, check_in_context(plan, check))
            else:
                state.check = check_in_context(plan, check)
                state.update("", "", 0, 0)

    def _start(self, state: CheckState, check: Check, prev_change_id: str = "",
               successes: int = 0, failures: int = 0) -> None:
        """A new perform-check change for `check`; the state shows it."""
        summary = f'Perform {KIND_TITLES[check.kind]} check "{check.name}"'
        change = self.changes.create(
            "perform-check",
            summary,
            [[TaskSpec("perform-check", summary, {"check-name": check.name})]],
            notice_data={"check-name": check.name},
        )
        self._runs[change.id] = _Run(state, check)
        state.check = check
        state.update(change.id, prev_change_id, successes, failures)

    def _start_recovery(self, run: _Run, perform_id: str) -> None:
        """The recover-check change after `perform_id` hit the threshold; it
        counts on from that change's counters."""
        state, check = run.state, run.check
        summary = f'Recover {KIND_TITLES[check.kind]} check "{check.name}"'
        change = self.changes.create(
            "recover-check",
            summary,
            [[TaskSpec("recover-check", summary, {"check-name": check.name})]],
            notice_data={"check-name": check.name},
        )
        self._runs[change.id] = _Run(state, check, run.successes, run.failures)
        state.update(change.id, perform_id, run.successes, run.failures)

    def _abort(self, state: CheckState) -> None:
        change = self.changes.find(state.change_id) if state.change_id else None
        if change is not None and not change.ready:
            try:
                self.changes.abort(change.id)
            except ChangeError as error:  # already finishing
                log.debug("abort %s: %s", change.id, error)
        if change is not None and change.ready:  # it never ran (held): no loop will end
            self._runs.pop(change.id, None)

    def _loop_alive(self, change_id: str) -> bool:
        """Whether a loop runs (or is about to run) for the change."""
        change = self.changes.find(change_id) if change_id in self._runs else None
        return change is not None and not change.ready

    @staticmethod
    def _release(state: CheckState) -> None:
        """The refreshes waiting for a loop that will not run them run directly."""
        while state.refreshes:
            _answer(state.refreshes.popleft(), _RUN_DIRECTLY)

    # -- the check loops ------------------------------------------------------
    async def _next(self, state: CheckState, ticker: _Ticker) -> asyncio.Future | None:
        """Wait for the next run: a refresh request (returned), or a tick (None)."""
        while True:
            while state.refreshes:
                request = state.refreshes.popleft()
                if not request.done():  # (its caller may have gone)
                    ticker.reset()
                    return request
            delay = ticker.delay()
            if delay <= 0:
                ticker.consume()
                return None
            state.wake.clear()
            try:  # (asyncio.timeout: 3.11's wait_for can swallow a cancel that comes as the wait ends)
                async with asyncio.timeout(delay):
                    await state.wake.wait()
            except TimeoutError:
                pass

    async def _attempt(self, check: Check) -> str | None:
        """Run the check once; the failure text, or None on success."""
        try:
            await run_check(check, self.base_environment)
            return None
        except CheckFailed as error:
            return str(error)

    async def _run_once(self, run: _Run, ticker: _Ticker) -> tuple[asyncio.Future | None, str | None]:
        request = await self._next(run.state, ticker)
        try:
            failure = await self._attempt(run.check)
        except asyncio.CancelledError:  # stopped mid-run
            _answer(request, _RUN_DIRECTLY)
            raise
        if failure is None:
            run.state.success_total += 1
        else:
            run.state.failure_total += 1
        run.state.last_error = failure or ""
        if self.on_attempt is not None:
            self.on_attempt()  # (the caller's updates follow before the loop turns)
        return request, failure

    def _show(self, run: _Run, change_id: str, prev_change_id: str) -> None:
        if run.state.change_id == change_id:
            run.state.update(change_id, prev_change_id, run.successes, run.failures)

    async def _perform(self, task, change) -> None:
        run = self._runs.get(change.id)
        if run is None:
            raise CheckFailed("check no longer in the plan")
        threshold = run.check.effective_threshold()
        prev_change_id = run.state.prev_change_id
        ticker = _Ticker(run.check.effective_period())
        try:
            while True:
                request, failure = await self._run_once(run, ticker)
                if failure is None:
                    run.successes += 1
                    if run.failures:
                        task.log_info(f"succeeded after {_failures(run.failures)}")
                        run.failures = 0
                    self._show(run, change.id, prev_change_id)
                    _answer(request, None)
                    continue
                run.failures += 1
                if run.failures < threshold:
                    task.log_error(failure)
                    self._show(run, change.id, prev_change_id)
                    _answer(request, failure)
                    continue
                log.warning("check %s down: %s", run.check.name, failure)
                if run.state.change_id == change.id:
                    if self.on_failure is not None:
                        action = asyncio.get_running_loop().create_task(self.on_failure(run.check.name))
                        self._actions.add(action)
                        action.add_done_callback(self._actions.discard)
                    self._start_recovery(run, change.id)
                _answer(request, failure)
                raise CheckFailed(failure)
        finally:
            self._ended(run, change.id)

    async def _recover(self, task, change) -> None:
        run = self._runs.get(change.id)
        if run is None:
            raise CheckFailed("check no longer in the plan")
        prev_change_id = run.state.prev_change_id
        ticker = _Ticker(run.check.effective_period())
        try:
            while True:
                request, failure = await self._run_once(run, ticker)
                if failure is not None:
                    run.failures += 1
                    self._show(run, change.id, prev_change_id)
                    task.log_error(failure)
                    _answer(request, failure)
                    continue
                run.successes, run.failures = 1, 0
                if run.state.change_id == change.id:
                    self._start(run.state, run.check, prev_change_id=change.id, successes=1)
                _answer(request, None)
                return
        finally:
            self._ended(run, change.id)

    def _ended(self, run: _Run, change_id: str) -> None:
        """A loop has ended. Unless it handed over to another (the state shows
        that one), nothing will run the refreshes waiting: they run directly."""
        self._runs.pop(change_id, None)
        if run.state.change_id == change_id:
            self._release(run.state)

    # -- API ------------------------------------------------------------------
    def infos(self, level: str = "", names: list[str] | None = None) -> list[dict]:
        if level not in LEVELS:
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
        if level not in LEVELS:
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

    def action(self, action: str, names: list[str]) -> list[str]:
        """`POST /v1/checks`: start or stop the named checks; those it changed, sorted."""
        if not names:
            raise CheckError(f"must specify checks for {action} action")
        if action == "start":
            return sorted(self.start(names))
        if action == "stop":
            return sorted(self.stop(names))
        raise CheckError(f'invalid action "{action}"')

    def _require(self, action: str, names: list[str]) -> None:
        missing = sorted(n for n in names if n not in self._plan.checks)
        if missing:
            raise CheckError(f"cannot {action} checks: cannot find checks in plan: {', '.join(missing)}")

    def start(self, names: list[str]) -> list[str]:
        """Start each named check that is not running (a new perform-check from zero)."""
        self._require("start", names)
        started = []
        for name in names:
            state = self.states.get(name)
            if state is None or state.change_id:
                continue
            self._start(state, check_in_context(self._plan, self._plan.checks[name]))
            started.append(name)
        return started

    def stop(self, names: list[str]) -> list[str]:
        """Stop each named check that is running: inactive, its counters kept."""
        self._require("stop", names)
        stopped = []
        for name in names:
            state = self.states.get(name)
            if state is None or not state.change_id:
                continue
            if self.changes.find(state.change_id) is not None:
                self._abort(state)
                stopped.append(name)
            state.check = check_in_context(self._plan, self._plan.checks[name])
            state.update("", state.prev_change_id, state.successes, state.failures)
            self._release(state)
        return stopped

    def replan(self) -> None:
        """A replan starts every startup-enabled check that is not running."""
        for name, check in sorted(self._plan.checks.items()):
            state = self.states.get(name)
            if state is not None and check.enabled and not state.change_id:
                self._start(state, check_in_context(self._plan, check))

    async def refresh(self, name: str) -> tuple[dict, str | None]:
        """Run the check now; its state after that run, and the failure text."""
        if not name:
            raise CheckError("must specify check name")
        check = self._plan.checks.get(name)
        if check is None:
            raise CheckError(f'cannot find check with name "{name}"', Failure.NOT_FOUND)
        state = self.states.get(name)
        asked: set[str] = set()  # the changes whose loops were asked
        while state is not None and self._loop_alive(state.change_id) and state.change_id not in asked:
            asked.add(state.change_id)
            request = asyncio.get_running_loop().create_future()
            state.refreshes.append(request)
            state.wake.set()
            failure = await request
            if failure is not _RUN_DIRECTLY:
                return self.states.get(name, state).info(), failure
            state = self.states.get(name)
        failure = await self._attempt(check_in_context(self._plan, check))
        state = self.states.get(name) or CheckState(check=check)
        return state.info(), failure

    def metrics(self) -> list[tuple[str, CheckState]]:
        return sorted(self.states.items())


def _answer(request: asyncio.Future | None, result: object) -> None:
    if request is not None and not request.done():
        request.set_result(result)


def _failures(n: int) -> str:
    return f"{n} failure" + ("" if n == 1 else "s")
