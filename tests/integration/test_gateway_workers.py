"""`shoal run --gateway-workers 2`: two gateway processes share the unix
socket, HTTP and HTTPS listeners, and what one worker keeps about callers
never outlives a change made through the other.

Each request is steered to one worker by stopping the other (SIGSTOP): a
stopped worker accepts nothing, so the shared listener hands every new
connection to the one that runs. The workers keep resolved callers for 60 s
here (SHOAL_GATEWAY_CACHE_SECONDS), so only the identity service's
generation can make a change reach the other worker in time.
"""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.support import Suite, free_port

PASSWORD = "workers-password"


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    home = tmp_path_factory.mktemp("workers") / "home"
    home.mkdir()
    s = Suite(home=home, http_port=free_port(), https_port=free_port(), gateway_workers=2,
              env={"SHOAL_REFUSAL_DELAY": "0", "SHOAL_GATEWAY_CACHE_SECONDS": "60"}).start()
    yield s
    for pid in s.gateway_pids():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
    s.stop()


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


@contextlib.contextmanager
def only(suite: Suite, worker: int):
    """Every request in the block is answered by gateway worker `worker` (0 or 1)."""
    pids = suite.gateway_pids()
    others = [pid for n, pid in enumerate(pids) if n != worker]
    for pid in others:
        os.kill(pid, signal.SIGSTOP)
    try:
        deadline = time.monotonic() + 5
        while any(_state(pid) != "T" for pid in others):
            assert time.monotonic() < deadline, "a worker did not stop"
            time.sleep(0.005)
        yield
    finally:
        for pid in others:
            os.kill(pid, signal.SIGCONT)


def _basic(name: str, password: str = PASSWORD) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


def _hash(password: str) -> str:
    return subprocess.run(["openssl", "passwd", "-6", password], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_two_workers_run_and_each_serves_every_listener_alone(suite):
    pids = suite.gateway_pids()
    assert len(set(pids)) == 2
    for worker in (0, 1):
        with only(suite, worker):
            assert suite.unix("GET", "/v1/services").status == 200
            assert suite.http("GET", "/v1/health").status == 200
            assert suite.https("GET", "/v1/system-info").status == 200


def test_a_changed_identity_applies_at_once_in_the_other_worker(suite):
    hashed = _hash(PASSWORD)
    add = {"action": "add", "identities": {"mover": {"access": "admin", "basic": {"password": hashed}}}}
    assert suite.unix("POST", "/v1/identities", add).status == 200
    for worker in (0, 1):  # both workers now keep "mover" as an admin
        with only(suite, worker):
            assert suite.https("GET", "/api/security/tokens", headers=_basic("mover")).status == 200
    with only(suite, 0):
        lowered = {"action": "update", "identities": {"mover": {"access": "read", "basic": {"password": hashed}}}}
        assert suite.unix("POST", "/v1/identities", lowered).status == 200
    with only(suite, 1):
        assert suite.https("GET", "/api/security/tokens", headers=_basic("mover")).status == 403  # admin only
        assert suite.https("GET", "/v1/services", headers=_basic("mover")).status == 200  # read still
    with only(suite, 1):
        removed = {"action": "remove", "identities": {"mover": None}}
        assert suite.unix("POST", "/v1/identities", removed).status == 200
    with only(suite, 0):
        assert suite.https("GET", "/v1/services", headers=_basic("mover")).status == 401


def test_a_deleted_token_and_an_ended_session_stop_at_once_in_the_other_worker(suite):
    created = suite.unix("POST", "/api/security/tokens", {"name": "workers", "scopes": ["*"]}).json()
    token = {"X-API-Token": created["token"]}
    assert suite.unix("POST", "/api/v0.2/users/create", {"Email": "w@example.com", "Password": PASSWORD}
                      ).status == 200
    for worker in (0, 1):
        with only(suite, worker):
            assert suite.https("GET", "/api/security/tokens", headers=token).status == 200
    with only(suite, 1):
        session = suite.lighthouse_session("w@example.com", PASSWORD)
        assert suite.https("GET", "/api/v0.2/users/list", headers=session).status == 200
    with only(suite, 0):
        assert suite.https("GET", "/api/v0.2/users/list", headers=session).status == 200
        assert suite.unix("DELETE", f"/api/security/tokens/{created['record']['id']}").status == 204
    with only(suite, 1):
        assert suite.https("GET", "/api/security/tokens", headers=token).status == 401
        assert suite.https("GET", "/api/v0.2/logout", headers=session).status == 200
    with only(suite, 0):
        assert suite.https("GET", "/api/v0.2/users/list", headers=session).status == 401


def test_a_lockout_and_its_reset_reach_the_other_worker_at_once(suite):
    hashed = _hash(PASSWORD)
    add = {"action": "add", "identities": {"locked-out": {"access": "read", "basic": {"password": hashed}}}}
    assert suite.unix("POST", "/v1/identities", add).status == 200
    with only(suite, 1):  # worker 1 keeps the good password
        assert suite.https("GET", "/api/security/whoami", headers=_basic("locked-out")).status == 200
    with only(suite, 0):  # five wrong guesses through worker 0 lock the user
        answers = [suite.https("GET", "/api/security/whoami", headers=_basic("locked-out", "wrong")).status
                   for _ in range(6)]
        assert answers[-1] == 403, answers
    with only(suite, 1):  # a locked user stays locked for every password, kept or not
        locked = suite.https("GET", "/api/security/whoami", headers=_basic("locked-out"))
        assert locked.status == 403 and locked.json()["error"] == "account_locked"
    with only(suite, 1):
        reset = suite.unix("POST", "/api/security/reset-lockout", {"identifier": "locked-out"})
        assert reset.status in (200, 204), reset.body
    with only(suite, 0):  # worker 0 had remembered the lockout: the reset clears it there too
        assert suite.https("GET", "/api/security/whoami", headers=_basic("locked-out")).status == 200
    with only(suite, 1):
        assert suite.https("GET", "/api/security/whoami", headers=_basic("locked-out")).status == 200
    assert suite.unix("POST", "/api/security/reset-lockout", {"identifier": "ip:127.0.0.1"}).status in (200, 204)


def test_a_worker_that_dies_is_restarted_while_the_listeners_stay_open(suite):
    first, second = suite.gateway_pids()
    os.kill(second, signal.SIGKILL)
    for _ in range(20):  # the survivor answers every request meanwhile
        assert suite.unix("GET", "/v1/services").status == 200
    deadline = time.monotonic() + 30
    while suite.gateway_pids()[1] == second:
        assert time.monotonic() < deadline, "the worker was not restarted"
        time.sleep(0.05)
    with only(suite, 1):
        deadline = time.monotonic() + 30
        while True:
            try:
                if suite.unix("GET", "/v1/services", timeout=2).status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the restarted worker does not answer"
    assert suite.gateway_pids()[0] == first
