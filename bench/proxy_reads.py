"""What a view could save on the instance proxy's hot read, measured side
by side in one run (wrk, 32 connections, the unix sockets via socat, the
caller the peer root): `GET /api/v0.2/d/{Host}/v1/services` (a plan agent
on loopback with the same 10 services) ÷ the local `GET /v1/services`
through the RPC (a second gateway with SHOAL_GATEWAY_VIEWS=0), and the
local view ÷ the proxied read.

A proxied read pays the beacon service's `ResolveInstance` (the caller's
level on the beacon, the instance's address checked against the dial
policy, its token) and then the agent's RPC; a view of the agent would
take away only the second. Alone: `python -m bench.run bench.proxy_reads`.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import grpc

from bench.gateway_ratio import _wait_port
from bench.load import wrk_available
from bench.suite import call, free_port, running_suite
from bench.views import CHECKS, _layer, _pair, _process, _start
from services.common import signing
from shoal.v1 import beacon_pb2, beacon_pb2_grpc, plan_pb2, plan_pb2_grpc
from tests.agents import METADATA_KEY, Agent

CALLS = 300  # sequential calls of each hop, alternating in rounds


async def _hops(suite, agent: Agent) -> list[tuple[str, str, str]]:
    """The proxied read's two gRPC hops, one after another as the gateway
    makes them: ResolveInstance (gateway → beacon) and ListServices
    (gateway → agent, its beacon token)."""
    signed = signing.sign(suite.secret(), signing.service_caller("gateway"), ttl=600)
    resolve = beacon_pb2.ResolveInstanceRequest(host="node0", min_level=0, on_behalf_of="uid:0",
                                                on_behalf_of_access="admin")
    took = {"resolve": 0.0, "agent": 0.0}
    async with grpc.aio.insecure_channel(suite.grpc_address("beacon")) as beacon, \
            grpc.aio.insecure_channel(agent.address) as plan:
        beacon_stub, plan_stub = beacon_pb2_grpc.BeaconStub(beacon), plan_pb2_grpc.PlanStub(plan)
        token = ((METADATA_KEY, agent.token),)
        for _ in range(3):  # rounds, so drift hits both alike
            for _ in range(CALLS // 3):
                started = time.perf_counter()
                await beacon_stub.ResolveInstance(resolve, metadata=signed, timeout=10)
                middle = time.perf_counter()
                await plan_stub.ListServices(plan_pb2.ListServicesRequest(), metadata=token, timeout=10)
                took["resolve"] += middle - started
                took["agent"] += time.perf_counter() - middle
    resolve_ms, agent_ms = (1000 * took[k] / CALLS for k in ("resolve", "agent"))
    return [((f"hop, ResolveInstance (gateway → beacon): {resolve_ms:.2f} ms; ListServices (→ agent): "
             f"{agent_ms:.2f} ms; the agent's share of both"), f"{agent_ms / (resolve_ms + agent_ms):.2f}", "")]


async def main() -> dict:
    if not wrk_available():
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    rows: list[tuple[str, str, str]] = []
    with running_suite() as suite, tempfile.TemporaryDirectory(prefix="shoal-bench-proxy-") as tmp:
        ten = [f"svc-{i:03d}" for i in range(10)]
        layer = {"action": "add", "label": "bench", "format": "yaml", "layer": _layer(ten) + CHECKS, "combine": True}
        call(suite, "POST", "/v1/layers", layer)
        _start(suite, ten)
        agent = Agent(Path(tmp) / "agent").start()
        try:
            call(suite, "POST", "/api/v0.2/beacons/create", {"Address": agent.address, "Token": agent.token,
                                                              "Alias": "node0"})
            proxied = "/api/v0.2/d/node0"
            call(suite, "POST", proxied + "/v1/layers", layer)
            change = call(suite, "POST", proxied + "/v1/services", {"action": "start", "services": ten})["change"]
            call(suite, "GET", f"{proxied}/v1/changes/{change}/wait?timeout=60s")
            env = {**suite.env, "SHOAL_GATEWAY_VIEWS": "0"}
            rpc_socket, bridge, bridge_rpc = Path(tmp) / "rpc.sock", free_port(), free_port()
            with _process("bench.second_gateway", "--socket", str(rpc_socket), "--https",
                          f"127.0.0.1:{free_port()}", env=env), \
                    _process("socat", f"TCP-LISTEN:{bridge},fork,reuseaddr,bind=127.0.0.1",
                             f"UNIX-CONNECT:{suite.socket}", python=False), \
                    _process("socat", f"TCP-LISTEN:{bridge_rpc},fork,reuseaddr,bind=127.0.0.1",
                             f"UNIX-CONNECT:{rpc_socket}", python=False):
                for port in (bridge, bridge_rpc):
                    _wait_port(port, 30)
                view, rpc = f"http://127.0.0.1:{bridge}", f"http://127.0.0.1:{bridge_rpc}"
                through, local_rpc = _pair(view + proxied + "/v1/services", rpc + "/v1/services", {})
                local_view, _ = _pair(view + "/v1/services", rpc + "/v1/services", {})
                # An address no beacon has: ResolveInstance answers 404, the agent is never asked.
                resolve_only, _ = _pair(view + "/api/v0.2/d/127.0.0.9:1/v1/services", rpc + "/v1/services", {})
                p, r, v, q = (x.requests_per_second for x in (through, local_rpc, local_view, resolve_only))
                rows += [
                    (f"proxied GET /v1/services ÷ local RPC path ({p:.0f} ÷ {r:.0f} req/s)", f"{p / r:.2f}", ""),
                    (f"local view ÷ proxied ({v:.0f} ÷ {p:.0f} req/s)", f"{v / p:.2f}", ""),
                    ((f"proxied, unknown host (ResolveInstance only, 404) ÷ proxied ({q:.0f} ÷ {p:.0f} req/s): "
                     "the most a view of the agent could give"), f"{q / p:.2f}", ""),
                    ("errors + non-2xx", str(sum(x.errors + x.non_2xx for x in (through, local_rpc, local_view))),
                     "expect 0"),
                ]
            rows += await _hops(suite, agent)
        finally:
            agent.stop()
    return {"title": "instance proxy reads", "rows": rows, "latency": {}}
