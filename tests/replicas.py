"""Shoal as Kubernetes runs it, on one machine: each process started alone
(`shoal service NAME --listen`, `shoal gateway`) with the environment the
manifests set — one PostgreSQL database (a schema prefix of its own per
test), one SHOAL_SECRET, one audit key, and every service target listing all
of its replicas (`ipv4:127.0.0.1:A,127.0.0.1:B`)."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.databases import PG_URL
from tests.support import ROOT, UnixHTTPConnection, free_port, request, stop_process

REPLICATED = ("identity", "beacon", "application")


@dataclass
class Process:
    name: str
    command: list[str]
    env: dict
    log: Path
    port: int = 0
    popen: subprocess.Popen | None = None

    def start(self) -> Process:
        with open(self.log, "ab") as log:
            self.popen = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=log,
                                          stderr=subprocess.STDOUT)
        return self

    def kill(self) -> None:
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait()

    def stop(self) -> int:
        return stop_process(self.popen)

    def wait_serving(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        with grpc.insecure_channel(f"127.0.0.1:{self.port}") as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while True:
                if self.popen.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {self.popen.returncode}; see {self.log}")
                try:
                    answer = stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                    if answer.status == health_pb2.HealthCheckResponse.SERVING:
                        return
                except grpc.RpcError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{self.name} not serving in {timeout}s; see {self.log}")
                time.sleep(0.05)


@dataclass
class Cluster:
    root: Path
    replicas: int = 2
    gateways: int = 2
    prefix: str = field(default_factory=lambda: f"r{secrets.token_hex(4)}_")
    processes: dict[str, Process] = field(default_factory=dict)

    def __post_init__(self):
        self.root.mkdir(parents=True, exist_ok=True)
        self.ports = {f"{s}{i}": free_port() for s in REPLICATED for i in range(self.replicas)}
        self.ports["plan0"] = free_port()
        targets = {s: "ipv4:" + ",".join(f"127.0.0.1:{self.ports[f'{s}{i}']}" for i in range(self.replicas))
                   for s in REPLICATED}
        targets["plan"] = f"127.0.0.1:{self.ports['plan0']}"
        self.env = {
            **os.environ,
            "SHOAL_SECRET": secrets.token_hex(32),
            "SHOAL_DATABASE_URL": PG_URL,
            "SHOAL_DATABASE_SCHEMA_PREFIX": self.prefix,
            "SHOAL_AUDIT_KEY_FILE": str(self.root / "audit-signing.key"),
            "SHOAL_GRACE": "3",
            **{f"SHOAL_{s.upper()}_ADDR": target for s, target in targets.items()},
        }
        for name, port in self.ports.items():
            service = name.rstrip("0123456789")
            self.processes[name] = self._process(
                name, ["service", service, "--listen", f"127.0.0.1:{port}"], port)
        for i in range(self.gateways):
            self.processes[f"gateway{i}"] = self._process(f"gateway{i}", ["gateway"])

    def _process(self, name: str, args: list[str], port: int = 0) -> Process:
        home = self.root / name
        home.mkdir(exist_ok=True)
        env = {**self.env, "SHOAL_HOME": str(home)}
        return Process(name, [sys.executable, "-m", "shoal.cli.main", *args], env, self.root / f"{name}.log", port)

    def socket(self, gateway: int) -> str:
        return str(self.root / f"gateway{gateway}" / ".shoal.socket")

    def start(self, names: list[str] | None = None) -> Cluster:
        names = names or list(self.processes)
        for name in names:
            self.processes[name].start()
        for name in names:
            process = self.processes[name]
            if process.port:
                process.wait_serving()
            else:
                self.wait_gateway(int(name[len("gateway"):]))
        return self

    def wait_gateway(self, index: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.call(index, "GET", "/v1/system-info").status == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"gateway{index} not ready")
            time.sleep(0.05)

    def restart(self, name: str) -> None:
        process = self.processes[name]
        process.kill()
        self.start([name])

    def call(self, gateway: int, method: str, path: str, body=None, timeout: float = 20):
        return request(UnixHTTPConnection(self.socket(gateway), timeout), method, path, body)

    def stop(self) -> None:
        for process in reversed(list(self.processes.values())):
            if process.popen is not None:
                process.stop()

    async def drop_schemas(self) -> None:
        import asyncpg

        conn = await asyncpg.connect(PG_URL)
        try:
            for service in (*REPLICATED, "plan"):
                await conn.execute(f'DROP SCHEMA IF EXISTS "{self.prefix}{service}" CASCADE')
        finally:
            await conn.close()
