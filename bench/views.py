"""View-served reads, measured side by side in one run (wrk, 32
connections), on a layer of 10 running services and 2 checks:

- view-served `GET /v1/services` ÷ a bare aiohttp handler answering the same
  bytes on the same transport (bench/fixed.py) — goal ≥ 0.85: the unix
  socket through the same socat bridge (as the issue measured Pebble; the
  caller is the peer, admin), HTTPS with an API token, and plain HTTP for
  the open `GET /v1/system-info`;
- each view route ÷ its RPC path (HTTPS, token; a second gateway on the same suite with
  SHOAL_GATEWAY_VIEWS=0, bench/second_gateway.py); `GET /v1/notices`, whose
  answer needs the caller's uid (a token has none), through the unix sockets
  of both gateways via socat, with 20 notices;
- how the cost grows: `GET /v1/services` with 200 services and
  `GET /v1/changes?select=all` with 1,000 changes, view and RPC.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.gateway_ratio import _combined, _wait_port
from bench.load import run_wrk, wrk_available
from bench.suite import ROOT, call, free_port, running_suite

SECONDS = 3


def _layer(names: list[str]) -> str:
    lines = ["services:"]
    for name in names:
        lines += [f"  {name}:", "    override: replace", "    command: sleep 100000"]
    return "\n".join(lines) + "\n"


CHECKS = """checks:
  up:
    override: replace
    level: alive
    period: 10s
    exec:
      command: "true"
  ready:
    override: replace
    level: ready
    period: 10s
    exec:
      command: "true"
"""


def _start(suite, names: list[str]) -> None:
    change = call(suite, "POST", "/v1/services", {"action": "start", "services": names})["change"]
    call(suite, "GET", f"/v1/changes/{change}/wait?timeout=60s")


@contextlib.contextmanager
def _process(*args: str, env=None, python: bool = True):
    command = [sys.executable, "-m", *args] if python else list(args)
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield process
    finally:
        process.terminate()
        process.wait(20)


def _pair(url_a: str, url_b: str, headers: dict, seconds: int = SECONDS):
    """Two URLs measured alternately, twice each, so drift hits both alike."""
    a, b = [], []
    for _ in range(2):
        a.append(run_wrk(url_a, headers, seconds=seconds))
        b.append(run_wrk(url_b, headers, seconds=seconds))
    return _combined(a), _combined(b)


async def main() -> dict:
    if not wrk_available():
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    rows: list[tuple[str, str, str]] = []
    latency: dict = {}
    errors: dict[str, int] = {}  # run → socket errors and non-2xx answers

    def count(label: str, *results) -> None:
        for name, result in zip(("view", "other"), results, strict=True):
            if result.errors + result.non_2xx:
                errors[f"{label} ({name})"] = result.errors + result.non_2xx
    with running_suite() as suite, tempfile.TemporaryDirectory(prefix="shoal-bench-views-") as tmp:
        token = call(suite, "POST", "/api/security/tokens", {"name": "bench"})["token"]
        headers = {"X-API-Token": token}
        ten = [f"svc-{i:03d}" for i in range(10)]
        call(suite, "POST", "/v1/layers", {"action": "add", "label": "bench", "format": "yaml",
                                           "layer": _layer(ten) + CHECKS, "combine": True})
        _start(suite, ten)
        rpc_port, fixed_port = free_port(), free_port()
        env = {**suite.env, "SHOAL_GATEWAY_VIEWS": "0"}
        view = f"https://127.0.0.1:{suite.https_port}"
        rpc = f"https://127.0.0.1:{rpc_port}"
        body_file, info_file = Path(tmp) / "services.json", Path(tmp) / "system-info.json"
        body_file.write_bytes(suite.https("GET", "/v1/services", headers=headers).body)
        info_file.write_bytes(suite.http("GET", "/v1/system-info").body)
        fixed_unix = Path(tmp) / "fixed.sock"
        bridge_view, bridge_fixed, plain_fixed, bridge_rpc = free_port(), free_port(), free_port(), free_port()
        for n in range(20):  # notices: as a peer uid asks for them (a token caller has no uid)
            call(suite, "POST", "/v1/notices", {"action": "add", "type": "custom", "key": f"bench.example.com/n{n}",
                                                "data": {"n": str(n)}})
        with _process("bench.second_gateway", "--socket", str(Path(tmp) / "rpc.sock"),
                      "--https", f"127.0.0.1:{rpc_port}", env=env), \
                _process("bench.fixed", "--port", str(fixed_port), "--home", str(suite.home),
                         "--body", str(body_file)), \
                _process("bench.fixed", "--unix", str(fixed_unix), "--body", str(body_file)), \
                _process("bench.fixed", "--port", str(plain_fixed), "--body", str(info_file)), \
                _process("socat", f"TCP-LISTEN:{bridge_view},fork,reuseaddr,bind=127.0.0.1",
                         f"UNIX-CONNECT:{suite.socket}", python=False), \
                _process("socat", f"TCP-LISTEN:{bridge_fixed},fork,reuseaddr,bind=127.0.0.1",
                         f"UNIX-CONNECT:{fixed_unix}", python=False), \
                _process("socat", f"TCP-LISTEN:{bridge_rpc},fork,reuseaddr,bind=127.0.0.1",
                         f"UNIX-CONNECT:{Path(tmp) / 'rpc.sock'}", python=False):
            for port in (rpc_port, fixed_port, plain_fixed, bridge_view, bridge_fixed, bridge_rpc):
                _wait_port(port, 30)
            fixed = f"https://127.0.0.1:{fixed_port}"
            for url in (view, rpc, fixed):
                run_wrk(url + "/v1/services", headers, seconds=1)  # warm up caches and connections
            sides = [
                ("unix socket via socat", f"http://127.0.0.1:{bridge_fixed}/v1/services",
                 f"http://127.0.0.1:{bridge_view}/v1/services", {}),
                ("HTTPS, token", fixed + "/v1/services", view + "/v1/services", headers),
                ("plain HTTP, GET /v1/system-info", f"http://127.0.0.1:{plain_fixed}/v1/system-info",
                 f"http://127.0.0.1:{suite.http_port}/v1/system-info", {}),
            ]
            for label, bare_url, view_url, side_headers in sides:
                bare, viewed = _pair(bare_url, view_url, side_headers)
                shown = (f"{label}: view ÷ bare aiohttp ({viewed.requests_per_second:.0f} ÷ "
                         f"{bare.requests_per_second:.0f} req/s)")
                rows += [(shown, f"{viewed.requests_per_second / bare.requests_per_second:.2f}", "goal ≥ 0.85")]
                latency[f"bare aiohttp, {label}"] = bare.latency_ms
                latency[f"view, {label}"] = viewed.latency_ms
                count(label, viewed, bare)

            change = call(suite, "GET", "/v1/changes?select=all")["result"][0]["id"]
            paths = ["/v1/services", "/v1/checks", "/v1/health", "/v1/system-info", "/v1/changes?select=all",
                     f"/v1/changes/{change}"]
            for path in paths:
                by_view, by_rpc = _pair(view + path, rpc + path, headers)
                shown = path if path.startswith("/v1/changes?") else path.replace(f"/{change}", "/{id}")
                label = (f"GET {shown}: view ÷ RPC "
                         f"({by_view.requests_per_second:.0f} ÷ {by_rpc.requests_per_second:.0f})")
                rows.append((label, f"{by_view.requests_per_second / by_rpc.requests_per_second:.2f}", ""))
                count(path, by_view, by_rpc)
                if path == "/v1/services":
                    latency["RPC /v1/services"] = by_rpc.latency_ms

            for path in ("/v1/notices", "/v1/notices?types=custom&keys=bench.example.com/n3"):
                by_view, by_rpc = _pair(f"http://127.0.0.1:{bridge_view}{path}",
                                        f"http://127.0.0.1:{bridge_rpc}{path}", {})
                label = (f"GET {path} (unix socket via socat, peer uid): view ÷ RPC "
                         f"({by_view.requests_per_second:.0f} ÷ {by_rpc.requests_per_second:.0f})")
                rows.append((label, f"{by_view.requests_per_second / by_rpc.requests_per_second:.2f}", ""))
                count(path, by_view, by_rpc)

            more = [f"svc-{i:03d}" for i in range(10, 200)]
            call(suite, "POST", "/v1/layers", {"action": "add", "label": "bench-200", "format": "yaml",
                                               "layer": _layer(more), "combine": True})
            by_view, by_rpc = _pair(view + "/v1/services", rpc + "/v1/services", headers)
            rows.append(("GET /v1/services, 200 services: view, RPC (req/s)",
                         f"{by_view.requests_per_second:.0f}, {by_rpc.requests_per_second:.0f}", ""))
            count("200 services", by_view, by_rpc)

            existing = len(call(suite, "GET", "/v1/changes?select=all")["result"])
            for _ in range(1000 - existing):
                call(suite, "POST", "/v1/services", {"action": "replan"})
            count_ = len(call(suite, "GET", "/v1/changes?select=all")["result"])
            by_view, by_rpc = _pair(view + "/v1/changes?select=all", rpc + "/v1/changes?select=all", headers)
            rows.append((f"GET /v1/changes?select=all, {count_} changes: view, RPC (req/s)",
                         f"{by_view.requests_per_second:.0f}, {by_rpc.requests_per_second:.0f}", ""))
            count(f"{count_} changes", by_view, by_rpc)
    rows.append(("errors + non-2xx (view runs)", str(sum(v for k, v in errors.items() if k.endswith("(view)"))),
                 "expect 0"))
    rows.append(("errors + non-2xx (other runs: bare, RPC; wrk's 2 s timeout)",
                 str(sum(v for k, v in errors.items() if k.endswith("(other)"))), ""))
    return {"title": "gateway views", "rows": rows, "latency": latency}
