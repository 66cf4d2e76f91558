"""Gateway cost, measured side by side in one run (wrk, HTTPS, 32 connections):

- token `GET /v1/services` through the gateway ÷ the bare aiohttp → gRPC hop
  (bench/hop.py) — goal ≥ 0.90; both make the RPC (the suite runs with
  SHOAL_GATEWAY_VIEWS=0: bench/views.py measures the views);
- basic-auth reads ÷ token reads — goal ≥ 0.80 (a verified basic credential
  is cached, so steady-state basic reads skip sha512-crypt);
- good-token throughput during a wrong-password flood ÷ without it — goal
  ≥ 0.70 (bad passwords hash off the event loop with bounded concurrency).
"""

from __future__ import annotations

import asyncio
import base64
import subprocess
import sys
import time

from bench.load import run_wrk, wrk_available
from bench.suite import ROOT, call, free_port, running_suite

SECONDS = 8


def _basic_hash(password: str) -> str:
    return subprocess.run(["openssl", "passwd", "-6", password], capture_output=True, text=True,
                          check=True).stdout.strip()


def _wait_port(port: int, timeout: float = 10) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"port {port} not listening")


def _combined(results):
    """Two runs of one path as one: mean throughput, worse percentiles, summed errors."""
    from bench.load import LoadResult

    return LoadResult(
        requests_per_second=sum(r.requests_per_second for r in results) / len(results),
        latency_ms={p: max(r.latency_ms.get(p, 0.0) for r in results) for p in results[0].latency_ms},
        non_2xx=sum(r.non_2xx for r in results),
        errors=sum(r.errors for r in results),
    )


def _measure() -> dict:
    if not wrk_available():
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    with running_suite({"SHOAL_GATEWAY_VIEWS": "0"}) as suite:
        token = call(suite, "POST", "/api/security/tokens", {"name": "bench"})["token"]
        call(suite, "POST", "/v1/identities", {"action": "add", "identities": {
            "bench": {"access": "read", "basic": {"password": _basic_hash("bench-password")}}}})
        hop_port = free_port()
        hop = subprocess.Popen([sys.executable, "-m", "bench.hop", "--port", str(hop_port),
                                "--home", str(suite.home)], cwd=ROOT)
        try:
            _wait_port(hop_port)
            gateway_url = f"https://127.0.0.1:{suite.https_port}/v1/services"
            hop_url = f"https://127.0.0.1:{hop_port}/v1/services"
            token_headers = {"X-API-Token": token}
            basic = base64.b64encode(b"bench:bench-password").decode()
            bad = base64.b64encode(b"intruder:wrong-password").decode()
            basic_headers = {"Authorization": f"Basic {basic}"}
            run_wrk(gateway_url, token_headers, seconds=2)  # warm up caches and connections
            run_wrk(gateway_url, basic_headers, seconds=2)
            run_wrk(hop_url, seconds=2)
            # Side by side, alternating, so drift in the machine hits all three alike.
            hops, tokens, basics = [], [], []
            for _ in range(2):
                hops.append(run_wrk(hop_url, seconds=SECONDS // 2))
                tokens.append(run_wrk(gateway_url, token_headers, seconds=SECONDS // 2))
                basics.append(run_wrk(gateway_url, basic_headers, seconds=SECONDS // 2))
            hop_result, token_result, basic_result = (_combined(r) for r in (hops, tokens, basics))
            flood = subprocess.Popen(
                ["wrk", "-t1", "-c16", f"-d{SECONDS + 2}s", "-H", f"Authorization: Basic {bad}", gateway_url],
                stdout=subprocess.DEVNULL,
            )
            time.sleep(1)
            flooded = run_wrk(gateway_url, token_headers, seconds=SECONDS)
            flood.wait()
        finally:
            hop.terminate()
            hop.wait()
    ratio = token_result.requests_per_second / hop_result.requests_per_second
    basic_ratio = basic_result.requests_per_second / token_result.requests_per_second
    flood_ratio = flooded.requests_per_second / token_result.requests_per_second
    return {
        "title": "gateway path",
        "rows": [
            ("bare aiohttp→gRPC hop (req/s)", f"{hop_result.requests_per_second:.0f}", ""),
            ("gateway, token GET /v1/services (req/s)", f"{token_result.requests_per_second:.0f}", ""),
            ("gateway ÷ bare hop", f"{ratio:.2f}", "goal ≥ 0.90"),
            ("gateway, basic GET /v1/services (req/s)", f"{basic_result.requests_per_second:.0f}", ""),
            ("basic ÷ token", f"{basic_ratio:.2f}", "goal ≥ 0.80"),
            ("token during a bad-password flood (req/s)", f"{flooded.requests_per_second:.0f}", ""),
            ("flooded ÷ calm", f"{flood_ratio:.2f}", "goal ≥ 0.70"),
            ("errors / non-2xx (token, basic, flooded)",
             (f"{token_result.errors + token_result.non_2xx}/{basic_result.errors + basic_result.non_2xx}/"
              f"{flooded.errors + flooded.non_2xx}"), "expect 0/0/0"),
        ],
        "latency": {
            "bare hop": hop_result.latency_ms,
            "gateway token": token_result.latency_ms,
            "gateway basic": basic_result.latency_ms,
            "gateway token, flooded": flooded.latency_ms,
        },
    }


async def main() -> dict:
    return await asyncio.to_thread(_measure)  # wrk and the hop run as blocking subprocesses
