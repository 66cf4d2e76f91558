"""The application service's manager, as PlanDaemon is the plan service's:
it owns the store, the caller's levels (Directory), the agents and where
instances are (Instances), and runs the actions.

Each action checks the request in full and takes the application's lease
before anything changes (a refused request is an error, not a stream), then
returns the action's lines. The action itself runs as a task of its own that
streams its lines through a queue, so a client that goes away does not cut a
deployment in half; the lease (in the database, renewed while the action
runs) keeps one action at a time per application across replicas.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

from services.application import actions, stream
from services.application.actions import Run
from services.application.agents import AgentCallError, Agents
from services.application.command import DEPLOYMENT_VARIABLE, check_command, check_names
from services.application.fanout import Emit
from services.application.instances import Instances
from services.application.model import (
    BAD_PARAMS,
    CAUSE,
    NO_DEPLOYMENT,
    UNKNOWN_APP,
    Deployment,
    check_name,
    history,
    merge_instances,
    parse_count,
    parse_ref,
    parse_target,
    revert_target,
)
from services.application.rollout import AT_ONCE, Strategy
from services.application.store import RENEW_EVERY, ApplicationStore, Busy, NameTaken, instances_of
from services.beacon import levels
from services.beacon.users import Directory
from services.common import errors
from services.common.signing import Caller
from shoal.v1 import application_pb2, plan_pb2

log = logging.getLogger("shoal.application")

NOT_PERMITTED = "applications: user not permitted to modify application"

Events = AsyncIterator[application_pb2.StreamEvent]
Work = Callable[[Emit], Awaitable[None]]
STATUS_DEADLINE = 5.0  # per instance, for GET /applications/status


class ApplicationManager:
    def __init__(self, store: ApplicationStore, directory: Directory, agents: Agents, instances: Instances):
        self.store = store
        self.directory = directory
        self.agents = agents
        self.instances = instances
        self._tasks: set[asyncio.Task] = set()

    async def close(self) -> None:
        """Wait for the actions still running (they finish; nobody reads their lines)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- reads ----------------------------------------------------------------
    async def visible(self, caller: Caller) -> list[Mapping]:
        """The applications the caller holds any level on."""
        held = await self.directory.levels(caller.identity, caller.access)
        return [r for r in await self.store.applications() if held.application(r["name"]) >= levels.ACCESS]

    async def deployments(self, caller: Caller, ref_text: str, count_text: str) -> list[tuple[Deployment, int]]:
        """(deployment, Version) newest first; none for a caller without a
        level on the application (as Lighthouse: [] rather than 403)."""
        count = parse_count(count_text)
        row = await self.store.application(parse_ref(ref_text))
        if row is None:
            raise errors.not_found(UNKNOWN_APP, kind=CAUSE)
        held = await self.directory.levels(caller.identity, caller.access)
        if held.application(row["name"]) < levels.ACCESS:
            return []
        return history(await self.store.deployments(row["id"]), count)

    # -- actions --------------------------------------------------------------
    async def create(self, caller: Caller, name: str, command: Mapping, hosts: list[str], start: bool,
                     strategy: Strategy = AT_ONCE) -> Events:
        name = check_name(name)
        command = check_command(name, command)
        if not hosts:
            raise errors.invalid(f"{BAD_PARAMS}: Instances is empty")
        instances = await self.instances.deployable(caller, hosts)
        try:
            app_id, deployment_id, lease = await self.store.create(name, instances, command, caller.identity)
        except NameTaken:
            raise errors.invalid(f"applications: application {name} already exists") from None
        restart = actions.RESTART_ALL if start else actions.RESTART_NONE

        async def work(emit: Emit) -> None:
            run = self._run(caller, name, emit)
            if strategy.rolling:
                new = Deployment(deployment_id, app_id, command, caller.identity, "")
                rolled = await actions.roll(run, strategy, new, None, instances, restart)
                if not rolled.ok:  # stopped where it had started: as a create that reached nothing, undone
                    await self.store.delete(app_id)
                    log.info("%s: rolling create of %s %s; removed", caller.identity, name, rolled.outcome)
                    return
                await self.store.set_outcome(deployment_id, rolled.outcome)
                reached = instances
            else:
                reached = await actions.deploy(run, deployment_id, command, instances, restart)
            if not reached:
                await self.store.delete(app_id)  # as Lighthouse: a create that reached nothing is undone
                log.info("%s: create of %s reached no instance; removed", caller.identity, name)
                return
            await self.store.set_current(app_id, deployment_id, lease)
            try:
                await self.directory.set_level(caller.identity, levels.APPLICATIONS, name, levels.OWNER)
            except errors.DomainError as error:
                log.error("%s: could not record %s as owner: %s", name, caller.identity, error.message)
            log.info("%s created application %s on %d/%d instance(s)", caller.identity, name, len(reached), len(instances))

        return self._stream(app_id, lease, work)

    async def start(self, caller: Caller, ref_text: str) -> Events:
        row = await self._application(caller, ref_text, levels.MODIFY)
        deployment = await self._current(row)
        lease = await self._lease(row["id"])

        async def work(emit: Emit) -> None:
            run = self._run(caller, row["name"], emit)
            await actions.start(run, deployment.id, deployment.command, instances_of(row))

        return self._stream(row["id"], lease, work)

    async def stop(self, caller: Caller, ref_text: str) -> Events:
        row = await self._application(caller, ref_text, levels.MODIFY)
        lease = await self._lease(row["id"])

        async def work(emit: Emit) -> None:
            await actions.stop(self._run(caller, row["name"], emit), instances_of(row))

        return self._stream(row["id"], lease, work)

    async def revert(self, caller: Caller, ref_text: str, target_text: str, strategy: Strategy = AT_ONCE) -> Events:
        row = await self._application(caller, ref_text, levels.MODIFY)
        target = parse_target(target_text)
        own = [d.id for d in await self.store.deployments(row["id"])]
        chosen = await self.store.deployment(target) if target >= 0 else None
        target_id = revert_target(row["id"], own, target, chosen.app_id if chosen else None)
        deployment = await self.store.deployment(target_id)
        previous = await self._previous(row)
        lease = await self._lease(row["id"])

        async def work(emit: Emit) -> None:
            run = self._run(caller, row["name"], emit)
            if strategy.rolling:
                rolled = await actions.roll(
                    run, strategy, deployment, previous, instances_of(row), actions.RESTART_RUNNING
                )
                await self.store.set_outcome(deployment.id, rolled.outcome)
                reached = rolled.ok
            else:
                reached = await actions.deploy(
                    run, deployment.id, deployment.command, instances_of(row), actions.RESTART_RUNNING
                )
            if reached:
                await self.store.set_current(row["id"], deployment.id, lease)

        return self._stream(row["id"], lease, work)

    async def update(
        self, caller: Caller, ref_text: str, command: Mapping | None, add: list[str], remove: list[str], restart: bool,
        strategy: Strategy = AT_ONCE,
    ) -> Events:
        row = await self._application(caller, ref_text, levels.MODIFY)
        name = row["name"]
        if command is not None:
            command = check_command(name, command)
        if command is None and not add and not remove and not restart:
            raise errors.invalid(f"{BAD_PARAMS}: give Command, Add, Remove or restart")
        added = await self.instances.deployable(caller, add) if add else []
        current = instances_of(row)
        removed = await self.instances.members(caller, current, remove)
        instances = merge_instances(current, added, removed)
        new_instances = [i for i in instances if i not in current]
        if command is None:
            deployment = await self._current(row)
            deployment_id, command_now = deployment.id, deployment.command
        previous = await self._previous(row)
        lease = await self._lease(row["id"])

        async def work(emit: Emit) -> None:
            run = self._run(caller, name, emit)
            await self.store.set_instances(row["id"], instances, lease)
            if removed:
                await run.services("Stopping removed instances", "stop", removed)
            if command is not None:
                new_id = await self.store.add_deployment(row["id"], command, caller.identity)
                how = actions.RESTART_ALL if restart else actions.RESTART_RUNNING
                if strategy.rolling:
                    new = Deployment(new_id, row["id"], command, caller.identity, "")
                    rolled = await actions.roll(run, strategy, new, previous, instances, how)
                    await self.store.set_outcome(new_id, rolled.outcome)
                    if rolled.ok:
                        await self.store.set_current(row["id"], new_id, lease)
                elif await actions.deploy(run, new_id, command, instances, how):
                    await self.store.set_current(row["id"], new_id, lease)
            elif restart and strategy.rolling:
                await actions.roll(run, strategy, deployment, deployment, instances, actions.RESTART_ALL)
            elif restart:
                await actions.deploy(run, deployment_id, command_now, instances, actions.RESTART_ALL)
            elif new_instances:
                await actions.deploy(run, deployment_id, command_now, new_instances, actions.RESTART_NONE)

        return self._stream(row["id"], lease, work)

    # -- fleet status ---------------------------------------------------------
    async def status(self, caller: Caller, ref_text: str) -> list[application_pb2.InstanceStatus]:
        """Per instance, in the application's order: its service's state, the
        application's checks and the deployment its plan holds; asked of all
        at once, each within STATUS_DEADLINE (past it: unreachable)."""
        row = await self._application(caller, ref_text, levels.ACCESS)
        name = row["name"]
        current = await self.store.deployment(row["current_deployment"]) if row["current_deployment"] > 0 else None
        names = check_names(current.command) if current else []
        resolve = self.instances.resolver(caller)

        async def one(instance: str) -> application_pb2.InstanceStatus:
            try:
                return await asyncio.wait_for(self._instance_status(resolve, instance, name, names), STATUS_DEADLINE)
            except TimeoutError:
                message = f"instance {instance} did not answer within {STATUS_DEADLINE:g}s"
            except AgentCallError as error:
                message = error.outcome.message
            return application_pb2.InstanceStatus(
                instance=instance, state="unreachable", message=message, deployment=NO_DEPLOYMENT
            )

        return list(await asyncio.gather(*(one(i) for i in instances_of(row))))

    async def _instance_status(self, resolve: actions.Resolver, instance: str, name: str,
                               names: list[str]) -> application_pb2.InstanceStatus:
        target = await resolve(instance)
        service, checks, environment = await asyncio.gather(
            self.agents.service(target, name, STATUS_DEADLINE),
            self.agents.check_infos(target, names, STATUS_DEADLINE) if names else _nothing(),
            self.agents.plan_environment(target, name, STATUS_DEADLINE),
        )
        try:
            deployment = int(environment.get(DEPLOYMENT_VARIABLE, NO_DEPLOYMENT))
        except (TypeError, ValueError):
            deployment = NO_DEPLOYMENT
        return application_pb2.InstanceStatus(
            instance=instance, state="ok", current=service.current if service else "",
            startup=service.startup if service else "", deployment=deployment,
            checks=[_check(c) for c in checks],
        )

    # -- what every action needs ----------------------------------------------
    async def _application(self, caller: Caller, ref_text: str, needed: int) -> Mapping:
        """The application named by `{Id}`, if the caller holds `needed` on it."""
        row = await self.store.application(parse_ref(ref_text))
        if row is None:
            raise errors.not_found(UNKNOWN_APP, kind=CAUSE)
        held = await self.directory.levels(caller.identity, caller.access)
        if held.application(row["name"]) < needed:
            raise errors.denied(NOT_PERMITTED)
        return row

    async def _current(self, row: Mapping) -> Deployment:
        if row["current_deployment"] == NO_DEPLOYMENT:
            raise errors.invalid("applications: application has no deployment yet")
        deployment = await self.store.deployment(row["current_deployment"])
        if deployment is None:
            raise errors.internal("applications: the current deployment is missing")
        return deployment

    async def _previous(self, row: Mapping) -> Deployment | None:
        """What a rolling rollout that fails goes back to: the current deployment."""
        if row["current_deployment"] == NO_DEPLOYMENT:
            return None
        return await self.store.deployment(row["current_deployment"])

    async def _lease(self, app_id: int) -> str:
        try:
            return await self.store.acquire(app_id)
        except Busy:
            raise errors.conflict("applications: another action is running on this application") from None

    def _run(self, caller: Caller, name: str, emit: Emit) -> Run:
        return Run(self.agents, self.instances.resolver(caller), emit, name)

    async def _stream(self, app_id: int, lease: str, work: Work) -> Events:
        """Run `work` as its own task holding the lease, yielding its lines, then Finalized."""
        queue: asyncio.Queue = asyncio.Queue()

        async def runner() -> None:
            renewing = asyncio.get_running_loop().create_task(self._keep_lease(app_id, lease))
            try:
                await work(queue.put_nowait)
            except Exception:
                log.exception("application %s: action failed", app_id)
            finally:
                renewing.cancel()
                await self.store.release(app_id, lease)
                queue.put_nowait(stream.finalized())
                queue.put_nowait(None)

        task = asyncio.get_running_loop().create_task(runner())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        while (event := await queue.get()) is not None:
            yield event

    async def _keep_lease(self, app_id: int, lease: str) -> None:
        while True:
            await asyncio.sleep(RENEW_EVERY)
            try:
                if not await self.store.renew(app_id, lease):
                    log.warning("application %s: lease lost while an action ran", app_id)
            except Exception as error:  # noqa: BLE001 - the database is away; the next try may work
                log.warning("application %s: cannot renew lease: %s", app_id, error)


async def _nothing() -> list:
    return []


def _check(info: plan_pb2.CheckInfo) -> application_pb2.CheckStatus:
    return application_pb2.CheckStatus(
        name=info.name, level=info.level, status=info.status, successes=info.successes,
        failures=info.failures, threshold=info.threshold,
    )
