"""The floor the gateway is measured against: a bare aiohttp handler that
makes one gRPC call to the plan service and answers its JSON, with no
authentication, routing table or error shaping. Run as a process:

    python -m bench.hop --port P --home SHOAL_HOME

It serves HTTPS with the suite's own certificate, so both paths pay for TLS.
"""

from __future__ import annotations

import argparse
import ssl
from pathlib import Path

import grpc
import orjson
import uvloop
from aiohttp import web
from google.protobuf import json_format

from services.common import signing
from shoal.v1 import plan_pb2, plan_pb2_grpc


def build_app(home: Path) -> web.Application:
    secret = (home / "secret").read_bytes().strip()
    channel_holder: dict = {}

    async def services(request: web.Request) -> web.Response:
        stub = channel_holder["stub"]
        metadata = signing.sign(secret, signing.Caller("bench", "admin"))
        answer = await stub.ListServices(plan_pb2.ListServicesRequest(), metadata=metadata, timeout=10)
        result = json_format.MessageToDict(answer, preserving_proto_field_name=False)["services"] \
            if answer.services else []
        body = {"type": "sync", "status-code": 200, "status": "OK", "result": result}
        return web.Response(body=orjson.dumps(body), content_type="application/json")

    async def start(app: web.Application) -> None:
        channel = grpc.aio.insecure_channel(f"unix:{home / 'run' / 'plan.sock'}")
        channel_holder["stub"] = plan_pb2_grpc.PlanStub(channel)
        channel_holder["channel"] = channel

    async def stop(app: web.Application) -> None:
        await channel_holder["channel"].close()

    app = web.Application()
    app.router.add_get("/v1/services", services)
    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--home", type=Path, required=True)
    args = parser.parse_args()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.home / "tls" / "cert.pem", args.home / "tls" / "key.pem")
    uvloop.install()
    web.run_app(build_app(args.home), host="127.0.0.1", port=args.port, ssl_context=context,
                access_log=None, print=None)


if __name__ == "__main__":
    main()
