"""Load generation with wrk (Debian package `wrk`): throughput and latency
percentiles of one URL with fixed headers."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


@dataclass
class LoadResult:
    requests_per_second: float
    latency_ms: dict[str, float]  # "50%", "75%", "90%", "99%"
    non_2xx: int
    errors: int


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def _ms(text: str) -> float:
    match = re.match(r"([0-9.]+)(us|ms|s)", text)
    return float(match.group(1)) * _UNITS[match.group(2)] if match else float("nan")


def run_wrk(url: str, headers: dict[str, str] | None = None, seconds: int = 10,
            connections: int = 32, threads: int = 2) -> LoadResult:
    command = ["wrk", "--latency", f"-t{threads}", f"-c{connections}", f"-d{seconds}s"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", output).group(1))
    latency = {p: _ms(v) for p, v in re.findall(r"^\s+(50%|75%|90%|99%)\s+(\S+)", output, re.MULTILINE)}
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return LoadResult(
        requests_per_second=rps,
        latency_ms=latency,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        errors=sum(int(x) for x in errors.groups()) if errors else 0,
    )
