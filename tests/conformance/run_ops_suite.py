"""`make conformance`: the ops library's own real-server suite against Shoal.

Downloads the ops source distribution (the version installed here), starts a
fresh suite whose gateway also listens on 127.0.0.1:4000 (the suite's health
test calls that address), and runs `test/test_real_pebble.py` unchanged with
RUN_REAL_PEBBLE_TESTS=1, PEBBLE=$SHOAL_HOME and PEBBLE_SOCKET=the gateway socket.
Exits with pytest's status.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tempfile
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "ops-sdist"
HTTP = "127.0.0.1:4000"


def ops_source() -> Path:
    ops_version = version("ops")
    target = CACHE / f"ops-{ops_version}"
    if (target / "test" / "test_real_pebble.py").exists():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
         "-d", str(CACHE), f"ops=={ops_version}"],
        check=True,
    )
    with tarfile.open(CACHE / f"ops-{ops_version}.tar.gz") as archive:
        archive.extractall(CACHE, filter="data")
    return target


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(ROOT))
    from tests.support import Suite, free_port

    source = ops_source()
    with tempfile.TemporaryDirectory(prefix="shoal-conformance-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        suite = Suite(home=home, http_port=4000, https_port=free_port())
        suite.start()
        try:
            env = {
                **os.environ,
                "RUN_REAL_PEBBLE_TESTS": "1",
                "PEBBLE": str(home),
                "PEBBLE_SOCKET": suite.socket,
            }
            command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                       "--rootdir", str(source), "test/test_real_pebble.py", *argv]
            return subprocess.run(command, cwd=source, env=env, check=False).returncode
        finally:
            suite.stop()
            log = home.parent / f"{home.name}.log"
            if log.exists() and os.environ.get("SHOAL_SHOW_LOG"):
                sys.stdout.write(log.read_text())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
