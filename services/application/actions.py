"""The actions on an application, as steps fanned out to its instances.

- deploy (create, update, revert): push the deployment's layer everywhere,
  then start or restart it where asked. An instance that fails drops out
  alone; the others carry on to the next step.
- roll (create, update, revert with strategy=rolling): the same, batch by
  batch (rollout.py), each batch's instances awaited until they pass their
  checks; on the first failure the instances updated so far go back to the
  previous deployment and the rest are left alone.
- start / stop: as Lighthouse, a step that fails anywhere is rolled back
  (the opposite action) on the instances where it had succeeded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from services.application import stream
from services.application.agents import AgentCallError, Agents, Target
from services.application.command import check_names, disabled_checks_layer, label_for, layer_text
from services.application.fanout import Emit, Step, failures, run_step, succeeded
from services.application.model import Deployment
from services.application.rollout import FAILED, READY, Rollout, Strategy, batches, checks_verdict
from services.application.stream import Outcome

Resolver = Callable[[str], Awaitable[Target]]  # raises AgentCallError with the instance's failure

LAYERS = ("POST", "/v1/layers")
SERVICES = ("POST", "/v1/services")
CHECKS = ("GET", "/v1/checks")
CHECKS_ACTION = ("POST", "/v1/checks")
POLL_EVERY = 0.2
RESTART_ALL, RESTART_RUNNING, RESTART_NONE = "all", "running", "none"


@dataclass
class Run:
    """One action's run over instances: resolves each instance once."""

    agents: Agents
    resolve: Resolver
    emit: Emit
    name: str
    _targets: dict[str, Target] = field(default_factory=dict)

    async def target(self, instance: str) -> Target:
        if instance not in self._targets:
            self._targets[instance] = await self.resolve(instance)
        return self._targets[instance]

    async def step(self, description: str, route: tuple[str, str], instances: Sequence[str],
                   call: Callable[[Target], Awaitable[Outcome]]) -> list[Outcome]:
        async def action(instance: str) -> Outcome:
            try:
                return await call(await self.target(instance))
            except AgentCallError as error:
                return error.outcome

        return await run_step(Step(description, route[0], route[1], action), instances, self.emit)

    async def push(self, deployment_id: int, command: dict, instances: Sequence[str],
                   description: str = "Pushing deployment") -> tuple[list[str], set[str]]:
        """Push the deployment: (instances it reached, those where the application was running)."""
        layer = layer_text(self.name, command, summary=f"shoal application {self.name}, deployment {deployment_id}",
                           deployment=deployment_id)
        running: set[str] = set()

        async def call(target: Target) -> Outcome:
            if await self.agents.running(target, self.name):
                running.add(target.instance)
            return await self.agents.push(target, label_for(self.name), layer)

        outcomes = await self.step(description, LAYERS, instances, call)
        return succeeded(outcomes), running

    async def services(self, description: str, action: str, instances: Sequence[str],
                       deadline: float | None = None) -> list[Outcome]:
        """`action` on the application's service; with `deadline` (a loop
        time), an instance whose change is not done by then fails."""

        async def call(target: Target) -> Outcome:
            if deadline is None:
                return await self.agents.services(target, action, self.name)
            try:
                return await asyncio.wait_for(self.agents.services(target, action, self.name), _left(deadline))
            except TimeoutError:
                return stream.failed(target.instance, f"{action} did not finish within the deadline", 504)

        return await self.step(description, SERVICES, instances, call)

    async def disable_checks(self, description: str, command: dict, names: list[str],
                             instances: Sequence[str]) -> list[Outcome]:
        layer = disabled_checks_layer(command, names)

        async def call(target: Target) -> Outcome:
            return await self.agents.disable_checks(target, label_for(self.name), layer, names)

        return await self.step(description, CHECKS_ACTION, instances, call)

    async def ready(self, description: str, names: list[str], instances: Sequence[str], deadline: float) -> list[Outcome]:
        """Wait until each instance's checks `names` count a success since
        now, fail as one goes down, or at the deadline (a loop time)."""

        async def call(target: Target) -> Outcome:
            before = await self.agents.checks(target, names) if names else {}
            why = "started"
            while names:
                verdict, why = checks_verdict(names, before, await self.agents.checks(target, names))
                if verdict == READY:
                    break
                if verdict == FAILED:
                    return stream.failed(target.instance, why, 500)
                if _left(deadline) <= POLL_EVERY:
                    return stream.failed(target.instance, f"not ready within the deadline: {why}", 504)
                await asyncio.sleep(POLL_EVERY)
            return stream.ok(target.instance, why)

        return await self.step(description, CHECKS, instances, call)


def _left(deadline: float) -> float:
    return max(0.0, deadline - asyncio.get_running_loop().time())


@dataclass(frozen=True)
class Rolled:
    """How a rolling rollout ended."""

    rollout: Rollout
    rollback_failed: list[str]

    @property
    def ok(self) -> bool:
        return not self.rollout.stopped

    @property
    def outcome(self) -> str:
        return self.rollout.outcome(self.rollback_failed)


async def roll(run: Run, strategy: Strategy, new: Deployment, previous: Deployment | None,
               instances: Sequence[str], restart: str) -> Rolled:
    """Roll `new` out batch by batch: push, (re)start where `restart` says,
    wait for the checks; stop at the first failure and put the instances
    updated so far back on `previous` (or stop the application there when
    there is none)."""
    rollout = Rollout(batches(instances, strategy))
    restarted: list[str] = []
    names = check_names(new.command)
    loop = asyncio.get_running_loop()
    while batch := rollout.next_batch():
        label = f"Batch {rollout.index + 1}/{rollout.total}"
        failed: dict[str, str] = {}
        pushed, running = await run.push(new.id, new.command, batch, f"{label}: pushing deployment {new.id}")
        failed.update({i: "the deployment could not be pushed" for i in batch if i not in pushed})
        targets = _to_restart(pushed, running, restart)
        if targets:
            deadline = loop.time() + strategy.deadline
            restarted.extend(targets)
            outcomes = await run.services(f"{label}: {_restart_text(restart)}", "restart", targets, deadline)
            failed.update({o.instance: o.message for o in outcomes if not o.ok})
            started = [i for i in targets if i not in failed]
            if started:
                checked = await run.ready(f"{label}: waiting for checks", names, started, deadline)
                failed.update({o.instance: o.message for o in checked if not o.ok})
        rollout.batch_done(failed)
    if not rollout.stopped:
        return Rolled(rollout, [])
    back = rollout.to_roll_back
    again = [i for i in back if i in restarted]
    lost: list[str] = []
    if previous is None:
        outcomes = await run.services("Rolling back: stopping application", "stop", again) if again else []
    else:
        pushed, _ = await run.push(previous.id, previous.command, back,
                                   f"Rolling back: pushing deployment {previous.id}")
        lost = [i for i in back if i not in pushed]
        again = [i for i in again if i in pushed]
        outcomes = await run.services("Rolling back: restarting application", "restart", again) if again else []
    # checks the new deployment brought and the previous one lacks stay in the plan: never run them again
    kept = set(check_names(previous.command)) if previous else set()
    leftover = [c for c in names if c not in kept]
    reached = [i for i in back if i not in lost]
    if leftover and reached:
        stopped = await run.disable_checks("Rolling back: stopping checks", new.command, leftover, reached)
        lost += failures(stopped)
    return Rolled(rollout, lost + [i for i in failures(outcomes) if i not in lost])


def _to_restart(pushed: list[str], running: set[str], restart: str) -> list[str]:
    if restart == RESTART_ALL:
        return pushed
    if restart == RESTART_RUNNING:
        return [i for i in pushed if i in running]
    return []


def _restart_text(restart: str) -> str:
    return "starting application" if restart == RESTART_ALL else "restarting application"


async def deploy(run: Run, deployment_id: int, command: dict, instances: Sequence[str], restart: str) -> list[str]:
    """Push a deployment and (re)start it on all instances, on those where
    it was running, or nowhere; the instances it reached."""
    pushed, running = await run.push(deployment_id, command, instances)
    targets = _to_restart(pushed, running, restart)
    if not targets:
        return pushed
    failed = set(failures(await run.services(_restart_text(restart).capitalize(), "restart", targets)))
    return [i for i in pushed if i not in failed]


async def start(run: Run, deployment_id: int, command: dict, instances: Sequence[str]) -> bool:
    """Push the current deployment and start it; roll back if any instance fails."""
    pushed, _ = await run.push(deployment_id, command, instances)
    outcomes = await run.services("Starting application", "start", pushed) if pushed else []
    return await _all_or_rolled_back(run, outcomes, instances, "stop")


async def stop(run: Run, instances: Sequence[str]) -> bool:
    """Stop the application; roll back if any instance fails."""
    outcomes = await run.services("Stopping application", "stop", instances)
    return await _all_or_rolled_back(run, outcomes, instances, "start")


async def _all_or_rolled_back(run: Run, outcomes: list[Outcome], instances: Sequence[str], undo: str) -> bool:
    """True when the step succeeded on every instance; otherwise `undo` where it did."""
    done = succeeded(outcomes)
    if len(done) == len(instances):
        return True
    if done:
        await run.services("Rolling back", undo, done)
    return False
