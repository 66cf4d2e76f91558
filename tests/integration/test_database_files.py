"""A service whose SQLite file exists but is no database refuses to start,
naming the file, and leaves it as it was; an absent file is created. Each
case runs the real `shoal service NAME` process in a SHOAL_HOME of its own."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest

from tests.support import ROOT

SERVICES = ("identity", "plan", "beacon", "application")
START_TIMEOUT = 30  # a refusing service exits within about a second


def start_service(home, name: str, timeout: float = START_TIMEOUT) -> subprocess.CompletedProcess:
    """Run `shoal service NAME` until it exits: it must refuse to start
    (one still running after `timeout` is killed and the test fails)."""
    env = {**os.environ, "SHOAL_HOME": str(home), "SHOAL_GRACE": "1"}
    env.pop("SHOAL_DATABASE_URL", None)
    try:
        return subprocess.run(
            [sys.executable, "-m", "shoal.cli.main", "service", name],
            check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the {name} service started on a database file that is no database")


@pytest.mark.parametrize("name", SERVICES)
def test_a_zero_byte_database_file_stops_the_service_naming_the_file(tmp_path, name):
    path = tmp_path / f"{name}.db"
    path.write_bytes(b"")
    done = start_service(tmp_path, name)
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert f"{path}: the database file is empty (0 bytes)" in output, output[-2000:]
    assert path.stat().st_size == 0
    assert not (tmp_path / f"{name}.db-wal").exists()


def test_a_file_that_is_no_database_stops_the_service_naming_the_file(tmp_path):
    path = tmp_path / "beacon.db"
    path.write_text("this was a beacon registry once\n")
    done = start_service(tmp_path, "beacon")
    assert done.returncode != 0
    assert f"{path}: not a SQLite database" in done.stdout + done.stderr
    assert path.read_text() == "this was a beacon registry once\n"


def test_an_absent_database_file_is_created_by_the_service(tmp_path):
    """Started and stopped through the suite's own supervisor, the beacon
    service makes its database on first run."""
    from tests.support import Suite, free_port

    home = tmp_path / "home"
    home.mkdir()
    suite = Suite(home=home, http_port=free_port(), https_port=free_port()).start()
    try:
        assert suite.unix("GET", "/api/v0.2/beacons/list").json() == []
    finally:
        suite.stop()
    with sqlite3.connect(home / "beacon.db") as db:
        assert db.execute("SELECT COUNT(*) FROM beacons").fetchone() == (0,)
    assert (home / "beacon.db").stat().st_mode & 0o777 == 0o600
