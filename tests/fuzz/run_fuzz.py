"""`make fuzz`: schemathesis against the gateway's own /openapi.json.

Starts a fresh suite in a temporary SHOAL_HOME, then fuzzes every operation
twice: as an untrusted caller over plain HTTP, and as an admin (an API token)
over HTTPS. Checks: schemathesis' own (no 5xx, responses match the documented
schema, …) plus no_state_change_on_4xx from hooks.py.

Operations that act on the host itself are left out of the admin run — exec,
signals and files would run random commands or write random paths as the
suite's user — and are covered by their own tests instead.

FUZZ_EXAMPLES (default 30) bounds the examples per operation; CI uses fewer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from support import Suite, free_port

# Not fuzzed as admin: routes that act on this machine (run commands, signal
# or write files) and the log stream (with follow=true it never ends, by
# design). tests/integration covers them.
HOST_ACTIONS = r"^/v1/(exec|signals|files|logs)"
EXCLUDED_CHECKS = [
    # The protos type most inputs as free strings, so a schema-valid request
    # may still break a domain rule (an unknown action, a missing service) and
    # rightly get 400; every other check, including negative data, stays on.
    "positive_data_acceptance",
]


def schemathesis(url: str, examples: int, extra: list[str], env: dict) -> int:
    command = [
        str(Path(sys.executable).parent / "st"), "run", url,
        "--checks", "all",
        "--exclude-checks", ",".join(EXCLUDED_CHECKS),
        "--max-examples", str(examples),
        "--phases", os.environ.get("FUZZ_PHASES", "examples,coverage,fuzzing"),  # CI: examples,fuzzing
        "--suppress-health-check", "all",
        "--request-timeout", "30",
        "--no-color",
        *(["--seed", os.environ["FUZZ_SEED"]] if os.environ.get("FUZZ_SEED") else []),  # CI: repeatable
        *extra,
    ]
    print("$", " ".join(command), flush=True)
    return subprocess.run(command, env=env, cwd=ROOT, check=False).returncode


def main() -> int:
    examples = int(os.environ.get("FUZZ_EXAMPLES", "30"))
    with tempfile.TemporaryDirectory(prefix="shoal-fuzz-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        suite = Suite(home=home, http_port=free_port(), https_port=free_port()).start()
        try:
            env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.fuzz.hooks", "SHOAL_FUZZ_SOCKET": suite.socket,
                   "PYTHONPATH": str(ROOT)}
            answer = suite.unix("POST", "/api/security/tokens", json.dumps({"name": "fuzz"}),
                                {"Content-Type": "application/json"})
            if answer.status != 200:
                print(f"cannot create the admin token: {answer.status} {answer.body[:200]!r}")
                return 1
            token = answer.json()["token"]
            results = {
                "untrusted over HTTP": schemathesis(
                    f"http://127.0.0.1:{suite.http_port}/openapi.json", examples, [], env),
                "admin over HTTPS": schemathesis(
                    f"https://127.0.0.1:{suite.https_port}/openapi.json", examples,
                    ["--header", f"X-API-Token: {token}", "--tls-verify", str(home / "tls" / "cert.pem"),
                     "--exclude-path-regex", HOST_ACTIONS], env),
            }
        finally:
            code = suite.stop()
    print()
    for name, rc in results.items():
        print(f"fuzz {name}: {'PASS' if rc == 0 else 'FAIL'}")
    if code not in (0, None):
        print(f"suite exited with {code}")
    return 0 if all(rc == 0 for rc in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
