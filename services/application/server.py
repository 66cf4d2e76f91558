"""The application service's gRPC servicer (thin over its domain modules).

Requests are checked in full before anything changes (a refused request is
an error response, not a stream). An action then runs as a task of its own
that streams its lines through a queue, so a client that goes away does not
cut a deployment in half; the application's lease (in the database) keeps
one action at a time per application across replicas.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import grpc
from google.protobuf import json_format, struct_pb2

from services.application import actions, stream
from services.application.actions import Run
from services.application.agents import AgentCallError, Agents, Target
from services.application.command import check_command
from services.application.fanout import Emit
from services.application.model import (
    BAD_PARAMS,
    NO_DEPLOYMENT,
    UNKNOWN_APP,
    check_name,
    history,
    merge_instances,
    parse_count,
    parse_ref,
    parse_target,
    revert_target,
    unique,
)
from services.application.store import RENEW_EVERY, ApplicationStore, Busy, NameTaken, instances_of
from services.beacon import levels
from services.beacon.users import Directory
from services.common import errors, signing
from services.common.channels import open_channel
from services.common.config import Settings
from services.common.interceptor import current_caller
from services.common.server import serve
from shoal.v1 import application_pb2, application_pb2_grpc, beacon_pb2, beacon_pb2_grpc

log = logging.getLogger("shoal.application")

RESOLVE_DEADLINE = 10.0
NOT_PERMITTED = "applications: user not permitted to modify application"


def _struct(value: dict) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(value)
    return message


class ApplicationServicer(application_pb2_grpc.ApplicationServicer):
    def __init__(self, settings: Settings, store: ApplicationStore, directory: Directory, agents: Agents):
        self.settings = settings
        self.store = store
        self.directory = directory
        self.agents = agents
        self._beacon_channel = open_channel(settings.address("beacon"))
        self._beacon = beacon_pb2_grpc.BeaconStub(self._beacon_channel)
        self._tasks: set[asyncio.Task] = set()

    async def close(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._beacon_channel.close()

    # -- who and where --------------------------------------------------------
    async def _resolve(self, caller: signing.Caller, host: str, min_level: int) -> beacon_pb2.ResolvedInstance:
        request = beacon_pb2.ResolveInstanceRequest(
            host=host, min_level=min_level, on_behalf_of=caller.identity, on_behalf_of_access=caller.access
        )
        metadata = signing.sign(self.settings.secret, signing.service_caller("application"))
        return await self._beacon.ResolveInstance(request, metadata=metadata, timeout=RESOLVE_DEADLINE)

    async def _deployable(self, caller: signing.Caller, hosts: list[str]) -> list[str]:
        """The instance addresses of `hosts`, each one the caller may change
        (level ≥ 1 on its beacon); refused as a whole otherwise."""

        async def one(host: str) -> str:
            try:
                return (await self._resolve(caller, host, levels.MODIFY)).instance_address
            except grpc.aio.AioRpcError as error:
                code = error.code()
                if code == grpc.StatusCode.NOT_FOUND:
                    raise errors.invalid(f"applications: unknown instance {host}") from None
                if code == grpc.StatusCode.PERMISSION_DENIED:
                    raise errors.denied(f"applications: user not permitted to deploy to instance {host}") from None
                raise errors.unavailable(f"beacon service unavailable: {error.details()}") from None

        return unique(await asyncio.gather(*(one(h) for h in unique(hosts))))

    async def _members(self, caller: signing.Caller, current: list[str], hosts: list[str]) -> list[str]:
        """Which of `current` the `hosts` (addresses or aliases) name."""
        found = []
        for host in unique(hosts):
            if host not in current:
                try:
                    host = (await self._resolve(caller, host, levels.ACCESS)).instance_address
                except grpc.aio.AioRpcError:
                    continue
            if host in current and host not in found:
                found.append(host)
        return found

    def _resolver(self, caller: signing.Caller):
        async def resolve(instance: str) -> Target:
            try:
                found = await self._resolve(caller, instance, levels.ACCESS)
            except grpc.aio.AioRpcError as error:
                code = error.code()
                if code == grpc.StatusCode.NOT_FOUND:
                    outcome = stream.failed(instance, f"unknown instance {instance}", 404)
                elif code == grpc.StatusCode.PERMISSION_DENIED:
                    outcome = stream.failed(instance, f"user not permitted to access instance {instance}", 403)
                else:
                    outcome = stream.failed(instance, f"beacon service unavailable: {error.details()}", 502)
                raise AgentCallError(outcome) from None
            return Target(instance, found.instance_address, found.token)

        return resolve

    async def _application(self, caller: signing.Caller, ref_text: str, needed: int):
        """The application named by `{Id}`, if the caller holds `needed` on it."""
        row = await self.store.application(parse_ref(ref_text))
        if row is None:
            raise errors.not_found(UNKNOWN_APP, kind="applications")
        held = await self.directory.levels(caller.identity, caller.access)
        if held.application(row["name"]) < needed:
            raise errors.denied(NOT_PERMITTED)
        return row

    async def _lease(self, app_id: int) -> str:
        try:
            return await self.store.acquire(app_id)
        except Busy:
            raise errors.conflict("applications: another action is running on this application") from None

    # -- streaming ------------------------------------------------------------
    async def _stream(self, app_id: int, lease: str, work: Callable[[Emit], Awaitable[None]]):
        """Run `work` as its own task, yielding its lines, then Finalized."""
        queue: asyncio.Queue = asyncio.Queue()

        async def keep_lease() -> None:
            while True:
                await asyncio.sleep(RENEW_EVERY)
                try:
                    if not await self.store.renew(app_id, lease):
                        log.warning("application %s: lease lost while an action ran", app_id)
                except Exception as error:  # the database is away; the next try may work
                    log.warning("application %s: cannot renew lease: %s", app_id, error)

        async def runner() -> None:
            renewing = asyncio.get_running_loop().create_task(keep_lease())
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

    def _run(self, caller: signing.Caller, name: str, emit: Emit) -> Run:
        return Run(self.agents, self._resolver(caller), emit, name)

    # -- routes ---------------------------------------------------------------
    async def CreateApplication(self, request, context):
        caller = current_caller()
        spec = request.application
        name = check_name(spec.name)
        command = check_command(name, json_format.MessageToDict(spec.command))
        if not spec.instances:
            raise errors.invalid(f"{BAD_PARAMS}: Instances is empty")
        instances = await self._deployable(caller, list(spec.instances))
        try:
            app_id, deployment_id, lease = await self.store.create(name, instances, command, caller.identity)
        except NameTaken:
            raise errors.invalid(f"applications: application {name} already exists") from None
        restart = actions.RESTART_ALL if request.start else actions.RESTART_NONE

        async def work(emit: Emit) -> None:
            reached = await actions.deploy(self._run(caller, name, emit), deployment_id, command, instances, restart)
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

        async for event in self._stream(app_id, lease, work):
            yield event

    async def ListApplications(self, request, context):
        caller = current_caller()
        held = await self.directory.levels(caller.identity, caller.access)
        rows = [r for r in await self.store.applications() if held.application(r["name"]) >= levels.ACCESS]
        return application_pb2.ListApplicationsResponse(applications=[
            application_pb2.ApplicationInfo(
                id=r["id"], current_deployment=r["current_deployment"], name=r["name"], instances=instances_of(r)
            )
            for r in rows
        ])

    async def ListDeployments(self, request, context):
        caller = current_caller()
        count = parse_count(request.count)
        row = await self.store.application(parse_ref(request.id))
        if row is None:
            raise errors.not_found(UNKNOWN_APP, kind="applications")
        held = await self.directory.levels(caller.identity, caller.access)
        if held.application(row["name"]) < levels.ACCESS:
            return application_pb2.ListDeploymentsResponse()  # as Lighthouse: [] rather than 403
        return application_pb2.ListDeploymentsResponse(deployments=[
            application_pb2.Deployment(
                id=d.id, creator=d.creator, date=d.date, command=_struct(d.command), version=version
            )
            for d, version in history(await self.store.deployments(row["id"]), count)
        ])

    async def _current(self, row):
        if row["current_deployment"] == NO_DEPLOYMENT:
            raise errors.invalid("applications: application has no deployment yet")
        deployment = await self.store.deployment(row["current_deployment"])
        if deployment is None:
            raise errors.internal("applications: the current deployment is missing")
        return deployment

    async def StartApplication(self, request, context):
        caller = current_caller()
        row = await self._application(caller, request.id, levels.MODIFY)
        deployment = await self._current(row)
        lease = await self._lease(row["id"])

        async def work(emit: Emit) -> None:
            run = self._run(caller, row["name"], emit)
            await actions.start(run, deployment.id, deployment.command, instances_of(row))

        async for event in self._stream(row["id"], lease, work):
            yield event

    async def StopApplication(self, request, context):
        caller = current_caller()
        row = await self._application(caller, request.id, levels.MODIFY)
        lease = await self._lease(row["id"])

        async def work(emit: Emit) -> None:
            await actions.stop(self._run(caller, row["name"], emit), instances_of(row))

        async for event in self._stream(row["id"], lease, work):
            yield event

    async def RevertApplication(self, request, context):
        caller = current_caller()
        row = await self._application(caller, request.id, levels.MODIFY)
        target = parse_target(request.target)
        own = [d.id for d in await self.store.deployments(row["id"])]
        chosen = await self.store.deployment(target) if target >= 0 else None
        target_id = revert_target(row["id"], own, target, chosen.app_id if chosen else None)
        deployment = await self.store.deployment(target_id)
        lease = await self._lease(row["id"])

        async def work(emit: Emit) -> None:
            run = self._run(caller, row["name"], emit)
            reached = await actions.deploy(
                run, deployment.id, deployment.command, instances_of(row), actions.RESTART_RUNNING
            )
            if reached:
                await self.store.set_current(row["id"], deployment.id, lease)

        async for event in self._stream(row["id"], lease, work):
            yield event

    async def UpdateApplication(self, request, context):
        caller = current_caller()
        row = await self._application(caller, request.id, levels.MODIFY)
        name = row["name"]
        change = request.change
        command = None
        if change.HasField("command"):
            command = check_command(name, json_format.MessageToDict(change.command))
        if command is None and not change.add and not change.remove and not request.restart:
            raise errors.invalid(f"{BAD_PARAMS}: give Command, Add, Remove or restart")
        added = await self._deployable(caller, list(change.add)) if change.add else []
        current = instances_of(row)
        removed = await self._members(caller, current, list(change.remove))
        instances = merge_instances(current, added, removed)
        new_instances = [i for i in instances if i not in current]
        if command is None:
            deployment = await self._current(row)
            deployment_id, command_now = deployment.id, deployment.command
        lease = await self._lease(row["id"])

        async def work(emit: Emit) -> None:
            run = self._run(caller, name, emit)
            await self.store.set_instances(row["id"], instances, lease)
            if removed:
                await run.services("Stopping removed instances", "stop", removed)
            if command is not None:
                new_id = await self.store.add_deployment(row["id"], command, caller.identity)
                restart = actions.RESTART_ALL if request.restart else actions.RESTART_RUNNING
                if await actions.deploy(run, new_id, command, instances, restart):
                    await self.store.set_current(row["id"], new_id, lease)
            elif request.restart:
                await actions.deploy(run, deployment_id, command_now, instances, actions.RESTART_ALL)
            elif new_instances:
                await actions.deploy(run, deployment_id, command_now, new_instances, actions.RESTART_NONE)

        async for event in self._stream(row["id"], lease, work):
            yield event


async def run(settings: Settings, args) -> None:
    store = await ApplicationStore.open(settings)
    directory = Directory(settings, "application")
    agents = Agents()
    servicer = ApplicationServicer(settings, store, directory, agents)

    async def register(server: grpc.aio.Server):
        application_pb2_grpc.add_ApplicationServicer_to_server(servicer, server)

        async def cleanup() -> None:
            await servicer.close()
            await agents.close()
            await directory.close()
            await store.close()

        return cleanup

    await serve("application", settings, register, address=getattr(args, "listen", "") or None)
