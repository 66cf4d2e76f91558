"""The `shoal` CLI against the real suite: each command, its `--format json`
compared with the HTTP API's answer for the same object, exit codes and
one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from tests.support import ROOT, Suite


def shoal(suite: Suite, *args: str, stdin: str | None = None, env: dict | None = None):
    command = [sys.executable, "-m", "shoal.cli.main", *args]
    if args and args[0] not in ("--help",):
        command += ["--socket", suite.socket]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=60, input=stdin,
                          env={**__import__("os").environ, **(env or {})}, check=False)


def as_json(suite, *args):
    done = shoal(suite, *args, "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def api(suite, path):
    return suite.unix("GET", path).json()


def test_version_and_services_match_the_api(suite, tmp_path):
    assert as_json(suite, "version")["version"] == api(suite, "/v1/system-info")["result"]["version"]
    layer = tmp_path / "layer.yaml"
    layer.write_text("services:\n  cli-a:\n    override: replace\n    command: sleep 60\n")
    added = shoal(suite, "add", "cli", str(layer))
    assert added.returncode == 0 and 'Layer "cli" added' in added.stdout
    started = shoal(suite, "start", "cli-a")
    assert started.returncode == 0 and "Done" in started.stdout
    assert as_json(suite, "services", "cli-a") == api(suite, "/v1/services?names=cli-a")["result"]
    table = shoal(suite, "services").stdout.splitlines()
    assert table[0].split() == ["Service", "Startup", "Current", "Since"]
    assert any(line.split()[:3] == ["cli-a", "disabled", "active"] for line in table[1:])
    assert yaml.safe_load(shoal(suite, "plan").stdout)["services"]["cli-a"]["command"] == "sleep 60"
    changes = as_json(suite, "changes")
    assert changes == api(suite, "/v1/changes?select=all")["result"]
    last = changes[-1]["id"]
    assert as_json(suite, "tasks", last) == api(suite, f"/v1/changes/{last}")["result"]
    assert shoal(suite, "stop", "cli-a").returncode == 0


def test_checks_health_notices_and_identities(suite, tmp_path):
    assert as_json(suite, "checks") == api(suite, "/v1/checks")["result"]
    assert as_json(suite, "health") == {"healthy": True}
    notified = shoal(suite, "notify", "example.com/cli", "a=1")
    assert notified.returncode == 0 and "Recorded notice" in notified.stdout
    assert as_json(suite, "notices", "--type", "custom") == api(suite, "/v1/notices?types=custom")["result"]
    source = tmp_path / "ids.yaml"
    source.write_text("identities:\n  cli-bob:\n    access: read\n    local:\n      user-id: 5151\n")
    assert shoal(suite, "add-identities", "--from", str(source)).returncode == 0
    assert as_json(suite, "identities") == api(suite, "/v1/identities")["result"]
    again = shoal(suite, "add-identities", "--from", str(source))
    assert again.returncode == 1
    assert again.stderr.strip() == "error: 400 identities already exist: cli-bob"
    assert len(again.stderr.splitlines()) == 1  # one line, no traceback
    assert shoal(suite, "remove-identities", "--from", str(tmp_path / "missing.yaml")).returncode == 1


def test_tokens_users_and_audit(suite):
    created = as_json(suite, "tokens", "create", "cli-token", "--scope", "monitoring:read")
    token_id = created["record"]["id"]
    listed = as_json(suite, "tokens")
    assert listed == suite.unix("GET", "/api/security/tokens").json().get("tokens", listed)
    assert any(t["id"] == token_id for t in listed)
    as_token = subprocess.run([sys.executable, "-m", "shoal.cli.main", "services", "--socket", suite.socket,
                               "--token", created["token"], "--format", "json"],
                              capture_output=True, text=True, cwd=ROOT, timeout=60, check=False)
    assert as_token.returncode == 0
    rotated = as_json(suite, "tokens", "rotate", token_id)
    assert rotated["record"]["id"] == token_id and rotated["token"] != created["token"]
    assert shoal(suite, "tokens", "revoke", token_id).returncode == 0
    assert shoal(suite, "tokens", "revoke").returncode == 2  # usage
    assert shoal(suite, "users", "create", "cli@example.com", "pw").returncode == 0
    assert "cli@example.com" in as_json(suite, "users")
    assert as_json(suite, "users", "show", "cli@example.com") == api(suite, "/api/v0.2/users/cli@example.com")
    login = shoal(suite, "login", "--lighthouse", "cli@example.com", env={"SHOAL_PASSWORD": "pw"})
    assert login.returncode == 0 and "Logged in" in login.stdout
    bad = shoal(suite, "login", "--lighthouse", "cli@example.com", env={"SHOAL_PASSWORD": "nope"})
    assert bad.returncode == 1 and "email or password incorrect" in bad.stderr
    events = as_json(suite, "audit", "--limit", "5")
    assert events == api(suite, "/api/audit?limit=5")["events"]


def test_beacons_and_apps_lists_match_the_api(suite):
    assert as_json(suite, "beacons") == suite.unix("GET", "/api/v0.2/beacons/list").json()
    assert as_json(suite, "apps") == suite.unix("GET", "/api/v0.2/applications/list").json()
    missing = shoal(suite, "apps", "deployments", "no-such-app")
    assert missing.returncode in (0, 1)


def test_exit_codes_and_unreachable_gateway(suite, tmp_path):
    assert subprocess.run([sys.executable, "-m", "shoal.cli.main", "services", "--bogus"], capture_output=True,
                          cwd=ROOT, timeout=60, check=False).returncode == 2
    gone = subprocess.run([sys.executable, "-m", "shoal.cli.main", "services", "--socket",
                           str(tmp_path / "none.sock")], capture_output=True, text=True, cwd=ROOT, timeout=60,
                          check=False)
    assert gone.returncode == 1
    assert gone.stderr.startswith("error: cannot reach a gateway:") and "Traceback" not in gone.stderr
    unknown = shoal(suite, "tasks", "987654")
    assert unknown.returncode == 1 and 'cannot find change with id "987654"' in unknown.stderr


@pytest.mark.parametrize("fmt", ["yaml"])
def test_yaml_format(suite, fmt):
    done = shoal(suite, "checks", "--format", fmt)
    assert done.returncode == 0
    assert yaml.safe_load(done.stdout) == api(suite, "/v1/checks")["result"]
