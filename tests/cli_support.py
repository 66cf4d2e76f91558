"""Running the `shoal` CLI against a test suite, as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support import ROOT, Suite


def cli_env(suite: Suite, config: Path | None = None, **extra: str) -> dict[str, str]:
    """The CLI's environment: the suite's socket, UTC times, a config dir of its own."""
    env = {**os.environ, "SHOAL_SOCKET": suite.socket, "TZ": "UTC", "COLUMNS": "80", **extra}
    env.pop("SHOAL_TOKEN", None)
    if config is not None:
        env["XDG_CONFIG_HOME"] = str(config)
    return env


def shoal(suite: Suite, *args: str, stdin: str | bytes | None = None, env: dict | None = None,
          config: Path | None = None, timeout: float = 60, text: bool = True) -> subprocess.CompletedProcess:
    if isinstance(stdin, str) and not text:
        stdin = stdin.encode()
    return subprocess.run([sys.executable, "-m", "shoal.cli.main", *args], capture_output=True, text=text,
                          cwd=ROOT, timeout=timeout, input=stdin, check=False,
                          env={**cli_env(suite, config), **(env or {})})


def ok(suite: Suite, *args: str, **kwargs) -> str:
    done = shoal(suite, *args, **kwargs)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


def as_json(suite: Suite, *args: str, **kwargs):
    return json.loads(ok(suite, *args, "--format", "json", **kwargs))


def api(suite: Suite, path: str):
    return suite.unix("GET", path).json()
