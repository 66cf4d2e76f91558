"""Identity and authentication through the real gateway (pebble-api.md §5,
lighthouse-pulse-juju.md §1.3–1.5, §2): identities, basic with a real
`openssl passwd -6` hash and curl, certificates, metrics over HTTP,
Lighthouse users and AuthLevels, sessions with CSRF, tokens, lockout and the
signed audit log."""

from __future__ import annotations

import base64
import json
import os
import signal
import sqlite3
import ssl
import subprocess
import time

import pytest

from tests.support import Suite, free_port, wait_for

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    home = tmp_path_factory.mktemp("identity") / "home"
    home.mkdir()
    s = Suite(home=home, http_port=free_port(), https_port=free_port(), env={"SHOAL_REFUSAL_DELAY": "0"}).start()
    yield s
    s.stop()


def openssl_hash(password: str) -> str:
    return subprocess.run(["openssl", "passwd", "-6", password], capture_output=True, text=True,
                          check=True).stdout.strip()


def basic(name: str, password: str = PASSWORD) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


def add_identities(suite: Suite, identities: dict, action: str = "add"):
    return suite.unix("POST", "/v1/identities", {"action": action, "identities": identities})


# -- identities ----------------------------------------------------------------
def test_identities_round_trip_with_pebbles_messages(suite):
    added = add_identities(suite, {"rt-bob": {"access": "admin", "local": {"user-id": 4242}},
                                   "rt-web": {"access": "metrics", "basic": {"password": openssl_hash("x")}}})
    assert added.status == 200 and "result" not in added.json()
    listed = suite.unix("GET", "/v1/identities").json()["result"]
    assert listed["rt-bob"] == {"access": "admin", "local": {"user-id": 4242}}
    assert listed["rt-web"] == {"access": "metrics", "basic": {"password": "*****"}}
    cases = [
        ({"action": "add", "identities": {"rt-bob": {"access": "read", "local": {"user-id": 1}}}},
         "identities already exist: rt-bob"),
        ({"action": "update", "identities": {"rt-ghost": {"access": "read", "local": {"user-id": 1}}}},
         "identities do not exist: rt-ghost"),
        ({"action": "remove", "identities": {"rt-bob": {"access": "read", "local": {"user-id": 1}}}},
         'identity value for "rt-bob" must be null for remove operation'),
        ({"action": "add", "identities": {"rt-x": None}},
         'identity value for "rt-x" must not be null for add operation'),
        ({"action": "add", "identities": {"rt-y": {"access": "root", "local": {"user-id": 7}}}},
         'invalid access value "root"'),
        ({"action": "add", "identities": {"rt-z": {"access": "read"}}},
         'identity must have at least one type ("local", "basic", or "cert")'),
        ({"action": "add", "identities": {"rt-dup": {"access": "read", "local": {"user-id": 4242}}}},
         "cannot have multiple identities with user ID 4242"),
        ({"action": "merge", "identities": {}},
         'invalid action "merge", must be "add", "update", "replace", or "remove"'),
    ]
    for body, message in cases:
        answer = suite.unix("POST", "/v1/identities", body)
        assert answer.status == 400, body
        assert message in answer.json()["result"]["message"]
    assert suite.unix("GET", "/v1/identities").json()["result"] == listed  # refused changes changed nothing
    assert add_identities(suite, {"rt-bob": None, "rt-web": None}, "remove").status == 200
    assert "rt-bob" not in suite.unix("GET", "/v1/identities").json()["result"]


def test_identity_input_is_refused_with_pebbles_words_and_shoals_bounds(suite):
    before = suite.unix("GET", "/v1/identities").json()["result"]
    cases = [
        ({"in-negative": {"access": "read", "local": {"user-id": -1}}},
         ("cannot decode request body: json: cannot unmarshal number -1 into Go struct field "
         ".identities.in-negative.local.user-id of type uint32")),
        ({"in-list": [1]},
         ("cannot decode request body: json: cannot unmarshal array into Go struct field .identities.in-list "
         "of type daemon.apiIdentity")),
        ({"1st": {"access": "read", "local": {"user-id": 7001}}},
         ('invalid identity for "1st": identity name "" invalid: must start with an alphabetic character and only '
         "contain alphanumeric characters, underscore, and hyphen")),
        ({"in-plain": {"access": "read", "basic": {"password": "correct horse battery"}}},
         'invalid identity for "in-plain": basic identity password must be a sha512-crypt hash'),
        ({"n" * 100_000: {"access": "read", "local": {"user-id": 7002}}},
         "invalid identity name: 100000 characters, at most 256"),
    ]
    for identities, message in cases:
        answer = add_identities(suite, identities)
        assert answer.status == 400, identities
        assert answer.json()["result"]["message"].startswith(message)
        assert len(answer.body) < 1000  # a huge name is not sent back
    assert suite.unix("GET", "/v1/identities").json()["result"] == before  # nothing changed


def test_basic_identity_with_curl_over_https_but_not_plain_http(suite):
    assert add_identities(suite, {"reader": {"access": "read", "basic": {"password": openssl_hash(PASSWORD)}}}
                          ).status == 200
    cafile = str(suite.home / "tls" / "cert.pem")
    done = subprocess.run(["curl", "-s", "--cacert", cafile, "-u", f"reader:{PASSWORD}", "-w", "\n%{http_code}",
                           f"https://127.0.0.1:{suite.https_port}/v1/services"], capture_output=True, text=True,
                          timeout=30, check=False)
    body, status = done.stdout.rsplit("\n", 1)
    assert status == "200" and json.loads(body)["type"] == "sync"
    wrong = suite.https("GET", "/v1/services", headers=basic("reader", "not it"))
    assert wrong.status == 401
    plain = suite.http("GET", "/v1/services", headers=basic("reader"))
    assert plain.status == 401  # credentials do not count on plain HTTP
    assert suite.https("POST", "/v1/layers", {"action": "add", "label": "x", "format": "yaml", "layer": ""},
                       basic("reader")).status == 401  # read level: no writes (Pebble's 401 on /v1)


def test_metrics_identity_scrapes_over_plain_http(suite):
    assert add_identities(suite, {"scraper": {"access": "metrics", "basic": {"password": openssl_hash(PASSWORD)}}}
                          ).status == 200
    scraped = suite.http("GET", "/v1/metrics", headers=basic("scraper"))
    assert scraped.status == 200
    # As Pebble's: text/plain when there is something to report, else an empty body with no type.
    if scraped.body:
        assert scraped.headers["Content-Type"] == "text/plain; charset=utf-8"
    else:
        assert "Content-Type" not in scraped.headers
    assert suite.http("GET", "/v1/metrics").status == 401
    assert suite.https("GET", "/v1/services", headers=basic("scraper")).status == 401  # as Pebble answers


def test_cert_identity_authenticates_with_its_client_certificate(suite, tmp_path):
    key, cert = tmp_path / "client.key", tmp_path / "client.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=shoal-client"],
                   check=True, capture_output=True)
    assert add_identities(suite, {"machine": {"access": "admin", "cert": {"pem": cert.read_text()}}}).status == 200
    context = ssl.create_default_context(cafile=str(suite.home / "tls" / "cert.pem"))
    context.load_cert_chain(str(cert), str(key))

    def admitted() -> bool:  # once the HTTPS listener has refreshed the certificates it trusts
        try:
            return suite.https("GET", "/v1/plan?format=yaml", context=context).status == 200
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
            return False

    wait_for(admitted, every=0.1)
    assert suite.https("GET", "/v1/plan?format=yaml", context=context).status == 200  # admin-only route
    assert suite.https("GET", "/v1/plan?format=yaml").status == 401  # the same route without it
    stranger_key, stranger = tmp_path / "other.key", tmp_path / "other.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(stranger_key), "-out", str(stranger), "-days", "1",
                    "-subj", "/CN=stranger"], check=True, capture_output=True)
    other = ssl.create_default_context(cafile=str(suite.home / "tls" / "cert.pem"))
    other.load_cert_chain(str(stranger), str(stranger_key))
    with pytest.raises((ssl.SSLError, ConnectionResetError, BrokenPipeError)):
        suite.https("GET", "/v1/plan?format=yaml", context=other)  # refused in the handshake


# -- Lighthouse users ------------------------------------------------------------
def test_authlevel_examples(suite):
    for email in ("admin@example.com", "manager@example.com", "employee@example.com"):
        assert suite.unix("POST", "/api/v0.2/users/create", {"Email": email, "Password": PASSWORD}).status == 200
    assert suite.unix("PUT", "/api/v0.2/users/admin@example.com", {"AuthLevel": 2}).status == 200
    assert suite.unix("PUT", "/api/v0.2/users/manager@example.com", {"AuthLevel": 1}).status == 200
    admin, manager, employee = (suite.lighthouse_session(f"{who}@example.com", PASSWORD)
                                for who in ("admin", "manager", "employee"))

    def as_(who, method, path, body=None):
        return suite.https(method, path, body, who)

    assert sorted(as_(admin, "GET", "/api/v0.2/users/list").json()) == [
        "admin@example.com", "employee@example.com", "manager@example.com"]
    assert sorted(as_(manager, "GET", "/api/v0.2/users/list").json()) == [
        "employee@example.com", "manager@example.com"]
    assert as_(employee, "GET", "/api/v0.2/users/list").json() == ["employee@example.com"]
    hidden = as_(employee, "GET", "/api/v0.2/users/manager@example.com")
    assert hidden.status == 404 and hidden.json() == {
        "Cause": "users", "Message": "User does not exist or current permission too low"}
    assert as_(manager, "GET", "/api/v0.2/users/employee@example.com").json()["AuthLevel"] == 0
    assert as_(manager, "PUT", "/api/v0.2/users/employee@example.com", {"AuthLevel": 2}).status == 403
    assert as_(manager, "PUT", "/api/v0.2/users/employee@example.com", {"AuthLevel": 1}).status == 200
    assert as_(manager, "PUT", "/api/v0.2/users/employee@example.com", {"AuthLevel": 0}).status == 404  # now equal
    assert as_(admin, "PUT", "/api/v0.2/users/employee@example.com", {"AuthLevel": -1}).status == 400
    assert as_(employee, "POST", "/api/v0.2/users/create",
               {"Email": "new@example.com", "Password": "x"}).status == 200  # level 1 now
    no_csrf = {"Cookie": admin["Cookie"]}
    refused = suite.https("PUT", "/api/v0.2/users/employee@example.com", {"AuthLevel": 0}, no_csrf)
    assert refused.status == 403  # a cookie alone cannot change state


def test_sessions_survive_a_gateway_restart(suite):
    assert suite.unix("POST", "/api/v0.2/users/create", {"Email": "stay@example.com", "Password": PASSWORD}
                      ).status == 200
    session = suite.lighthouse_session("stay@example.com", PASSWORD)
    assert suite.https("GET", "/api/v0.2/users/list", headers=session).json() == ["stay@example.com"]
    old = suite.pid("gateway")
    os.kill(old, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if suite.pid("gateway") != old and suite.unix("GET", "/v1/system-info").status == 200:
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    assert suite.https("GET", "/api/v0.2/users/list", headers=session).json() == ["stay@example.com"]
    logout = suite.https("GET", "/api/v0.2/logout", headers=session)
    assert logout.status == 200
    assert suite.https("GET", "/api/v0.2/users/list", headers=session).status == 401


# -- tokens ----------------------------------------------------------------------
def test_tokens_create_use_scope_rotate_and_delete(suite):
    created = suite.unix("POST", "/api/security/tokens", {"name": "ci", "scopes": ["monitoring:read"]})
    assert created.status in (200, 201)
    raw, record = created.json()["token"], created.json()["record"]
    assert len(raw) == 64 and all(c in "0123456789abcdef" for c in raw)
    assert raw not in suite.unix("GET", "/api/security/tokens").body.decode()
    assert suite.https("GET", "/v1/services", headers={"X-API-Token": raw}).status == 200
    assert suite.https("GET", "/v1/services", headers={"Authorization": f"Bearer {raw}"}).status == 200
    missing = suite.https("GET", "/api/security/tokens", headers={"X-API-Token": raw})
    assert missing.status == 403 and missing.json()["error"] == "missing_scope"
    assert missing.json()["requiredScope"] == "settings:read"
    pebble_route = suite.https("GET", "/v1/identities", headers={"X-API-Token": raw})
    assert pebble_route.status == 403 and pebble_route.json()["result"]["kind"] == "missing_scope"
    rotated = suite.unix("POST", f"/api/security/tokens/{record['id']}/rotate").json()

    def refused(token: str) -> bool:  # a change reaches every gateway within its one-second caller cache
        return suite.https("GET", "/v1/services", headers={"X-API-Token": token}).status == 401

    wait_for(lambda: refused(raw), every=0.1)
    assert suite.https("GET", "/v1/services", headers={"X-API-Token": raw}).status == 401
    assert suite.https("GET", "/v1/services", headers={"X-API-Token": rotated["token"]}).status == 200
    assert suite.unix("POST", "/api/security/tokens", {"name": "bad", "scopes": []}).status == 400
    assert suite.unix("POST", "/api/security/tokens", {"name": "bad", "scopes": ["root:all"]}).status == 400
    escalation = suite.https("POST", "/api/security/tokens", {"name": "more", "scopes": ["*"]},
                             {"X-API-Token": rotated["token"]})
    assert escalation.status == 403
    assert suite.unix("DELETE", f"/api/security/tokens/{record['id']}").status == 204
    wait_for(lambda: refused(rotated["token"]), every=0.1)
    assert suite.https("GET", "/v1/services", headers={"X-API-Token": rotated["token"]}).status == 401
    assert suite.https("GET", "/v1/services", headers={"X-API-Token": "f" * 64}).status == 401


# -- lockout and audit ----------------------------------------------------------------
def test_lockout_engages_reports_and_resets(suite):
    assert add_identities(suite, {"victim": {"access": "read", "basic": {"password": openssl_hash(PASSWORD)}}}
                          ).status == 200
    answers = [suite.https("GET", "/api/security/tokens", headers=basic("victim", f"guess{n}")) for n in range(5)]
    assert [a.status for a in answers] == [401] * 5
    assert [a.json()["remaining"] for a in answers[:3]] == [4, 3, 2] or "remaining" not in answers[0].json()
    assert "locked" in answers[-1].json()["message"]  # the failure that locks says so
    locked = suite.https("GET", "/api/security/tokens", headers=basic("victim"))
    assert locked.status == 403 and locked.json()["error"] == "account_locked"
    assert "lockedUntil" in locked.json()  # even the right password waits
    reset = suite.unix("POST", "/api/security/reset-lockout", {"identifier": "victim"})
    assert reset.status == 200
    suite.unix("POST", "/api/security/reset-lockout", {"identifier": "127.0.0.1"})
    # once the gateway's short memory of the lock has passed
    wait_for(lambda: suite.https("GET", "/v1/services", headers=basic("victim")).status == 200, every=0.1)
    assert suite.https("GET", "/v1/services", headers=basic("victim")).status == 200


def test_audit_records_and_detects_an_edited_row(suite):
    events = suite.unix("GET", "/api/audit?limit=1000").json()
    kinds = {e["event"] for e in events["events"]}
    assert {"login_failed", "account_locked", "lockout_reset", "token_created"} <= kinds or len(kinds) >= 4
    failed = next(e for e in events["events"] if not e["success"])
    assert set(failed) >= {"id", "timestamp", "event", "user", "ip", "path", "success", "details", "signature"}
    assert suite.unix("GET", f"/api/audit/{failed['id']}/verify").json()["verified"] is True
    database = next(suite.home.glob("identity*.db"))
    with sqlite3.connect(database) as db:
        assert db.execute("UPDATE audit_events SET username = 'someone-else' WHERE id = ?",
                          (failed["id"],)).rowcount == 1
    assert suite.unix("GET", f"/api/audit/{failed['id']}/verify").json()["verified"] is False
    key = suite.home / "audit-signing.key"
    assert oct(key.stat().st_mode & 0o777) == oct(0o600)
