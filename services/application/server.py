"""The application service's gRPC servicer: thin, converting messages and
calling the manager (manager.py), which checks each request in full and runs
the actions."""

from __future__ import annotations

import grpc
from google.protobuf import json_format, struct_pb2

from services.application.agents import Agents
from services.application.instances import Instances
from services.application.manager import ApplicationManager
from services.application.rollout import parse_strategy
from services.application.store import ApplicationStore, instances_of
from services.beacon.users import Directory
from services.common.config import Settings
from services.common.interceptor import current_caller
from services.common.server import serve
from shoal.v1 import application_pb2, application_pb2_grpc


def _strategy(request):
    return parse_strategy(request.strategy, request.batch, request.max_unavailable, request.deadline)


def _struct(value: dict) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(value)
    return message


class ApplicationServicer(application_pb2_grpc.ApplicationServicer):
    def __init__(self, manager: ApplicationManager):
        self.manager = manager

    async def ListApplications(self, request, context):
        rows = await self.manager.visible(current_caller())
        return application_pb2.ListApplicationsResponse(applications=[
            application_pb2.ApplicationInfo(
                id=r["id"], current_deployment=r["current_deployment"], name=r["name"], instances=instances_of(r)
            )
            for r in rows
        ])

    async def ListDeployments(self, request, context):
        found = await self.manager.deployments(current_caller(), request.id, request.count)
        return application_pb2.ListDeploymentsResponse(deployments=[
            application_pb2.Deployment(
                id=d.id, creator=d.creator, date=d.date, command=_struct(d.command), version=version,
                outcome=d.outcome,
            )
            for d, version in found
        ])

    # Each action is refused before its first line, or streams to the end.
    async def CreateApplication(self, request, context):
        spec = request.application
        events = await self.manager.create(
            current_caller(), spec.name, json_format.MessageToDict(spec.command), list(spec.instances), request.start,
            _strategy(request),
        )
        async for event in events:
            yield event

    async def StartApplication(self, request, context):
        async for event in await self.manager.start(current_caller(), request.id):
            yield event

    async def StopApplication(self, request, context):
        async for event in await self.manager.stop(current_caller(), request.id):
            yield event

    async def RevertApplication(self, request, context):
        async for event in await self.manager.revert(current_caller(), request.id, request.target, _strategy(request)):
            yield event

    async def RevertApplicationPost(self, request, context):
        """POST /applications/revert/{Id}, as documented: the same revert."""
        async for event in await self.manager.revert(current_caller(), request.id, request.target, _strategy(request)):
            yield event

    async def UpdateApplication(self, request, context):
        change = request.change
        command = json_format.MessageToDict(change.command) if change.HasField("command") else None
        events = await self.manager.update(
            current_caller(), request.id, command, list(change.add), list(change.remove), request.restart,
            _strategy(request),
        )
        async for event in events:
            yield event

    async def ApplicationStatus(self, request, context):
        found = await self.manager.status(current_caller(), request.id)
        return application_pb2.ApplicationStatusResponse(instances=found)


async def run(settings: Settings, args) -> None:
    store = await ApplicationStore.open(settings)
    directory = Directory(settings, "application")
    agents = Agents(idle=settings.agent_idle_seconds)
    instances = Instances(settings)
    manager = ApplicationManager(store, directory, agents, instances)

    async def register(server: grpc.aio.Server):
        application_pb2_grpc.add_ApplicationServicer_to_server(ApplicationServicer(manager), server)

        async def cleanup() -> None:
            await manager.close()
            await instances.close()
            await agents.close()
            await directory.close()
            await store.close()

        return cleanup

    await serve("application", settings, register, address=getattr(args, "listen", "") or None)
