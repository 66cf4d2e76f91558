"""The plan service started on damaged files (issue 15, item 9): one line
naming the file, and no restart loop."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support import ROOT, Suite, free_port, stop_process, wait_for


def _start_without_waiting(suite: Suite) -> None:
    suite.env = {"SHOAL_HOME": str(suite.home), "SHOAL_GRACE": "3"}
    suite.log = open(suite.home.parent / "suite.log", "ab")  # noqa: SIM115 - closed below
    suite.process = subprocess.Popen([sys.executable, "-m", "shoal.cli.main", "run"], cwd=ROOT,
                                     env={**os.environ, **suite.env}, stdout=suite.log, stderr=subprocess.STDOUT)


def _status(suite: Suite, path: str) -> int | None:
    try:
        return suite.unix("GET", path, timeout=5).status
    except OSError:
        return None  # the gateway's socket is not there yet


def _log(suite: Suite) -> str:
    return (suite.home.parent / "suite.log").read_text(errors="replace")


def test_damaged_saved_layers_stop_the_plan_service_once_naming_the_file(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    saved = home / "plan-layers.json"
    saved.write_text('{"layers": [{"order": 1000, "label": "api"')  # cut off
    suite = Suite(home=home, http_port=free_port(), https_port=free_port())
    _start_without_waiting(suite)
    try:
        wait_for(lambda: "not restarting it" in _log(suite), timeout=60)
        log = _log(suite)
        assert log.count(f"shoal plan: cannot start: cannot load the layers saved in {saved}: not valid JSON") == 1, log
        assert log.count("started plan") == 1 and "Traceback" not in log, log
        # the rest of the suite runs on; plan routes say the plan service is down
        wait_for(lambda: _status(suite, "/v1/services") == 502, timeout=60)
    finally:
        stop_process(suite.process)
        suite.log.close()


def test_a_damaged_layer_file_is_named_as_pebble_words_the_error(tmp_path):
    home = tmp_path / "home"
    (home / "layers").mkdir(parents=True)
    layer = home / "layers" / "001-base.yaml"
    layer.write_text("services:\n  web:\n    override: replace\n    command: [sleep\n")
    completed = subprocess.run([sys.executable, "-m", "shoal.cli.main", "service", "plan"], cwd=ROOT, check=False,
                               env={"SHOAL_HOME": str(home), "PATH": "/usr/bin:/bin"},
                               capture_output=True, text=True, timeout=60)
    assert completed.returncode == 78
    assert completed.stderr.strip().splitlines()[-1] == (
        f'shoal plan: cannot start: cannot load layer file {layer}: cannot parse layer "base": '
        "yaml: line 3: did not find expected ',' or ']'")
    assert "Traceback" not in completed.stderr
