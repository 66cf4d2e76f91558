"""The beacon service's gRPC servicer (thin over its domain modules)."""

from __future__ import annotations

import grpc

from services.common.config import Settings
from services.common.server import serve
from shoal.v1 import beacon_pb2_grpc


class BeaconServicer(beacon_pb2_grpc.BeaconServicer):
    def __init__(self, settings: Settings):
        self.settings = settings


async def run(settings: Settings, args) -> None:
    async def register(server: grpc.aio.Server):
        beacon_pb2_grpc.add_BeaconServicer_to_server(BeaconServicer(settings), server)
        return None

    await serve("beacon", settings, register, address=getattr(args, "listen", "") or None)
