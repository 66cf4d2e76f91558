"""The application service's gRPC servicer (thin over its domain modules)."""

from __future__ import annotations

import grpc

from services.common.config import Settings
from services.common.server import serve
from shoal.v1 import application_pb2_grpc


class ApplicationServicer(application_pb2_grpc.ApplicationServicer):
    def __init__(self, settings: Settings):
        self.settings = settings


async def run(settings: Settings, args) -> None:
    async def register(server: grpc.aio.Server):
        application_pb2_grpc.add_ApplicationServicer_to_server(ApplicationServicer(settings), server)
        return None

    await serve("application", settings, register, address=getattr(args, "listen", "") or None)
