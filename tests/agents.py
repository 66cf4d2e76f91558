"""Plan agents for tests: `shoal service plan --listen 127.0.0.1:PORT
--beacon-token TOKEN`, each in its own SHOAL_HOME, reached over gRPC with
its beacon token as a beacon registry would."""

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

from shoal.v1 import plan_pb2, plan_pb2_grpc
from tests.support import ROOT, free_port, stop_process

METADATA_KEY = "shoal-beacon-token"


@dataclass
class Agent:
    home: Path
    port: int = field(default_factory=free_port)
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    process: subprocess.Popen | None = None
    extra_env: dict = field(default_factory=dict)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def spawn(self) -> Agent:
        self.home.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "SHOAL_HOME": str(self.home), "SHOAL_GRACE": "3", **self.extra_env}
        env.pop("SHOAL_SECRET", None)  # an agent elsewhere: a secret of its own
        with open(self.home.parent / f"{self.home.name}.log", "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "shoal.cli.main", "service", "plan",
                 "--listen", self.address, "--beacon-token", self.token],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )
        return self

    def wait_ready(self, timeout: float = 30) -> Agent:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"agent on {self.address} exited with {self.process.returncode}")
            try:
                self.call("ListAgentInstances", plan_pb2.ListAgentInstancesRequest(), timeout=2)
                return self
            except grpc.RpcError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def start(self, timeout: float = 30) -> Agent:
        return self.spawn().wait_ready(timeout)

    def call(self, rpc: str, request, timeout: float = 10):
        with grpc.insecure_channel(self.address) as channel:
            return getattr(plan_pb2_grpc.PlanStub(channel), rpc)(
                request, metadata=((METADATA_KEY, self.token),), timeout=timeout
            )

    def kill(self) -> None:
        """SIGKILL, as a machine that vanishes."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        stop_process(self.process)


def start_agents(base: Path, count: int) -> list[Agent]:
    """`count` agents under `base`, started together."""
    agents = [Agent(base / f"agent{n}").spawn() for n in range(count)]
    try:
        return [agent.wait_ready() for agent in agents]
    except BaseException:
        for agent in agents:
            agent.stop()
        raise
