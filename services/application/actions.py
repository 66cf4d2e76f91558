"""The actions on an application, as steps fanned out to its instances.

- deploy (create, update, revert): push the deployment's layer everywhere,
  then start or restart it where asked. An instance that fails drops out
  alone; the others carry on to the next step.
- start / stop: as Lighthouse, a step that fails anywhere is rolled back
  (the opposite action) on the instances where it had succeeded.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from services.application.agents import AgentCallError, Agents, Target
from services.application.command import label_for, layer_text
from services.application.fanout import Emit, Step, failures, run_step, succeeded
from services.application.stream import Outcome

Resolver = Callable[[str], Awaitable[Target]]  # raises AgentCallError with the instance's failure

LAYERS = ("POST", "/v1/layers")
SERVICES = ("POST", "/v1/services")
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

    async def push(self, deployment_id: int, command: dict, instances: Sequence[str]) -> tuple[list[str], set[str]]:
        """Push the deployment: (instances it reached, those where the application was running)."""
        layer = layer_text(self.name, command, summary=f"shoal application {self.name}, deployment {deployment_id}")
        running: set[str] = set()

        async def call(target: Target) -> Outcome:
            if await self.agents.running(target, self.name):
                running.add(target.instance)
            return await self.agents.push(target, label_for(self.name), layer)

        outcomes = await self.step("Pushing deployment", LAYERS, instances, call)
        return succeeded(outcomes), running

    async def services(self, description: str, action: str, instances: Sequence[str]) -> list[Outcome]:
        async def call(target: Target) -> Outcome:
            return await self.agents.services(target, action, self.name)

        return await self.step(description, SERVICES, instances, call)


async def deploy(run: Run, deployment_id: int, command: dict, instances: Sequence[str], restart: str) -> list[str]:
    """Push a deployment and (re)start it on all instances, on those where
    it was running, or nowhere; the instances it reached."""
    pushed, running = await run.push(deployment_id, command, instances)
    if restart == RESTART_ALL:
        targets, description = pushed, "Starting application"
    elif restart == RESTART_RUNNING:
        targets, description = [i for i in pushed if i in running], "Restarting application"
    else:
        targets, description = [], ""
    if not targets:
        return pushed
    failed = set(failures(await run.services(description, "restart", targets)))
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
