"""Debian's real `prometheus` server on loopback, for the metrics tests.

`Prometheus(directory, scrape_configs).start()` writes its configuration
(a one-second scrape interval), runs it with its own storage directory and
a loopback listener, and waits until it says it is ready; `query` asks its
HTTP API (`/api/v1/query`) and returns the result vector; `targets` its
view of every target's health.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tests.support import free_port, stop_process


@dataclass
class Prometheus:
    directory: Path
    scrape_configs: list[dict]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> Prometheus:
        binary = shutil.which("prometheus")
        assert binary, "Debian's prometheus is needed (make test installs it: apt-get install prometheus)"
        self.directory.mkdir(parents=True, exist_ok=True)
        config = self.directory / "prometheus.yml"
        config.write_text(yaml.safe_dump({
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
            "scrape_configs": self.scrape_configs,
        }))
        self.log = open(self.directory / "prometheus.log", "wb")  # noqa: SIM115 - open while it runs; stop() closes it
        self.process = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={self.directory / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}",
             "--storage.tsdb.retention.time=1h"],
            stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self.process.returncode}: {self.output()}")
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=2) as answer:
                    if answer.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"prometheus not ready in {timeout}s: {self.output()}")

    def output(self) -> str:
        return (self.directory / "prometheus.log").read_text(errors="replace")[-4000:]

    def api(self, path: str, **params) -> dict:
        url = f"{self.url}/api/v1/{path}" + ("?" + urllib.parse.urlencode(params) if params else "")
        with urllib.request.urlopen(url, timeout=10) as answer:
            body = json.loads(answer.read())
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expression: str) -> list[dict]:
        """The instant vector `expression` gives now: [{"metric": {...}, "value": [t, "v"]}, ...]."""
        data = self.api("query", query=expression)
        assert data["resultType"] == "vector", data
        return data["result"]

    def targets(self) -> list[dict]:
        return self.api("targets")["activeTargets"]

    def stop(self) -> None:
        stop_process(self.process)
        self.log.close()
