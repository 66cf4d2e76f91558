"""The SDK's connection behaviour with real listeners: racing dial, errors
naming every address, certificate errors never retried, broken detection,
redirects, and the session provider logging in again."""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
import subprocess
import sys
import time

import pytest

from shoal import client
from tests.support import Suite, free_port

# A small real HTTP server in its own process: /v1/health answers; with a
# redirect target every other path answers 307 there; /echo returns the
# request's headers.
SERVER = """
import json, sys
from aiohttp import web
target = sys.argv[2] if len(sys.argv) > 2 else ""
async def health(request):
    return web.json_response({"type": "sync", "status-code": 200, "result": {"healthy": True}})
async def echo(request):
    return web.json_response({"headers": dict(request.headers)})
async def other(request):
    if target:
        raise web.HTTPTemporaryRedirect(target)
    raise web.HTTPNotFound()
app = web.Application()
app.router.add_get("/v1/health", health)
app.router.add_get("/echo", echo)
app.router.add_route("*", "/{tail:.*}", other)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
"""


def serve(*args: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", SERVER, str(port), *args])
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, port
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("test server did not start")


@pytest.fixture
def silent_port():
    """A port that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    yield listener.getsockname()[1]
    listener.close()


async def test_a_dead_first_address_loses_to_a_live_second(suite: Suite, tmp_path):
    dead = str(tmp_path / "nobody-listens.sock")
    info = client.Info([dead, suite.socket])
    for _ in range(3):  # shuffled: either order, the live one wins
        async with await client.open(info, client.DialOpts(dial_address_interval=0.01)) as conn:
            assert conn.address == suite.socket
            assert (await conn.system_info()).version
        assert info.addresses[0] == suite.socket  # the address that worked moves to the front


async def test_all_dead_fails_within_the_dial_timeout_naming_each_address(tmp_path, silent_port):
    refused = f"http://127.0.0.1:{free_port()}"
    silent = f"http://127.0.0.1:{silent_port}"
    missing = str(tmp_path / "missing.sock")
    started = time.monotonic()
    with pytest.raises(client.ConnectionError) as caught:
        await client.open(client.Info([refused, silent, missing]), client.DialOpts(dial_timeout=1.0))
    assert time.monotonic() - started < 3
    assert set(caught.value.causes) == {refused, silent, missing}
    for address in (refused, silent, missing):
        assert address in str(caught.value)


async def test_an_untrusted_certificate_fails_at_once_without_retry(suite: Suite):
    info = client.Info([f"https://127.0.0.1:{suite.https_port}"])  # system roots: the suite's CA is not among them
    started = time.monotonic()
    with pytest.raises(client.CertificateError):
        await client.open(info, client.DialOpts(retry_delay=1.0, dial_timeout=20))
    assert time.monotonic() - started < 1.0  # not retried every second until the timeout
    trusted = client.Info([f"https://127.0.0.1:{suite.https_port}"],
                          ca_cert=(suite.home / "tls" / "cert.pem").read_text())
    async with await client.open(trusted) as conn:
        assert await conn.health() in (True, False)


async def test_a_killed_gateway_is_noticed_within_ping_period_plus_timeout():
    process, port = serve()
    try:
        opts = client.DialOpts(ping_period=0.3, ping_timeout=0.5)
        conn = await client.open(client.Info([f"http://127.0.0.1:{port}"]), opts, client.LoginProvider())
        assert not await conn.is_broken()
        process.kill()
        process.wait()
        await asyncio.wait_for(conn.broken.wait(), opts.ping_period + opts.ping_timeout + 0.5)
        assert await conn.is_broken()
        await conn.close()
    finally:
        process.kill()


async def test_redirects_are_typed_and_followed_once_without_credentials_when_flagged():
    target, target_port = serve()
    redirector, port = serve(f"http://127.0.0.1:{target_port}/echo")
    try:
        info = client.Info([f"http://127.0.0.1:{port}"])
        token = client.TokenLogin("secret-token-value")
        token.login = lambda conn: asyncio.sleep(0)  # this stand-in gateway knows no tokens
        async with await client.open(info, client.DialOpts(), token) as conn:
            with pytest.raises(client.RedirectError) as caught:
                await conn.request("GET", "/anything")
            assert caught.value.location == f"http://127.0.0.1:{target_port}/echo"
            with pytest.raises(client.RedirectError):
                [line async for line in conn.logs()]  # streams go through request() too
        async with await client.open(info, client.DialOpts(follow_redirects=True), token) as conn:
            answer = await conn.request("GET", "/anything")
            headers = {k.lower(): v for k, v in answer.json()["headers"].items()}
            assert "x-api-token" not in headers and "authorization" not in headers
            (streamed,) = [line async for line in conn.logs()]
            assert "x-api-token" not in {k.lower() for k in streamed["headers"]}
    finally:
        redirector.kill()
        target.kill()


async def test_the_session_provider_logs_in_again_after_expiry(suite: Suite):
    assert suite.unix("POST", "/api/v0.2/users/create", {"Email": "sdk@example.com", "Password": "pw"}).status == 200
    provider = client.SessionLogin("sdk@example.com", "pw", lighthouse=True)
    info = client.Info([f"https://127.0.0.1:{suite.https_port}"], ca_cert=(suite.home / "tls" / "cert.pem").read_text())
    async with await client.open(info, login=provider) as conn:
        assert await conn.users() == ["sdk@example.com"]
        first = dict(provider.cookies)
        database = next(suite.home.glob("identity*.db"))
        with sqlite3.connect(database) as db:
            db.execute("UPDATE sessions SET expires_at = 0")
        await _until_refused(conn, provider.headers())  # the gateway's short caller cache has let it go
        assert isinstance([line async for line in conn.logs(n=1)], list)  # a stream logs in again too
        assert provider.cookies != first  # a new session
        assert await conn.users() == ["sdk@example.com"]  # no error seen by the caller


async def _until_refused(conn, headers: dict, within: float = 10.0) -> None:
    """Poll until the gateway refuses `headers` (bounded)."""
    deadline = time.monotonic() + within
    while (await conn.raw_request("GET", "/api/v0.2/users/list", headers=headers)).status != 401:
        assert time.monotonic() < deadline, f"credentials still accepted after {within}s"
        await asyncio.sleep(0.05)


async def test_sync_wrapper_and_streams(suite: Suite):
    from shoal.client.sync import connect

    def use():
        with connect(client.Info([suite.socket])) as conn:
            return conn.system_info().version, conn.logs(n=1)

    version, logs = await asyncio.to_thread(use)
    assert version and isinstance(logs, list)


def test_info_is_validated():
    with pytest.raises(ValueError):
        client.Info([])
    with pytest.raises(ValueError):
        client.Info(["ftp://example.com"])
    assert json.dumps(client.DialOpts().__dict__)
