"""The `shoal` CLI against the real suite: what a user sees — Pebble's tables
(fixed-width columns, "-" placeholders, "today at HH:MM UTC"), Pebble's
messages and `--format json|yaml` shapes, exit codes and one-line errors —
for the services, plan, changes, tasks, checks, health, identities,
version and completion commands, and Shoal's own (tokens, users, audit,
beacons, apps)."""

from __future__ import annotations

import re
import subprocess
import sys

import yaml

from tests.cli_support import api, as_json, ok, shoal
from tests.support import ROOT

TODAY = r"today at \d\d:\d\d UTC"
ABS = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


def lines(text: str) -> list[str]:
    return text.splitlines()


def test_version_services_plan_and_service_changes(suite, tmp_path):
    assert re.fullmatch(r"client  v\S+\nserver  v\S+\n", ok(suite, "version"))
    assert as_json(suite, "version")["server"] == api(suite, "/v1/system-info")["result"]["version"]
    layer = tmp_path / "layer.yaml"
    layer.write_text("services:\n  cli-a:\n    override: replace\n    command: sleep 60\n"
                     "  cli-long-name:\n    override: replace\n    command: sleep 61\n")
    assert ok(suite, "add", "cli", str(layer)) == f'Layer "cli" added successfully from "{layer}"\n'
    started = shoal(suite, "start", "cli-a")
    assert (started.returncode, started.stdout) == (0, "")  # as Pebble: nothing on stdout
    assert 'Start service "cli-a": Done' in started.stderr  # plain progress lines off a terminal
    table = lines(ok(suite, "services", "cli-a", "cli-long-name"))
    assert table[0] == "Service        Startup   Current   Since"
    assert re.fullmatch(rf"cli-a          disabled  active    {TODAY}", table[1])
    assert table[2] == "cli-long-name  disabled  inactive  -"
    assert re.fullmatch(rf"cli-a          disabled  active    {ABS}",
                        lines(ok(suite, "services", "cli-a", "cli-long-name", "--abs-time"))[1])
    services = as_json(suite, "services", "cli-a")
    assert services == {"services": {"cli-a": api(suite, "/v1/services?names=cli-a")["result"][0]}}
    assert yaml.safe_load(ok(suite, "plan"))["services"]["cli-a"]["command"] == "sleep 60"
    assert ok(suite, "plan") == api(suite, "/v1/plan?format=yaml")["result"]
    nothing = shoal(suite, "services", "cli-nothing")
    assert (nothing.returncode, nothing.stdout, nothing.stderr) == (0, "", "No matching services.\n")

    changes = lines(ok(suite, "changes", "cli-a"))
    assert changes[0] == "ID   Status  Spawn               Ready               Summary"
    assert re.fullmatch(rf"\d+ +Done    {TODAY}  {TODAY}  Start service \"cli-a\"", changes[1])
    assert changes[-1] == ""  # Pebble ends the changes table with a blank line
    change_id = changes[1].split()[0]
    assert as_json(suite, "tasks", change_id) == api(suite, f"/v1/changes/{change_id}")["result"]
    assert as_json(suite, "changes", "cli-a") == {"changes": api(suite, "/v1/changes?select=all&for=cli-a")["result"]}
    tasks = lines(ok(suite, "tasks", "--last=start"))
    assert tasks[0] == "Status  Spawn               Ready               Summary"
    assert re.fullmatch(rf"Done    {TODAY}  {TODAY}  Start service \"cli-a\"", tasks[1])

    no_wait = shoal(suite, "stop", "--no-wait", "cli-a")
    assert no_wait.returncode == 0 and re.fullmatch(r"\d+\n", no_wait.stdout)
    assert shoal(suite, "restart", "cli-a").returncode == 0
    missing = shoal(suite, "start", "cli-nothing")
    assert (missing.returncode, missing.stderr) == (
        1, 'error: cannot start services: service "cli-nothing" does not exist\n')
    usage = shoal(suite, "stop")
    assert (usage.returncode, usage.stderr) == (
        1, "error: the required argument `<service> (at least 1 argument)` was not provided\n")
    digits = shoal(suite, "changes", "12")
    assert digits.stderr == "error: 'shoal changes' command expects a service name, try 'shoal tasks 12'\n"
    assert ok(suite, "stop", "cli-a") == ""


def test_a_failed_start_prints_the_changes_error_and_its_task_log(suite, tmp_path):
    layer = tmp_path / "bad.yaml"
    layer.write_text("services:\n  cli-fails:\n    override: replace\n    command: sh -c 'echo broken; exit 1'\n"
                     "    backoff-delay: 1h\n")
    ok(suite, "add", "cli-fails", str(layer))
    failed = shoal(suite, "start", "cli-fails")
    assert failed.returncode == 1
    assert failed.stderr.endswith(
        'error: cannot perform the following tasks:\n- Start service "cli-fails" (service start attempt: '
        "exited quickly with code 1, will restart)\n")
    tasks = ok(suite, "tasks", "--last=start")
    assert "\n" + "." * 70 + '\nStart service "cli-fails"\n\n' in tasks
    assert re.search(r"\n\S+ INFO Most recent service output:\n    broken\n\S+ ERROR service start attempt", tasks)
    assert ok(suite, "stop", "cli-fails") == ""


def test_checks_check_and_health(suite, tmp_path):
    layer = tmp_path / "checks.yaml"
    layer.write_text("checks:\n  cli-up:\n    override: replace\n    period: 1h\n    level: alive\n"
                     "    exec: {command: 'true'}\n"
                     "  cli-off:\n    override: replace\n    period: 1h\n    startup: disabled\n"
                     "    exec: {command: 'true'}\n")
    ok(suite, "add", "cli-checks", str(layer))
    table = lines(ok(suite, "checks", "cli-up", "cli-off"))
    assert table[0] == "Check    Level  Startup   Status    Successes  Failures  Change"
    assert table[1] == "cli-off  -      disabled  inactive  -          -         -"
    assert re.fullmatch(r"cli-up   alive  enabled   up        0          0/3       \d+", table[2])
    check = yaml.safe_load(ok(suite, "check", "cli-up"))
    assert list(check)[:4] == ["name", "level", "startup", "status"] and check["threshold"] == 3
    assert ok(suite, "check", "cli-up").startswith("name: cli-up\nlevel: alive\nstartup: enabled\nstatus: up\n")
    missing = shoal(suite, "check", "cli-nothing")
    assert (missing.returncode, missing.stderr) == (1, 'error: cannot find check "cli-nothing"\n')
    assert ok(suite, "health", "cli-up") == "healthy\n"
    assert as_json(suite, "health") == {"healthy": True}
    assert ok(suite, "stop-checks", "cli-up") == "Checks stopped: cli-up\n"
    assert ok(suite, "stop-checks", "cli-up") == "Checks already stopped.\n"
    assert ok(suite, "start-checks", "cli-up") == "Checks started: cli-up\n"
    checks = as_json(suite, "checks", "cli-up", "cli-off")["checks"]
    assert sorted(checks) == ["cli-off", "cli-up"] and checks["cli-off"]["status"] == "inactive"


def test_identities(suite, tmp_path):
    source = tmp_path / "ids.yaml"
    source.write_text("identities:\n  cli-bob:\n    access: read\n    local:\n      user-id: 5151\n"
                      "  cli-carol:\n    access: metrics\n    local:\n      user-id: 5152\n")
    assert ok(suite, "add-identities", "--from", str(source)) == "Added 2 new identities.\n"
    table = lines(ok(suite, "identities"))
    assert table[0].split() == ["Name", "Access", "Types"]
    assert "cli-bob    read     local" in table
    assert ok(suite, "identity", "cli-bob") == "access: read\nlocal:\n    user-id: 5151\n"
    assert as_json(suite, "identities") == {"identities": api(suite, "/v1/identities")["result"]}
    again = shoal(suite, "add-identities", "--from", str(source))
    assert (again.returncode, again.stderr) == (1, "error: identities already exist: cli-bob, cli-carol\n")
    removal = tmp_path / "remove.yaml"
    removal.write_text("identities:\n  cli-bob: null\n  cli-carol: null\n")
    assert ok(suite, "remove-identities", "--from", str(removal)) == "Removed 2 identities.\n"
    assert shoal(suite, "remove-identities", "--from", str(tmp_path / "missing.yaml")).returncode == 1
    nobody = shoal(suite, "identity", "cli-bob")
    assert (nobody.returncode, nobody.stderr) == (1, 'error: cannot find identity "cli-bob"\n')


def test_tokens_users_and_audit(suite):
    created = as_json(suite, "tokens", "create", "cli-token", "--scope", "monitoring:read")
    token_id = created["record"]["id"]
    listed = as_json(suite, "tokens")
    assert any(t["id"] == token_id for t in listed)
    as_token = shoal(suite, "services", "--token", created["token"], "--format", "json")
    assert as_token.returncode == 0
    rotated = as_json(suite, "tokens", "rotate", token_id)
    assert rotated["record"]["id"] == token_id and rotated["token"] != created["token"]
    assert ok(suite, "tokens", "revoke", token_id) == f"Revoked {token_id}\n"
    assert shoal(suite, "tokens", "revoke").returncode == 2  # usage
    assert shoal(suite, "users", "create", "cli@example.com", "pw").returncode == 0
    assert "cli@example.com" in as_json(suite, "users")
    assert as_json(suite, "users", "show", "cli@example.com") == api(suite, "/api/v0.2/users/cli@example.com")
    login = shoal(suite, "login", "--lighthouse", "cli@example.com", env={"SHOAL_PASSWORD": "pw"})
    assert login.returncode == 0 and login.stdout == "Logged in as cli@example.com\n"
    bad = shoal(suite, "login", "--lighthouse", "cli@example.com", env={"SHOAL_PASSWORD": "nope"})
    assert bad.returncode == 1 and "email or password incorrect" in bad.stderr
    assert as_json(suite, "audit", "--limit", "5") == api(suite, "/api/audit?limit=5")["events"]


def test_beacons_and_apps_lists_match_the_api(suite):
    assert as_json(suite, "beacons") == suite.unix("GET", "/api/v0.2/beacons/list").json()
    assert as_json(suite, "apps") == suite.unix("GET", "/api/v0.2/applications/list").json()


def test_errors_are_one_line_and_exit_codes_are_pebbles(suite, tmp_path):
    assert subprocess.run([sys.executable, "-m", "shoal.cli.main", "services", "--bogus"], capture_output=True,
                          cwd=ROOT, timeout=60, check=False).returncode == 2
    gone = shoal(suite, "services", "--socket", str(tmp_path / "none.sock"))
    assert gone.returncode == 1
    assert gone.stderr.startswith("error: cannot reach a gateway:") and "Traceback" not in gone.stderr
    unknown = shoal(suite, "tasks", "987654")
    assert (unknown.returncode, unknown.stderr) == (1, 'error: cannot find change with id "987654"\n')
    bad_layer = tmp_path / "bad.yaml"
    bad_layer.write_text("services:\n  cli-bad:\n    command: x\n")
    added = shoal(suite, "add", "cli-bad", str(bad_layer))
    message = 'error: layer "cli-bad" must define "override" for service "cli-bad"\n'
    assert (added.returncode, added.stderr) == (1, message)


def test_yaml_format_is_pebbles(suite):
    done = shoal(suite, "checks", "--format", "yaml")
    assert done.returncode == 0
    assert yaml.safe_load(done.stdout) == {"checks": {c["name"]: c for c in api(suite, "/v1/checks")["result"]}}


def test_completion_scripts_come_from_the_parser(suite):
    bash = ok(suite, "completion", "bash")
    assert "complete" in bash and "exec" in bash and "--abs-time" in bash
    zsh = ok(suite, "completion", "zsh")
    assert zsh.startswith("#compdef shoal") and "push" in zsh
    checked = subprocess.run(["bash", "-n"], input=bash, text=True, capture_output=True, check=False, timeout=30)
    assert checked.returncode == 0, checked.stderr
