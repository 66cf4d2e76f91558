"""The authorization matrix: every documented route × every kind of caller ×
every transport, against the real gateway, compared with the rule written
out here from the spec (pebble-api.md §5.2–5.4, DESIGN.md): nothing answers
above its level.

"Refused" means refused by the gateway's access rule (its own 401/403
bodies); a service may still refuse an allowed caller for its own reasons
(a Lighthouse level, a missing uid for notices), which is not a refusal
of access to the route. A route that answers only over concealed
transports (the `transports` option) is refused over plain HTTP whoever
calls; an open route that resolves its caller (`resolve_caller`) refuses
refused credentials as any other route does.
On Pebble's /v1 every such refusal is 401, as
Pebble answers (only a token lacking the route's scope is 403).
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import sqlite3
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shoal.descriptors import ACCESS_RANK, all_methods, family_of_path
from tests.support import ROOT, Suite

NOBODY = 65534
PASSWORD = "matrix-password"
GATEWAY_REFUSALS = ("access denied", "authentication required", "access required",
                    "lacks the scope", "Invalid API token", "session expired", "Invalid username or password",
                    "locked", "this route answers only over")


METHODS = {method.name: method for method in all_methods()}


def routes() -> list[tuple[str, str, str, str]]:
    """(name, HTTP method, concrete path, access) for every documented route."""
    out = []
    for method in all_methods():
        if not method.http_method:
            continue
        path = method.http_path
        for param in method.path_params:
            path = path.replace("{" + param + "}", "matrix-x")
        out.append((method.name, method.http_method, path, method.access))
    return out


def refusal(answer) -> str:
    """The gateway's own access refusal message in `answer`, or ""."""
    if answer.status not in (401, 403):
        return ""
    try:
        body = json.loads(answer.body)
    except ValueError:
        return ""
    message = ""
    if isinstance(body, dict):
        result = body.get("result")
        message = (result or {}).get("message", "") if isinstance(result, dict) else ""
        message = message or body.get("message", "") or body.get("Message", "")
    return message if any(text in message for text in GATEWAY_REFUSALS) else ""


def body_for(http_method: str):
    return {} if http_method in ("POST", "PUT", "PATCH") else None


@pytest.fixture(scope="module", params=[1, 2], ids=["one-gateway", "two-gateway-workers"])
def suite(tmp_path_factory, request):
    """A suite that refuses bad credentials without the usual one-second
    pause (the matrix sends hundreds of them); once with one gateway, once
    with two workers sharing the listeners (each request lands on either)."""
    from tests.support import free_port

    home = tmp_path_factory.mktemp("matrix") / "home"
    home.mkdir()
    s = Suite(home=home, http_port=free_port(), https_port=free_port(), gateway_workers=request.param,
              env={"SHOAL_REFUSAL_DELAY": "0"}).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def world(suite: Suite):
    hashed = subprocess.run(["openssl", "passwd", "-6", PASSWORD], capture_output=True, text=True,
                            check=True).stdout.strip()
    identities = {name: {"access": name, "basic": {"password": hashed}} for name in ("metrics", "read", "admin")}
    assert suite.unix("POST", "/v1/identities", {"action": "add", "identities": identities}).status == 200
    basic = {name: {"Authorization": "Basic " + base64.b64encode(f"{name}:{PASSWORD}".encode()).decode()}
             for name in identities}
    for headers in basic.values():  # verified once, so later wrong passwords cannot lock them out
        assert suite.https("GET", "/v1/system-info", headers=headers).status == 200
    revoked = suite.unix("POST", "/api/security/tokens", {"name": "revoked"}).json()
    assert suite.unix("DELETE", f"/api/security/tokens/{revoked['record']['id']}").status == 204
    scoped = suite.unix("POST", "/api/security/tokens", {"name": "scoped", "scopes": ["monitoring:read"]}).json()
    session = _expired_session(suite)
    refused = {"X-API-Token": revoked["token"]}, {"Cookie": f"__Host-shoal_session={session}"}
    for headers in refused:  # once the gateway's one-second caller cache has let them go
        _until(lambda headers=headers: suite.https("GET", "/v1/services", headers=headers).status == 401)
    return {
        "metrics": basic["metrics"],
        "read": basic["read"],
        "admin": basic["admin"],
        # Its own name: a locked user stays locked even for a password verified
        # before, so guessing at "read" would lock the read caller out.
        "wrong-password": {"Authorization": "Basic " + base64.b64encode(b"guessed:not-it").decode()},
        "revoked-token": {"X-API-Token": revoked["token"]},
        "expired-session": {"Cookie": f"shoal_session={session}; __Host-shoal_session={session}"},
        "scoped-token": {"X-API-Token": scoped["token"]},
        "nothing": {},
    }


def _until(condition, within: float = 10.0) -> None:
    """Poll `condition` until it holds (bounded)."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, f"not so after {within}s"
        time.sleep(0.05)


def _expired_session(suite: Suite) -> str:
    context = ssl.create_default_context(cafile=str(suite.home / "tls" / "cert.pem"))
    conn = http.client.HTTPSConnection("127.0.0.1", suite.https_port, timeout=30, context=context)  # never plain HTTP
    conn.request("POST", "/api/login", body=json.dumps({"username": "read", "password": PASSWORD}),
                 headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 200
    cookies = [v for k, v in resp.getheaders() if k.lower() == "set-cookie"]
    raw = next(c.split(";")[0].split("=", 1)[1] for c in cookies if c.startswith("__Host-shoal_session="))
    database = next(suite.home.glob("identity*.db"))
    with sqlite3.connect(database) as db:
        assert db.execute("UPDATE sessions SET expires_at = 0").rowcount == 1
    return raw


def level_of(caller: str, transport: str) -> str | None:
    """The level a caller reaches over a transport, None when refused outright."""
    if caller in ("metrics", "read", "admin"):
        return caller
    if caller in ("wrong-password", "expired-session"):
        return "admin" if transport == "unix" else None  # the socket falls back to root's uid
    if caller == "nothing":
        return "admin" if transport == "unix" else "untrusted"
    return None


def allowed(caller: str, transport: str, name: str, access: str) -> bool:
    method = METHODS[name]
    if (method.transports == "concealed" and transport == "http") or (
            method.transports == "unix" and transport != "unix"):
        return False
    if access == "untrusted":
        return not method.resolve_caller or caller == "scoped-token" or level_of(caller, transport) is not None
    if caller == "scoped-token":
        reaches = "monitoring:read" in METHODS[name].scopes
        return reaches and (transport != "http" or access == "metrics")
    level = level_of(caller, transport)
    if level is None:
        return False
    if transport == "http":
        return access == "metrics" and level == "metrics"
    return ACCESS_RANK[level] >= ACCESS_RANK[access]


def run_all(suite: Suite, callers: dict, transport: str) -> dict:
    results = {}
    for caller, headers in callers.items():
        for name, method, path, access in routes():
            send = {"unix": suite.unix, "http": suite.http, "https": suite.https}[transport]
            results[(caller, name)] = send(method, path, body_for(method), headers)
    return results


@pytest.mark.parametrize("transport", ["unix", "http", "https"])
def test_no_route_answers_above_its_level(suite: Suite, world, transport):
    failures = []
    for (caller, name), answer in run_all(suite, world, transport).items():
        access = next(a for n, _, _, a in routes() if n == name)
        refused = refusal(answer)
        if allowed(caller, transport, name, access):
            if refused:
                failures.append(f"{caller} {name}: refused {answer.status} {refused!r}")
        elif not refused:
            failures.append(f"{caller} {name} ({access}) over {transport}: answered {answer.status}")
        elif caller == "scoped-token" and transport != "http":
            if answer.status != 403:
                failures.append(f"{caller} {name}: {answer.status}, expected 403 missing_scope")
        elif family_of_path(METHODS[name].http_path) == "pebble" and answer.status != 401:
            failures.append(f"{caller} {name} over {transport}: {answer.status}, expected Pebble's 401")
    assert not failures, "\n".join(failures)


_OTHER_UID_CLIENT = """
import json, os, sys
sys.path.insert(0, {root!r})
from tests.support import UnixHTTPConnection, request  # imported while still allowed to read it
os.setgid({uid}); os.setuid({uid})
out = []
for method, path, body in json.loads(sys.stdin.read()):
    a = request(UnixHTTPConnection({socket!r}), method, path, body, None)
    out.append([a.status, a.body.decode(errors="replace")])
print(json.dumps(out))
"""


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to connect as another uid")
def test_another_uid_on_the_socket_reads_but_never_administers(suite: Suite, world):
    for path in [suite.home, *suite.home.parents]:
        if path == Path("/"):
            break
        os.chmod(path, path.stat().st_mode | 0o011)
    table = routes()
    script = _OTHER_UID_CLIENT.format(root=str(ROOT), uid=NOBODY, socket=suite.socket)
    done = subprocess.run([sys.executable, "-c", script], check=False, input=json.dumps(
        [[method, path, body_for(method)] for _, method, path, _ in table]), capture_output=True, text=True,
        timeout=300, cwd="/")
    assert done.returncode == 0, done.stderr
    failures = []
    for (name, _, path, access), (status, text) in zip(table, json.loads(done.stdout)):
        answer = type("A", (), {"status": status, "body": text.encode()})
        refused = refusal(answer)
        expected = 401 if family_of_path(path) == "pebble" else 403  # /v1 refuses as Pebble does
        if ACCESS_RANK[access] <= ACCESS_RANK["read"]:
            if refused:
                failures.append(f"{name} ({access}): refused {status}")
        elif not refused or status != expected:
            failures.append(f"{name} ({access}): {status}, expected a {expected} refusal")
    assert not failures, "\n".join(failures)


def test_the_matrix_covers_every_route():
    names = {name for name, *_ in routes()}
    assert {"ListServices", "GetMetrics", "IdentitiesAction", "CreateToken", "ListAuditEvents",
            "CreateBeacon", "UpdateApplication", "AddLayer", "DeleteBeacon", "GrantBeaconUser", "SetAlias",
            "RevertApplicationPost", "WhoAmI", "RegenerateToken", "ValidateBootstrapToken",
            "QuickSetup", "GetRecoveryStatus", "GetApiHealth", "GetApiVersion"} <= names
    assert len(names) > 50
