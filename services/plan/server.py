"""The plan service's gRPC servicer: thin, converting messages and calling
the node agent's managers."""

from __future__ import annotations

from pathlib import Path

import grpc

from services.common.config import Settings
from services.common.server import serve
from shoal import __version__
from shoal.v1 import plan_pb2, plan_pb2_grpc


def boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


class PlanServicer(plan_pb2_grpc.PlanServicer):
    def __init__(self, settings: Settings):
        self.settings = settings
        self._boot_id = boot_id()

    async def GetSystemInfo(self, request, context):
        info = plan_pb2.SystemInfo(boot_id=self._boot_id, version=__version__)
        if self.settings.http_address:
            info.http_address = self.settings.http_address
        if self.settings.https_address:
            info.https_address = self.settings.https_address
        return info

    async def GetHealth(self, request, context):
        return plan_pb2.Health(healthy=True)


async def run(settings: Settings, args) -> None:
    async def register(server: grpc.aio.Server):
        plan_pb2_grpc.add_PlanServicer_to_server(PlanServicer(settings), server)
        return None

    await serve("plan", settings, register, address=getattr(args, "listen", "") or None)
