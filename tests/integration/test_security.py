"""Issue 15 (identity's part) through the real processes: no caller raises
an identity above itself, recovery tokens only for this machine's operator,
audit gaps closed, Pulse's limits and Lighthouse's names, lockout and
ownership rules, the SDK checking credentials, and Pulse's set-up and
posture routes."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import re
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys

import pytest

from shoal import client
from tests.support import ROOT, Suite, free_port, wait_for

PASSWORD = "correct horse battery"
WHOAMI = "/api/security/whoami"
BOOTSTRAP_LINE = re.compile(r"bootstrap token for remote set-up \(shown once, kept only as its hash\): ([0-9a-f]{48})")


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    home = tmp_path_factory.mktemp("security") / "home"
    home.mkdir()
    s = Suite(home=home, http_port=free_port(), https_port=free_port(), env={"SHOAL_REFUSAL_DELAY": "0"}).start()
    yield s
    s.stop()


def openssl_hash(password: str = PASSWORD) -> str:
    return subprocess.run(["openssl", "passwd", "-6", password], capture_output=True, text=True,
                          check=True).stdout.strip()


def basic(name: str, password: str = PASSWORD) -> dict:
    import base64

    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


def token(suite: Suite, scopes: list[str] | None = None, name: str = "t") -> str:
    body = {"name": name} if scopes is None else {"name": name, "scopes": scopes}
    answer = suite.unix("POST", "/api/security/tokens", body)
    assert answer.status == 200, answer.body
    return answer.json()["token"]


def add_identity(suite: Suite, name: str, identity: dict, headers=None, action: str = "add"):
    body = {"action": action, "identities": {name: identity}}
    return suite.unix("POST", "/v1/identities", body) if headers is None else suite.https(
        "POST", "/v1/identities", body, headers)


def identities(suite: Suite) -> dict:
    return suite.unix("GET", "/v1/identities").json()["result"]


def audit_events(suite: Suite, **query) -> list[dict]:
    params = "&".join(f"{k}={v}" for k, v in {"limit": 1000, **query}.items())
    return suite.unix("GET", f"/api/audit?{params}").json()["events"]


def reset_everything(suite: Suite, *identifiers: str) -> None:
    for identifier in ("ip:127.0.0.1", "ip:local", *identifiers):
        assert suite.unix("POST", "/api/security/reset-lockout", {"identifier": identifier}).status == 200


# -- 1: no caller creates or raises an identity above what it holds ---------------------
def test_a_settings_write_token_cannot_make_itself_admin(suite):
    writer = {"X-API-Token": token(suite, ["settings:write"], "writer")}
    assert add_identity(suite, "esc-ops", {"access": "admin", "basic": {"password": openssl_hash()}}).status == 200
    before = identities(suite)
    refused = [
        ("add", "esc-admin", {"access": "admin", "basic": {"password": openssl_hash()}}),
        ("add", "esc-root", {"access": "untrusted", "local": {"user-id": 0}}),  # would demote root
        ("add", "esc-local", {"access": "read", "local": {"user-id": 4343}}),
        ("update", "esc-ops", {"access": "admin", "basic": {"password": openssl_hash("taken over")}}),
        ("replace", "esc-ops", None),
    ]
    for action, name, identity in refused:
        answer = add_identity(suite, name, identity, writer, action)
        assert answer.status == 403, (name, answer.body)
        assert "changed only by a full admin" in answer.json()["result"]["message"]
    assert identities(suite) == before  # nothing changed
    assert add_identity(suite, "esc-reader", {"access": "read", "basic": {"password": openssl_hash()}},
                        writer).status == 200  # within its own level
    star = {"X-API-Token": token(suite, None, "star")}
    assert add_identity(suite, "esc-admin", {"access": "admin", "basic": {"password": openssl_hash()}},
                        star).status == 200  # a "*" token is a full admin
    # Nor does it become the Lighthouse operator of beacons (that needs agent:manage or "*").
    assert suite.unix("POST", "/api/v0.2/users/create", {"Email": "esc-user", "Password": PASSWORD}).status == 200
    grant = suite.https("PUT", "/api/v0.2/users/esc-user", {"Beacons": {"10.0.0.1:9000": 2}}, writer)
    assert grant.status == 403
    refusals = audit_events(suite, event="identities_changed", success="false")
    assert len(refusals) >= len(refused) and all(e["user"] == "token:writer" for e in refusals)


# -- 2: recovery tokens only for this machine's operator ------------------------------------
def test_recovery_tokens_come_only_from_the_socket_admin_or_the_command_line(suite):
    generate = {"action": "generate_token", "duration": 5}
    plain = suite.http("POST", "/api/security/recovery", generate)
    assert plain.status == 403 and plain.json()["error"] == "insecure_transport"
    assert suite.https("POST", "/api/security/recovery", generate).status == 403  # nobody over TCP
    assert add_identity(suite, "rec-admin", {"access": "admin", "basic": {"password": openssl_hash()}}).status == 200
    assert suite.https("POST", "/api/security/recovery", generate, basic("rec-admin")).status == 403  # not even an admin
    made = suite.unix("POST", "/api/security/recovery", generate)
    assert made.status == 200 and len(made.json()["token"]) == 64
    done = subprocess.run([sys.executable, "-m", "shoal.cli.main", "recovery-token", "--minutes", "5"], cwd=ROOT,
                          env=suite.env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    path = suite.home / "recovery-token"
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)
    raw = path.read_text().strip()
    assert re.fullmatch(r"[0-9a-f]{64}", raw) and raw not in done.stdout
    # The file's token clears a lockout, once, from HTTPS.
    assert add_identity(suite, "rec-victim", {"access": "read", "basic": {"password": openssl_hash()}}).status == 200
    for n in range(5):
        assert suite.https("GET", WHOAMI, headers=basic("rec-victim", f"guess{n}")).status == 401
    assert suite.https("GET", WHOAMI, headers=basic("rec-victim")).json()["error"] == "account_locked"
    use = {"action": "reset_lockout", "token": raw}
    assert suite.https("POST", "/api/security/recovery", use).status == 200
    wait_for(lambda: suite.https("GET", WHOAMI, headers=basic("rec-victim")).status == 200, every=0.1)
    assert suite.https("POST", "/api/security/recovery", use).status == 403  # used up
    refused = suite.https("POST", "/api/security/recovery", {"action": "disable_auth"})
    assert refused.status == 403 and refused.json()["error"] == "auth_always_on"
    assert "never turns authentication off" in refused.json()["message"]
    status = suite.unix("GET", "/api/security/recovery").json()
    assert status["recovery_mode"] is False and status["pendingTokens"] == 1  # the socket's, still unused


# -- 8: audit gaps -------------------------------------------------------------------------
def test_refusals_while_locked_are_recorded_in_aggregate(suite):
    assert suite.unix("POST", "/api/v0.2/users/create", {"Email": "agg-victim", "Password": PASSWORD}).status == 200
    login = {"Email": "agg-victim", "Password": "wrong"}
    for _ in range(5):
        assert suite.https("POST", "/api/v0.2/login", login).status == 401
    for _ in range(30):
        assert suite.https("POST", "/api/v0.2/login", {"Email": "agg-victim", "Password": PASSWORD}).status == 403
    first = audit_events(suite, event="login_refused_locked", user="agg-victim")[-1]
    assert first["details"].startswith("1 login attempt(s) refused while user:agg-victim is locked")
    # The rest are counted, and recorded once a minute, or when the service stops.
    old = suite.pid("identity")
    os.kill(old, signal.SIGTERM)
    wait_for(lambda: _restarted(suite, "identity", old), timeout=30, every=0.1)
    events = audit_events(suite, event="login_refused_locked", user="agg-victim")
    counts = [int(e["details"].split(" ", 1)[0]) for e in events]
    assert sum(counts) == 30 and len(events) <= 3, counts
    reset_everything(suite, "agg-victim")


def _restarted(suite: Suite, name: str, old: int) -> bool:
    try:
        return suite.pid(name) != old and suite.unix("GET", "/api/security/status").status == 200
    except (OSError, ValueError):
        return False


def test_a_failed_audit_write_leaves_no_user_token_or_identity_behind(suite):
    database = next(suite.home.glob("identity*.db"))
    with sqlite3.connect(database) as db:
        db.execute("CREATE TRIGGER no_audit BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    try:
        assert suite.unix("POST", "/api/v0.2/users/create", {"Email": "atomic", "Password": PASSWORD}).status == 500
        assert suite.unix("POST", "/api/security/tokens", {"name": "atomic"}).status == 500
        assert add_identity(suite, "atomic", {"access": "read", "local": {"user-id": 4545}}).status == 500
    finally:
        with sqlite3.connect(database) as db:
            db.execute("DROP TRIGGER no_audit")
    assert "atomic" not in suite.unix("GET", "/api/v0.2/users/list").json()
    assert all(t["name"] != "atomic" for t in suite.unix("GET", "/api/security/tokens").json()["tokens"])
    assert "atomic" not in identities(suite)


def test_verify_finds_a_deleted_event_by_the_chain(suite):
    for n in range(3):
        assert suite.unix("POST", "/api/security/tokens", {"name": f"chain{n}"}).status == 200
    events = sorted(audit_events(suite, event="token_created"), key=lambda e: e["sequence"])[-3:]
    first, middle, last = events
    assert last["sequence"] == middle["sequence"] + 1 == first["sequence"] + 2
    assert middle["previousSignature"] == first["signature"]
    def verify(event):
        return suite.unix("GET", f"/api/audit/{event['id']}/verify").json()

    assert all(verify(e)["verified"] for e in events)
    with sqlite3.connect(next(suite.home.glob("identity*.db"))) as db:
        assert db.execute("DELETE FROM audit_events WHERE id = ?", (middle["id"],)).rowcount == 1
    for neighbour in (first, last):
        answer = verify(neighbour)
        assert answer["verified"] is False and "Audit chain broken" in answer["message"]
    # Events cut from the end are found too: the signed head names a later one.
    for n in range(2):
        assert suite.unix("POST", "/api/security/tokens", {"name": f"tail{n}"}).status == 200
    tail = sorted(audit_events(suite, event="token_created"), key=lambda e: e["sequence"])[-2]
    assert verify(tail)["verified"] is True
    with sqlite3.connect(next(suite.home.glob("identity*.db"))) as db:
        assert db.execute("DELETE FROM audit_events WHERE seq > ?", (tail["sequence"],)).rowcount >= 1
    assert verify(tail) == {"available": True, "verified": False,
                            "message": "Audit chain broken: events after this one are missing"}


# -- 10, 11: bad input ---------------------------------------------------------------------
def test_a_basic_password_must_be_a_hash_but_the_mask_sent_back_keeps_it(suite):
    plain = add_identity(suite, "mask-web", {"access": "read", "basic": {"password": PASSWORD}})
    assert plain.status == 400 and "sha512-crypt" in plain.json()["result"]["message"]
    assert add_identity(suite, "mask-web", {"access": "read", "basic": {"password": openssl_hash()}}).status == 200
    shown = identities(suite)["mask-web"]
    assert shown == {"access": "read", "basic": {"password": "*****"}}
    assert add_identity(suite, "mask-web", shown, action="replace").status == 200  # as ops' own suite does
    assert suite.https("GET", WHOAMI, headers=basic("mask-web")).json()["name"] == "mask-web"



def test_bad_delays_and_deep_nesting_in_layers_are_400_and_change_nothing(suite):
    before = suite.unix("GET", "/v1/plan?format=yaml").json()["result"]
    for field, value, message in (
        ("backoff-limit", "-1s", 'plan service "bad" backoff-limit must be 0s or greater, not -1s'),
        ("backoff-delay", "-1s", 'backoff-delay must be 0s or greater, not -1s'),
        ("kill-delay", "-5s", 'kill-delay must be 0s or greater, not -5s'),
        ("kill-delay", "99999999999h", 'invalid duration "99999999999h"'),
    ):
        layer = f"services:\n  bad:\n    override: replace\n    command: sleep 1\n    {field}: {value}\n"
        answer = suite.unix("POST", "/v1/layers", {"action": "add", "label": "bad", "format": "yaml", "layer": layer})
        assert answer.status == 400 and message in answer.json()["result"]["message"], answer.body
    # Deep nesting is a 400, in YAML (Pebble's words) as in JSON, never a RecursionError's 500.
    deep = {"action": "add", "label": "bad", "format": "yaml", "layer": "summary: " + "[" * 10001 + "]" * 10001}
    answer = suite.unix("POST", "/v1/layers", deep)
    assert answer.status == 400 and answer.json()["result"]["message"].endswith("yaml: exceeded max depth of 10000")
    deep_json = '{"action":"add","label":"bad","format":"yaml","layer":' + "[" * 100000 + "]" * 100000 + "}"
    answer = suite.unix("POST", "/v1/layers", deep_json, {"Content-Type": "application/json"})
    assert answer.status == 400, answer.body
    assert suite.unix("GET", "/v1/plan?format=yaml").json()["result"] == before


def test_token_lifetimes_beyond_gos_durations_are_400(suite):
    for expires in ("99999999999999999h", "2562048h"):
        answer = suite.unix("POST", "/api/security/tokens", {"name": "long", "expiresIn": expires})
        assert answer.status == 400, answer.body
        assert answer.json()["message"] == f'invalid expiresIn: time: invalid duration "{expires}"'
    answer = suite.unix("POST", "/api/security/tokens", {"name": "long", "expiresIn": "1e400h"})
    assert answer.json()["message"] == 'invalid expiresIn: time: unknown unit "e" in duration "1e400h"'
    assert suite.unix("POST", "/api/security/tokens", {"name": "long", "expiresIn": "2562047h"}).status == 200


def test_lighthouse_user_names_as_documented_compared_ignoring_case(suite):
    assert suite.unix("POST", "/api/v0.2/users/create", {"Email": "intern", "Password": PASSWORD}).status == 200
    for email in ("Intern", "INTERN"):
        again = suite.unix("POST", "/api/v0.2/users/create", {"Email": email, "Password": PASSWORD})
        assert again.status == 400 and again.json() == {"Cause": "users", "Message": f'user "{email}" already exists'}
    assert add_identity(suite, "name-ident", {"access": "read", "local": {"user-id": 4646}}).status == 200
    for bad in ("nul\x00@example.com", "a:b", "a/b", "has space", "x" * 255, "Name-Ident"):
        assert suite.unix("POST", "/api/v0.2/users/create", {"Email": bad, "Password": PASSWORD}).status == 400, bad
    assert suite.unix("POST", "/api/v0.2/users/create", {"Email": "Boss@Example.com", "Password": "a\x00b"}
                      ).status == 400
    listed = suite.unix("GET", "/api/v0.2/users/list").json()
    assert listed.count("intern") == 1 and not any("\x00" in e for e in listed)
    session = suite.lighthouse_session("INTERN", PASSWORD)
    assert suite.https("GET", "/api/v0.2/users/list", headers=session).json() == ["intern"]
    assert suite.https("GET", "/api/v0.2/users/Intern", headers=session).json()["Email"] == "intern"


# -- 13, 15: lockout ------------------------------------------------------------------------
def test_reset_lockout_of_an_address(suite):
    assert add_identity(suite, "addr-new", {"access": "read", "basic": {"password": openssl_hash()}}).status == 200
    for n in range(5):  # five names, one address: the address locks
        assert suite.https("GET", WHOAMI, headers=basic(f"addr-guess{n}", "x")).status == 401
    locked = suite.https("GET", WHOAMI, headers=basic("addr-new"))
    assert locked.status == 403 and locked.json()["lockedBy"] == ["address"]
    assert suite.unix("POST", "/api/security/reset-lockout", {"identifier": "ip:127.0.0.1"}).status == 200
    wait_for(lambda: suite.https("GET", WHOAMI, headers=basic("addr-new")).status == 200, every=0.1)


def test_a_locked_user_stays_locked_even_for_a_password_verified_before(suite):
    for name in ("ul-victim", "al-good"):
        assert add_identity(suite, name, {"access": "read", "basic": {"password": openssl_hash()}}).status == 200
        assert suite.https("GET", WHOAMI, headers=basic(name)).status == 200  # verified once
    for n in range(5):
        assert suite.https("GET", WHOAMI, headers=basic("ul-victim", f"guess{n}")).status == 401
    # The user is locked: its right, once verified, password too (once the gateway's one-second cache lets go).
    wait_for(lambda: suite.https("GET", WHOAMI, headers=basic("ul-victim")).status == 403, every=0.1)
    assert "user" in suite.https("GET", WHOAMI, headers=basic("ul-victim")).json()["lockedBy"]
    # The address is locked too, but a password already verified is no guess: it still gets in.
    assert suite.https("GET", WHOAMI, headers=basic("al-good")).status == 200
    reset_everything(suite, "ul-victim")
    wait_for(lambda: suite.https("GET", WHOAMI, headers=basic("ul-victim")).status == 200, every=0.1)


def test_an_owner_is_changed_only_by_another_owner_or_the_operator(suite):
    beacon = "10.9.9.9:4000"
    for email, level in (("own-owner", 1), ("own-manager", 5)):
        assert suite.unix("POST", "/api/v0.2/users/create", {"Email": email, "Password": PASSWORD}).status == 200
        assert suite.unix("PUT", f"/api/v0.2/users/{email}", {"AuthLevel": level}).status == 200
    assert suite.unix("PUT", "/api/v0.2/users/own-owner", {"Beacons": {beacon: 2}}).status == 200
    assert suite.unix("PUT", "/api/v0.2/users/own-manager", {"Beacons": {beacon: 1}}).status == 200
    manager = suite.lighthouse_session("own-manager", PASSWORD)
    for level in (1, 0, -1):
        assert suite.https("PUT", "/api/v0.2/users/own-owner", {"Beacons": {beacon: level}}, manager).status == 403
    assert suite.unix("GET", "/api/v0.2/users/own-owner").json()["Permissions"]["Beacons"] == {beacon: 2}
    # Another owner may (given a higher AuthLevel, as for any change to a user).
    assert suite.unix("POST", "/api/v0.2/users/create", {"Email": "own-coowner", "Password": PASSWORD}).status == 200
    assert suite.unix("PUT", "/api/v0.2/users/own-coowner", {"AuthLevel": 5, "Beacons": {beacon: 2}}).status == 200
    coowner = suite.lighthouse_session("own-coowner", PASSWORD)
    assert suite.https("PUT", "/api/v0.2/users/own-owner", {"Beacons": {beacon: 1}}, coowner).status == 200
    assert suite.unix("GET", "/api/v0.2/users/own-owner").json()["Permissions"]["Beacons"] == {beacon: 1}
    assert suite.unix("PUT", "/api/v0.2/users/own-owner", {"Beacons": {beacon: 2}}).status == 200  # the operator may
    assert suite.unix("PUT", "/api/v0.2/users/own-owner", {"Beacons": {beacon: -1}}).status == 200
    assert suite.unix("GET", "/api/v0.2/users/own-owner").json()["Permissions"]["Beacons"] == {}


# -- 13: sessions ------------------------------------------------------------------------------
def https_login(suite: Suite, body: dict, path: str = "/api/login", headers=None) -> tuple[int, dict]:
    """A login over HTTPS: its status and the cookies it set."""
    context = ssl.create_default_context(cafile=str(suite.home / "tls" / "cert.pem"))
    conn = http.client.HTTPSConnection("127.0.0.1", suite.https_port, timeout=30, context=context)
    try:
        conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json", **(headers or {})})
        response = conn.getresponse()
        response.read()
        cookies = dict(c.split(";")[0].split("=", 1) for k, c in response.getheaders() if k.lower() == "set-cookie")
        return response.status, cookies
    finally:
        conn.close()


def upgrade_status(suite: Suite, path: str, headers: dict) -> bytes:
    """The status line a websocket upgrade over HTTPS gets."""
    context = ssl.create_default_context(cafile=str(suite.home / "tls" / "cert.pem"))
    with socket.create_connection(("127.0.0.1", suite.https_port), timeout=30) as raw, \
            context.wrap_socket(raw, server_hostname="127.0.0.1") as conn:
        lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{suite.https_port}", "Upgrade: websocket",
                 "Connection: Upgrade", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13",
                 *(f"{k}: {v}" for k, v in headers.items())]
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        answer = b""
        while b"\r\n\r\n" not in answer and len(answer) < 65536:
            chunk = conn.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer.split(b"\r\n", 1)[0]


def test_sessions_need_https_survive_a_failed_login_and_guard_logout_and_websockets(suite):
    assert add_identity(suite, "sess-admin", {"access": "admin", "basic": {"password": openssl_hash()}}).status == 200
    assert suite.unix("POST", "/api/v0.2/users/create", {"Email": "sess-user", "Password": PASSWORD}).status == 200
    for path, body, key in (("/api/login", {"username": "sess-admin", "password": PASSWORD}, "error"),
                            ("/api/v0.2/login", {"Email": "sess-user", "Password": PASSWORD}, "Cause")):
        plain = suite.http("POST", path, body)
        assert plain.status == 403 and plain.json()[key] == "https_required"
        assert "Set-Cookie" not in plain.headers and PASSWORD.encode() not in plain.body
    status, cookies = https_login(suite, {"username": "sess-admin", "password": PASSWORD})
    assert status == 200
    session = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
    csrf = {"X-CSRF-Token": cookies["shoal_csrf"]}

    def me():
        return suite.https("GET", WHOAMI, headers=session)

    assert me().json()["name"] == "sess-admin" and me().json()["method"] == "session"
    # A failed login leaves the session it carried as it was.
    assert https_login(suite, {"username": "sess-admin", "password": "wrong"}, headers=session)[0] == 401
    assert https_login(suite, {"Email": "sess-user", "Password": "wrong"}, "/api/v0.2/login", session)[0] == 401
    assert me().status == 200
    # Logouts need the CSRF token, as every state-changing request by cookie.
    assert suite.https("POST", "/api/logout", {}, session).status == 403
    assert suite.https("GET", "/api/v0.2/logout", headers=session).status == 403
    assert me().status == 200
    # A websocket upgrade by cookie needs the gateway's own Origin, or the CSRF token.
    started = suite.https("POST", "/v1/exec", {"command": ["sleep", "1"]}, {**session, **csrf})
    assert started.status == 202, started.body
    websocket = f"/v1/tasks/{started.json()['result']['task-id']}/websocket/control"
    assert b" 403 " in upgrade_status(suite, websocket, {**session, "Origin": "https://evil.example"})
    assert b" 403 " in upgrade_status(suite, websocket, session)
    assert b" 101 " in upgrade_status(suite, websocket, {**session, **csrf})
    assert suite.https("POST", "/api/logout", {}, {**session, **csrf}).status == 200
    wait_for(lambda: me().status == 401, every=0.1)
    reset_everything(suite, "sess-admin", "sess-user")


# -- 16: the SDK checks credentials at login ---------------------------------------------------
def test_whoami_says_who_the_gateway_takes_the_caller_for(suite):
    assert add_identity(suite, "who-admin", {"access": "admin", "basic": {"password": openssl_hash()}}).status == 200
    me = suite.https("GET", "/api/security/whoami", headers=basic("who-admin")).json()
    assert me == {"name": "who-admin", "access": "admin", "scopes": [], "method": "basic"}
    scoped = suite.https("GET", "/api/security/whoami", headers={"X-API-Token": token(suite, ["monitoring:read"])})
    assert scoped.json()["access"] == "metrics" and scoped.json()["method"] == "token"
    peer = suite.unix("GET", "/api/security/whoami").json()
    assert peer["method"] == "peer" and peer["name"] == f"uid:{os.getuid()}" and peer["uid"] == os.getuid()
    assert suite.https("GET", "/api/security/whoami").status == 401
    assert suite.https("GET", "/api/security/whoami", headers=basic("who-admin", "wrong")).status == 401


def test_the_sdk_refuses_bad_credentials_and_try_in_order_falls_through(suite):
    assert add_identity(suite, "sdk-user", {"access": "read", "basic": {"password": openssl_hash()}}).status == 200
    good = token(suite, ["monitoring:read"], "sdk")
    https = client.Info([f"https://127.0.0.1:{suite.https_port}"], ca_cert=(suite.home / "tls" / "cert.pem").read_text())
    socket = client.Info([suite.socket])

    async def attempt(info, login):
        conn = await client.open(info, client.DialOpts(dial_timeout=10, timeout=30), login)
        await conn.close()
        return login

    async def scenario():
        for info, login in ((https, client.BasicLogin("sdk-user", "wrong")), (https, client.TokenLogin("f" * 64)),
                            (socket, client.BasicLogin("sdk-user", "wrong"))):  # the socket would fall back to the uid
            with pytest.raises((client.APIError, client.LoginRequired)):
                await attempt(info, login)
        await attempt(https, client.BasicLogin("sdk-user", PASSWORD))
        chosen = await attempt(https, client.TryInOrder(client.BasicLogin("sdk-user", "wrong"), client.TokenLogin(good)))
        assert isinstance(chosen.chosen, client.TokenLogin)

    asyncio.run(scenario())
    reset_everything(suite, "sdk-user")


# -- Pulse's routes ------------------------------------------------------------------------------
def test_health_version_and_posture_are_public(suite):
    assert add_identity(suite, "posture-admin", {"access": "admin", "basic": {"password": openssl_hash()}}).status == 200
    health = suite.http("GET", "/api/health").json()
    assert health["status"] == "healthy" and health["uptime"] >= 0 and health["timestamp"] > 0
    version = suite.http("GET", "/api/version").json()
    assert version["version"] == "0.1.0" and version["buildTime"] and not version["version"].startswith("v")
    status = suite.http("GET", "/api/security/status").json()
    assert status["unixSocket"] and status["httpListener"] and status["httpsListener"]
    assert status["httpOpenRoutesOnly"] is False and "/v1/metrics" in status["httpCredentialRoutes"]
    assert status["authCanBeDisabled"] is False and status["remoteAdminConfigured"] is True
    assert status["bootstrapTokenPending"] is False  # admins that log in from elsewhere exist here
    assert suite.http("GET", "/api/security/recovery").status == 401  # a read route: not over plain HTTP


def test_regenerate_token_renews_the_primary_token_for_a_full_admin_only(suite):
    writer = {"X-API-Token": token(suite, ["settings:write"], "regen-writer")}
    assert suite.https("POST", "/api/security/regenerate-token", {}, writer).status == 403  # missing "*" scope
    first = suite.unix("POST", "/api/security/regenerate-token", {}).json()
    assert first["success"] is True and len(first["token"]) == 64 and first["requiresRestart"] is False
    assert suite.https("GET", "/v1/plan?format=yaml", headers={"X-API-Token": first["token"]}).status == 200
    second = suite.unix("POST", "/api/security/regenerate-token", {}).json()
    assert suite.https("GET", "/v1/plan?format=yaml", headers={"X-API-Token": second["token"]}).status == 200
    wait_for(lambda: suite.https("GET", "/v1/plan?format=yaml",
                                 headers={"X-API-Token": first["token"]}).status == 401, every=0.1)
    primary = [t for t in suite.unix("GET", "/api/security/tokens").json()["tokens"] if t["id"] == "primary"]
    assert len(primary) == 1 and primary[0]["scopes"] == ["*"]


def test_bootstrap_token_sets_up_the_first_admin_over_https_once(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    fresh = Suite(home=home, http_port=free_port(), https_port=free_port(), env={"SHOAL_REFUSAL_DELAY": "0"}).start()
    try:
        log = home.parent / f"{home.name}.log"
        raw = wait_for(lambda: (m := BOOTSTRAP_LINE.search(log.read_text(errors="replace"))) and m.group(1))
        assert fresh.http("GET", "/api/security/status").json()["bootstrapTokenPending"] is True
        with sqlite3.connect(next(home.glob("identity*.db"))) as db:
            stored = db.execute("SELECT hash FROM bootstrap_tokens").fetchall()
        assert len(stored) == 1 and raw not in stored[0][0]  # only its hash is kept
        validate = "/api/security/validate-bootstrap-token"
        plain = fresh.http("POST", validate, {}, {"X-Setup-Token": raw})
        assert plain.status == 403 and plain.json()["error"] == "insecure_transport"
        assert fresh.https("POST", validate, {}, {"X-Setup-Token": "0" * 48}).status == 401
        assert fresh.https("POST", validate, {}, {"X-Setup-Token": raw}).status == 204
        assert fresh.https("POST", validate, {"token": raw}).status == 204
        setup = {"username": "remote-admin", "password": "long enough password"}
        assert fresh.http("POST", "/api/security/quick-setup", setup, {"X-Setup-Token": raw}).status == 403
        done = fresh.https("POST", "/api/security/quick-setup", setup, {"X-Setup-Token": raw})
        assert done.status == 200 and done.json()["success"] is True, done.body
        assert fresh.https("GET", "/v1/plan?format=yaml", headers=basic("remote-admin", setup["password"])).status == 200
        again = fresh.https("POST", "/api/security/quick-setup", {**setup, "username": "second"}, {"X-Setup-Token": raw})
        assert again.status == 401  # used up
        status = fresh.http("GET", "/api/security/status").json()
        assert status["bootstrapTokenPending"] is False and status["remoteAdminConfigured"] is True
        outcomes = [e["success"] for e in fresh.unix("GET", "/api/audit?event=quick_setup").json()["events"]]
        assert outcomes == [False, True]  # newest first: the refused second try, the set-up
    finally:
        fresh.stop()
