"""`shoal notify`, `notices`, `notice`, `okay` and `warnings`, and `signal`
and `logs`, against the real suite, as Pebble's CLI prints them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import yaml

from tests.cli_support import as_json, cli_env, ok, shoal
from tests.support import ROOT

TODAY = r"today at \d\d:\d\d UTC"


def test_notify_and_notices(suite, tmp_path):
    config = tmp_path / "config"
    assert re.fullmatch(r"Recorded notice \d+\n", ok(suite, "notify", "cli.test/one"))
    long_key = "cli.test/" + "a-very-long-key-" * 3 + "end"
    ok(suite, "notify", long_key, "colour=blue", "size=big")
    table = ok(suite, "notices", "--type", "custom", "--key", "cli.test/one", "--key", long_key,
               config=config).splitlines()
    short = long_key[:14] + "..." + long_key[-15:]  # Pebble cuts keys longer than 32 in the middle
    key_column = len(short) + 2  # the widest cell plus two
    assert table[0] == f"ID   User  Type    {'Key':<{key_column}}First               Repeated            Occurrences"
    assert re.fullmatch(rf"\d+ +0     custom  {'cli.test/one':<{key_column}}{TODAY}  {TODAY}  1", table[1])
    assert re.fullmatch(rf"\d+ +0     custom  {re.escape(short)}  {TODAY}  {TODAY}  1", table[2])
    public = ok(suite, "notices", "--type", "change-update", config=config).splitlines()
    assert all(line.split()[1] == "public" for line in public[1:])
    absolute = ok(suite, "notices", "--key", "cli.test/one", "--abs-time", config=config).splitlines()
    assert re.search(r"  \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ  \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ  1$", absolute[1])
    listed = as_json(suite, "notices", "--key", "cli.test/one", config=config)
    assert [n["key"] for n in listed["notices"]] == ["cli.test/one"]
    nothing = shoal(suite, "notices", "--key", "cli.test/none", config=config)
    assert (nothing.returncode, nothing.stdout, nothing.stderr) == (0, "", "No matching notices.\n")
    bad = shoal(suite, "notify", "cli.test/x", "novalue")
    assert (bad.returncode, bad.stderr) == (1, 'error: data args must be in "name=value" format, not "novalue"\n')
    invalid = shoal(suite, "notify", "not-a-key")
    assert invalid.stderr == 'error: invalid key "not-a-key" (must be in "example.com/path" format)\n'


def test_notice_by_id_and_by_type_and_key(suite, tmp_path):
    notice_id = ok(suite, "notify", "cli.test/single", "k=v").split()[-1]
    text = ok(suite, "notice", notice_id)
    assert text.startswith(f'id: "{notice_id}"\nuser-id: 0\ntype: custom\nkey: cli.test/single\nfirst-occurred: ')
    assert "last-data:\n    k: v\n" in text and "expire-after: 168h0m0s\n" in text
    assert yaml.safe_load(ok(suite, "notice", "custom", "cli.test/single")) == yaml.safe_load(text)
    assert as_json(suite, "notice", notice_id)["key"] == "cli.test/single"
    missing = shoal(suite, "notice", "99999")
    assert (missing.returncode, missing.stderr) == (1, 'error: cannot find notice with ID "99999"\n')
    by_key = shoal(suite, "notice", "custom", "cli.test/never")
    assert by_key.stderr == 'error: cannot find custom notice with key "cli.test/never"\n'


def test_notices_waits_with_a_timeout(suite, tmp_path):
    config = tmp_path / "config"
    waited = shoal(suite, "notices", "--key", "cli.test/later", "--timeout", "200ms", config=config)
    assert (waited.returncode, waited.stderr) == (0, "No matching notices after waiting 200ms.\n")
    waiting = subprocess.Popen([sys.executable, "-m", "shoal.cli.main", "notices", "--key", "cli.test/later",
                                "--timeout", "30s"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
                               env=cli_env(suite, config), text=True)
    try:
        deadline = time.monotonic() + 30
        while waiting.poll() is None:  # notify until the waiting listing has seen it (bounded)
            assert time.monotonic() < deadline, "notices --timeout never answered"
            ok(suite, "notify", "cli.test/later")
            try:
                waiting.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                pass
        out, err = waiting.communicate(timeout=10)
        assert waiting.returncode == 0, err
        assert "cli.test/later" in out.splitlines()[1]
    finally:
        if waiting.poll() is None:
            waiting.kill()
            waiting.wait()


def test_okay_and_warnings(suite, tmp_path):
    config = tmp_path / "config"
    first = shoal(suite, "okay", config=config)
    assert (first.returncode, first.stderr) == (
        1, "error: no notices or warnings have been listed; try 'shoal notices' or 'shoal warnings'\n")
    only_warnings = shoal(suite, "okay", "--warnings", config=config)
    assert only_warnings.stderr == "error: no warnings have been listed; try 'shoal warnings'\n"
    ok(suite, "notify", "cli.test/okayed")
    ok(suite, "notices", "--key", "cli.test/okayed", config=config)
    assert ok(suite, "okay", config=config) == ""
    state = json.loads((config / "shoal" / "cli.json").read_text())["shoal"]
    (entry,) = state.values()
    assert entry["notices-last-okayed"] == entry["notices-last-listed"] != ""
    warnings = shoal(suite, "warnings", config=config)
    assert (warnings.returncode, warnings.stdout, warnings.stderr) == (0, "", "No warnings.\n")
    assert as_json(suite, "warnings", "--all", config=config) == {"warnings": []}


def test_notices_leave_out_what_okay_acknowledged(suite, tmp_path):
    config = tmp_path / "config"
    ok(suite, "notify", "cli.test/acked")
    ok(suite, "notices", "--key", "cli.test/acked", config=config)
    ok(suite, "okay", config=config)
    assert shoal(suite, "notices", "--key", "cli.test/acked", config=config).stderr == "No matching notices.\n"
    ok(suite, "notify", "cli.test/acked")  # it repeats: shown again
    assert "cli.test/acked" in ok(suite, "notices", "--key", "cli.test/acked", config=config)


def test_notify_repeat_after(suite):
    first = ok(suite, "notify", "--repeat-after", "1h", "cli.test/repeat")
    assert ok(suite, "notify", "--repeat-after", "1h", "cli.test/repeat") == first
    assert "repeat-after: 1h0m0s\n" in ok(suite, "notice", first.split()[-1])


def test_signal_and_logs(suite, tmp_path):
    layer = tmp_path / "layer.yaml"
    layer.write_text("services:\n  cli-sig:\n    override: replace\n"
                     "    command: sh -c 'trap \"echo got-usr1\" USR1; echo started; while true; do read x; done'\n")
    ok(suite, "add", "cli-sig", str(layer))
    ok(suite, "start", "cli-sig")
    assert ok(suite, "signal", "SIGUSR1", "cli-sig") == ""
    deadline = time.monotonic() + 20
    while "got-usr1" not in (logs := ok(suite, "logs", "cli-sig")):
        assert time.monotonic() < deadline, logs
        time.sleep(0.05)
    lines = logs.splitlines()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[cli-sig\] started", lines[0])
    assert lines[-1].endswith(" [cli-sig] got-usr1")
    assert ok(suite, "logs", "-n", "1", "cli-sig").endswith("[cli-sig] got-usr1\n")
    entries = [json.loads(line) for line in ok(suite, "logs", "--format", "json", "cli-sig").splitlines()]
    assert entries[0]["service"] == "cli-sig" and entries[0]["message"] == "started"
    bad_n = shoal(suite, "logs", "-n", "x")
    assert bad_n.stderr == 'error: expected n to be a non-negative integer or "all", not "x"\n'
    lower = shoal(suite, "signal", "hup", "cli-sig")
    assert (lower.returncode, lower.stderr) == (1, "error: signal name must be uppercase, for example HUP\n")
    ok(suite, "signal", "HUP", "cli-sig")  # without SIG: Pebble adds it
    ok(suite, "stop", "cli-sig")
    stopped = shoal(suite, "signal", "SIGHUP", "cli-sig")
    assert (stopped.returncode, stopped.stderr) == (
        1, 'error: cannot send signal to "cli-sig": service is not running\n')
