"""Login providers: one interface (log in over the live connection; the
headers to send), as Juju's LoginProvider.

Basic and token logins check their credentials with the gateway's
who-am-i route (`GET /api/security/whoami`): refused credentials fail the
login, and so do credentials the gateway did not use as given (on the unix
socket a wrong password falls back to the peer's uid, which is not the
user asked for). So `TryInOrder` moves on to its next provider."""

from __future__ import annotations

import base64
from http.cookies import SimpleCookie

from shoal.client.errors import APIError, LoginRequired

SESSION_COOKIES = ("__Host-shoal_session", "shoal_session")
CSRF_COOKIE = "shoal_csrf"


class LoginProvider:
    relogin_on_401 = False

    async def login(self, conn) -> None:
        """Log in over `conn` (raise APIError when refused)."""

    def headers(self) -> dict[str, str]:
        return {}


WHOAMI = "/api/security/whoami"


async def whoami(conn, headers: dict[str, str]) -> dict:
    """Who the gateway takes these headers' sender for ({"name", "access",
    "scopes", "method", "uid"?}); APIError when it refuses them."""
    answer = await conn.raw_request("GET", WHOAMI, headers=headers)
    if answer.status != 200:
        error = conn.error_from(answer)
        raise APIError(error.status, f"credentials refused: {error.message}", error.kind or "login-required",
                       error.body)
    return answer.json() or {}


async def _check(conn, headers: dict[str, str], method: str, name: str | None = None) -> dict:
    """The credentials in `headers` are recognised as `method` (and `name`)."""
    me = await whoami(conn, headers)
    if me.get("method") != method or (name is not None and me.get("name") != name):
        who = f"{me.get('name') or 'nobody'} ({me.get('method') or 'no credentials'})"
        raise APIError(401, f"credentials refused: the gateway took this caller for {who}", "login-required", me)
    return me


class LocalLogin(LoginProvider):
    """On the unix socket: nothing is sent, the peer's uid decides."""

    async def login(self, conn) -> None:
        if not conn.address_is_socket:
            raise LoginRequired("local login needs the unix socket")


class BasicLogin(LoginProvider):
    def __init__(self, username: str, password: str):
        self.username = username
        self._header = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()

    async def login(self, conn) -> None:
        await _check(conn, self.headers(), "basic", self.username)

    def headers(self) -> dict[str, str]:
        return {"Authorization": self._header}


class TokenLogin(LoginProvider):
    def __init__(self, token: str):
        self.token = token

    async def login(self, conn) -> None:
        await _check(conn, self.headers(), "token")

    def headers(self) -> dict[str, str]:
        return {"X-API-Token": self.token}


class SessionLogin(LoginProvider):
    """Logs in once (`/api/login`, or `/api/v0.2/login` for a Lighthouse
    user), then sends the session cookie and the CSRF token; logs in again
    when the session has expired."""

    relogin_on_401 = True

    def __init__(self, username: str, password: str, lighthouse: bool = False):
        self.username, self.password, self.lighthouse = username, password, lighthouse
        self.cookies: dict[str, str] = {}

    async def login(self, conn) -> None:
        if self.lighthouse:
            path, body = "/api/v0.2/login", {"Email": self.username, "Password": self.password}
        else:
            path, body = "/api/login", {"username": self.username, "password": self.password}
        answer = await conn.raw_request("POST", path, json=body)
        if answer.status != 200:
            raise conn.error_from(answer)
        cookies = {}
        for header in answer.headers.getall("Set-Cookie", []):
            jar = SimpleCookie()
            jar.load(header)
            cookies.update({name: morsel.value for name, morsel in jar.items()})
        if not any(cookies.get(name) for name in SESSION_COOKIES):
            raise APIError(answer.status, "login answered without a session cookie")
        self.cookies = {k: v for k, v in cookies.items() if v and (k in SESSION_COOKIES or k == CSRF_COOKIE)}

    def headers(self) -> dict[str, str]:
        if not self.cookies:
            raise LoginRequired("log in first")
        out = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if CSRF_COOKIE in self.cookies:
            out["X-CSRF-Token"] = self.cookies[CSRF_COOKIE]
        return out


class TryInOrder(LoginProvider):
    """The first provider whose login succeeds; its headers from then on."""

    def __init__(self, *providers: LoginProvider):
        self.providers = providers
        self.chosen: LoginProvider | None = None

    @property
    def relogin_on_401(self) -> bool:  # type: ignore[override]
        return bool(self.chosen and self.chosen.relogin_on_401)

    async def login(self, conn) -> None:
        errors = []
        for provider in self.providers:
            try:
                await provider.login(conn)
            except (APIError, LoginRequired) as error:
                errors.append(f"{type(provider).__name__}: {error}")
                continue
            self.chosen = provider
            return
        raise LoginRequired("no login provider succeeded: " + "; ".join(errors))

    def headers(self) -> dict[str, str]:
        if self.chosen is None:
            raise LoginRequired("log in first")
        return self.chosen.headers()
