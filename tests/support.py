"""Helpers for tests that run the real suite: processes, sockets, HTTP."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def wait_for(predicate, timeout: float = 10, every: float = 0.02):
    """The first truthy value of `predicate()`, asked every `every` seconds;
    AssertionError when `timeout` seconds pass without one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("condition not reached in time")


def stop_process(process: subprocess.Popen | None, timeout: float = 20) -> int | None:
    """SIGTERM, then SIGKILL if it is still running after `timeout` seconds;
    the exit code."""
    if process is None:
        return None
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 30):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


@dataclass
class Answer:
    status: int
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


def request(conn: http.client.HTTPConnection, method: str, path: str, body=None, headers=None) -> Answer:
    headers = dict(headers or {})
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body)
        headers.setdefault("Content-Type", "application/json")
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return Answer(resp.status, dict(resp.getheaders()), resp.read())
    finally:
        conn.close()


@dataclass
class Suite:
    """A running `shoal run` in its own SHOAL_HOME."""

    home: Path
    http_port: int
    https_port: int
    process: subprocess.Popen | None = None
    env: dict = field(default_factory=dict)
    gateway_workers: int = 1

    @property
    def socket(self) -> str:
        return str(self.home / ".shoal.socket")

    def start(self, timeout: float = 30) -> Suite:
        self.env = {**os.environ, "SHOAL_HOME": str(self.home), "SHOAL_GRACE": "3", **self.env}
        self.log = open(self.home.parent / f"{self.home.name}.log", "ab")  # noqa: SIM115 - open while the suite runs; stop() closes it
        self.process = subprocess.Popen(
            [sys.executable, "-m", "shoal.cli.main", "run",
             "--http", f"127.0.0.1:{self.http_port}", "--https", f"127.0.0.1:{self.https_port}",
             "--gateway-workers", str(self.gateway_workers)],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        self.wait_ready(timeout)
        return self

    # One route per service, each through the identity service: ready means all of them answer.
    READY_ROUTES = ("/v1/services", "/api/v0.2/beacons/list", "/api/v0.2/applications/list")

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        last = None
        pending = list(self.READY_ROUTES)
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"shoal run exited with {self.process.returncode}")
            try:
                answer = self.unix("GET", pending[0])
                if answer.status == 200:
                    pending.pop(0)
                    if not pending:
                        return
                    continue
                last = (pending[0], answer.status)
            except OSError as error:
                last = error
            time.sleep(0.05)
        raise TimeoutError(f"suite not ready in {timeout}s: {last}")

    def stop(self) -> int:
        code = stop_process(self.process)
        self.log.close()
        return code

    def pid(self, name: str) -> int:
        return int((self.home / "run" / f"{name}.pid").read_text())

    def gateway_pids(self) -> list[int]:
        """The gateway workers' pids, the first worker first."""
        names = ["gateway"] + [f"gateway-{n}" for n in range(2, self.gateway_workers + 1)]
        return [self.pid(name) for name in names]

    def unix(self, method: str, path: str, body=None, headers=None, timeout: float = 30) -> Answer:
        return request(UnixHTTPConnection(self.socket, timeout), method, path, body, headers)

    def http(self, method: str, path: str, body=None, headers=None) -> Answer:
        return request(http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=30), method, path, body, headers)

    def https(self, method: str, path: str, body=None, headers=None, context: ssl.SSLContext | None = None) -> Answer:
        if context is None:
            context = ssl.create_default_context(cafile=str(self.home / "tls" / "cert.pem"))
        conn = http.client.HTTPSConnection("127.0.0.1", self.https_port, timeout=30, context=context)
        return request(conn, method, path, body, headers)

    def lighthouse_session(self, email: str, password: str) -> dict:
        """Headers of a Lighthouse user's session over HTTPS: its cookies and
        the CSRF token state-changing requests must echo."""
        context = ssl.create_default_context(cafile=str(self.home / "tls" / "cert.pem"))
        conn = http.client.HTTPSConnection("127.0.0.1", self.https_port, timeout=30, context=context)
        try:
            conn.request("POST", "/api/v0.2/login", body=json.dumps({"Email": email, "Password": password}),
                         headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            assert response.status == 200, response.status
            cookies = dict(c.split(";")[0].split("=", 1) for k, c in response.getheaders()
                           if k.lower() == "set-cookie")
        finally:
            conn.close()
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()), "X-CSRF-Token": cookies["shoal_csrf"]}

    def secret(self) -> bytes:
        return (self.home / "secret").read_bytes().strip()

    def grpc_address(self, service: str) -> str:
        return f"unix:{self.home / 'run' / service}.sock"
