"""Opening a connection to a gateway the way Juju's client does: shuffled
addresses dialled in a staggered race (first success wins, the rest are
cancelled), certificate errors never retried, one deadline around dial and
login, a background ping that marks the connection broken, redirects as a
typed error, and the address that worked moved to the front."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import random
import ssl
import time
from typing import Self

import aiohttp
import orjson

from shoal.client.api import Api
from shoal.client.auth import LoginProvider
from shoal.client.errors import (
    APIError,
    CertificateError,
    ConnectionError,
    RedirectError,
    ShoalError,
    TimeoutError,
)
from shoal.client.options import DialOpts, Info
from shoal.client.transport import Answer

PING_PATH = "/v1/health"
REDIRECTS = (301, 302, 303, 307, 308)
STREAM_CONNECT_TIMEOUT = 10.0  # a streamed answer may last; only its connection is timed


def _is_socket(address: str) -> bool:
    return address.startswith(("unix:", "/"))


def _ssl_context(info: Info) -> ssl.SSLContext:
    context = ssl.create_default_context(cadata=info.ca_cert or None)
    if info.ca_cert:
        context.check_hostname = False  # a private CA: the certificate is what is trusted
    if info.client_cert:
        context.load_cert_chain(info.client_cert, info.client_key or None)
    return context


def _session(address: str, info: Info) -> tuple[aiohttp.ClientSession, str]:
    if _is_socket(address):
        connector = aiohttp.UnixConnector(path=address.removeprefix("unix:"))
        base = "http://localhost"
    else:
        connector = aiohttp.TCPConnector(ssl=_ssl_context(info) if address.startswith("https://") else False)
        base = address.rstrip("/")
    return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar()), base


async def _exchange(session: aiohttp.ClientSession, method: str, url: str, options: dict,
                    stream: bool) -> Answer:
    """One request. A streamed success is left open (its answer closes it);
    anything else is read whole."""
    response = await session.request(method, url, **options)
    if stream and response.status < 300:
        return Answer(response.status, response.headers, b"", response.content, [_released(response)])
    try:
        return Answer(response.status, response.headers, await response.read())
    finally:
        response.release()


def _released(response: aiohttp.ClientResponse):
    async def release() -> None:
        response.release()

    return release


async def _dial_once(address: str, info: Info, timeout: float | None) -> tuple[aiohttp.ClientSession, str]:
    session, base = _session(address, info)
    try:
        async with session.get(base + PING_PATH, timeout=aiohttp.ClientTimeout(total=timeout),
                               allow_redirects=False) as response:
            await response.read()  # any HTTP answer means a gateway is there
        return session, base
    except BaseException as error:
        await session.close()
        if isinstance(error, (aiohttp.ClientConnectorCertificateError, aiohttp.ClientSSLError,
                              ssl.SSLCertVerificationError)):
            raise CertificateError(f"{address}: certificate not trusted: {error}") from None
        if isinstance(error, asyncio.TimeoutError):
            raise TimeoutError(f"{address}: no answer in {timeout}s") from None
        if isinstance(error, (aiohttp.ClientError, OSError)):
            raise ConnectionError(f"{address}: {error}") from None
        raise


async def _dial_address(address: str, info: Info, opts: DialOpts, deadline: float | None):
    """One address, retried every retry_delay (never for certificate errors)."""
    while True:
        try:
            left = None if deadline is None else max(deadline - time.monotonic(), 0.001)
            return await _dial_once(address, info, left)
        except CertificateError:
            raise
        except (ConnectionError, TimeoutError):
            if not opts.retry_delay or (deadline is not None and time.monotonic() + opts.retry_delay > deadline):
                raise
            await asyncio.sleep(opts.retry_delay)


async def dial(info: Info, opts: DialOpts) -> tuple[str, aiohttp.ClientSession, str]:
    """The first address to answer: (address, session, base URL)."""
    addresses = list(info.addresses)
    random.shuffle(addresses)
    deadline = time.monotonic() + opts.dial_timeout if opts.dial_timeout else None
    causes: dict[str, str] = {}
    certificate_failed = False
    running: dict[asyncio.Task, str] = {}
    waiting = list(addresses)
    winner = None
    try:
        while waiting or running:
            if waiting:
                address = waiting.pop(0)
                running[asyncio.ensure_future(_dial_address(address, info, opts, deadline))] = address
            wait = opts.dial_address_interval if waiting else None
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                wait = left if wait is None else min(wait, left)
            done, _ = await asyncio.wait(running, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                address = running.pop(task)
                if task.exception() is None:
                    if winner is None:
                        winner = (address, *task.result())
                    else:
                        await task.result()[0].close()
                else:
                    causes[address] = str(task.exception())
                    certificate_failed |= isinstance(task.exception(), CertificateError)
            if winner is not None:
                return winner
    finally:
        for task in running:
            task.cancel()
        for task, address in list(running.items()):
            with contextlib.suppress(BaseException):
                session, _ = await task
                await session.close()
    for address in addresses:
        causes.setdefault(address, f"{address}: no answer within the dial timeout")
    # The most meaningful failure wins: an untrusted certificate over "refused".
    kind = CertificateError if certificate_failed else ConnectionError
    raise kind("cannot reach a gateway: " + "; ".join(causes[a] for a in addresses), causes)


class Connection(Api):
    """A live connection to one gateway: the Transport the typed API
    (`Api`) calls through, with its liveness ping."""

    def __init__(self, info: Info, opts: DialOpts, login: LoginProvider, address: str,
                 session: aiohttp.ClientSession, base: str):
        super().__init__(self)
        self.info, self.opts, self.login_provider = info, opts, login
        self.address, self._session, self._base = address, session, base
        self.broken = asyncio.Event()
        self._monitor: asyncio.Task | None = None
        self._closed = False

    @property
    def address_is_socket(self) -> bool:
        return _is_socket(self.address)

    # -- requests ----------------------------------------------------------------
    async def raw_request(self, method: str, path: str, *, json=None, params=None, data=None,
                          headers: dict | None = None, timeout: float | None = None,
                          stream: bool = False) -> Answer:
        """One HTTP exchange, nothing interpreted (no login headers added)."""
        kwargs = {"params": params, "headers": dict(headers or {}), "allow_redirects": False,
                  "timeout": self._timeout(timeout, stream)}
        if json is not None:
            kwargs["data"] = orjson.dumps(json)
            kwargs["headers"].setdefault("Content-Type", "application/json")
        elif data is not None:
            kwargs["data"] = data
        try:
            return await _exchange(self._session, method, self._base + path, kwargs, stream)
        except builtins.TimeoutError:
            raise TimeoutError(f"{method} {path}: no answer in time") from None
        except (aiohttp.ClientError, OSError) as error:
            self.broken.set()
            raise ConnectionError(f"{self.address}: {error}") from None

    def _timeout(self, timeout: float | None, stream: bool) -> aiohttp.ClientTimeout:
        if stream:
            return aiohttp.ClientTimeout(total=None, sock_connect=timeout or STREAM_CONNECT_TIMEOUT)
        return aiohttp.ClientTimeout(total=timeout or self.opts.request_timeout)

    async def request(self, method: str, path: str, *, stream: bool = False, **kwargs) -> Answer:
        """An API call with the login's headers; a refused session logs in
        again once; errors become APIError, redirects RedirectError (or are
        followed once, without credentials, when the options say so). With
        `stream`, a successful answer is left open to read as it arrives."""
        headers = {**self.login_provider.headers(), **(kwargs.pop("headers", None) or {})}
        answer = await self.raw_request(method, path, headers=headers, stream=stream, **kwargs)
        if answer.status == 401 and self.login_provider.relogin_on_401:
            await self.login_provider.login(self)
            headers.update(self.login_provider.headers())
            answer = await self.raw_request(method, path, headers=headers, stream=stream, **kwargs)
        if answer.status in REDIRECTS:
            location = answer.headers.get("Location", "")
            if not self.opts.follow_redirects:
                raise RedirectError(location, answer.status)
            answer = await self._follow(method, location, kwargs, stream)
        if answer.status >= 400:
            raise self.error_from(answer)
        return answer

    async def websocket(self, path: str):
        """A websocket at `path` with the login's headers (exec's control,
        stdio and stderr); a refused upgrade is an APIError with its status."""
        headers = self.login_provider.headers()
        try:
            return await self._session.ws_connect(self._base + path, headers=headers, max_msg_size=0,
                                                  timeout=aiohttp.ClientWSTimeout(ws_close=5),
                                                  autoping=True)
        except aiohttp.WSServerHandshakeError as error:
            raise APIError(error.status, f"cannot connect to websocket {path}: {error.message}") from None
        except (aiohttp.ClientError, OSError) as error:
            raise ConnectionError(f"{self.address}: {error}") from None

    async def _follow(self, method: str, location: str, kwargs: dict, stream: bool) -> Answer:
        target = location if "://" in location else self._base + location
        session = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
        body = orjson.dumps(kwargs["json"]) if kwargs.get("json") is not None else kwargs.get("data")
        options = {"data": body, "params": kwargs.get("params"), "allow_redirects": False,
                   "timeout": self._timeout(kwargs.get("timeout"), stream),
                   "ssl": _ssl_context(self.info) if target.startswith("https://") else False}
        try:
            answer = await _exchange(session, method, target, options, stream)
        except (aiohttp.ClientError, OSError) as error:
            await session.close()
            raise ConnectionError(f"cannot connect to redirected address {target}: {error}") from None
        except BaseException:
            await session.close()
            raise
        if answer.content is None:
            await session.close()
        else:
            answer.closers.insert(0, session.close)  # closed after the answer
        if answer.status in REDIRECTS:
            await answer.close()
            raise RedirectError(answer.headers.get("Location", ""), answer.status)  # one hop only
        return answer

    @staticmethod
    def error_from(answer: Answer) -> APIError:
        try:
            body = answer.json()
        except ValueError:
            return APIError(answer.status, answer.body.decode(errors="replace")[:200] or "error")
        if isinstance(body, dict) and isinstance(body.get("result"), dict):  # Pebble
            result = body["result"]
            return APIError(answer.status, result.get("message", ""), result.get("kind", ""), body)
        if isinstance(body, dict) and "Cause" in body:  # Lighthouse
            return APIError(answer.status, body.get("Message", ""), body.get("Cause", ""), body)
        if isinstance(body, dict):  # Pulse-style security routes
            return APIError(answer.status, body.get("message", ""), body.get("error", ""), body)
        return APIError(answer.status, str(body))

    # -- liveness ------------------------------------------------------------------
    async def ping(self) -> bool:
        try:
            await asyncio.wait_for(self.raw_request("GET", PING_PATH, timeout=self.opts.ping_timeout),
                                   self.opts.ping_timeout)
            return True
        except (ShoalError, builtins.TimeoutError):
            return False

    async def _watch(self) -> None:
        while not self._closed:
            await asyncio.sleep(self.opts.ping_period)
            if not await self.ping():
                self.broken.set()
                return

    async def is_broken(self) -> bool:
        if self.broken.is_set():
            return True
        if not await self.ping():
            self.broken.set()
        return self.broken.is_set()

    async def close(self) -> None:
        self._closed = True
        if self._monitor is not None:
            self._monitor.cancel()
            await asyncio.gather(self._monitor, return_exceptions=True)
        self.broken.set()
        await self._session.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()


async def open(info: Info, opts: DialOpts | None = None, login: LoginProvider | None = None) -> Connection:
    """Dial, log in (under one deadline), start the ping monitor."""
    opts = opts or DialOpts()
    login = login or LoginProvider()  # nothing sent: on the socket, the peer's uid decides

    async def connect() -> Connection:
        address, session, base = await dial(info, opts)
        conn = Connection(info, opts, login, address, session, base)
        try:
            await login.login(conn)
        except BaseException:
            await session.close()
            raise
        info.addresses.remove(address)
        info.addresses.insert(0, address)  # remember what worked
        conn._monitor = asyncio.get_running_loop().create_task(conn._watch())
        return conn

    if not opts.timeout:
        return await connect()
    try:
        return await asyncio.wait_for(connect(), opts.timeout)
    except builtins.TimeoutError:
        raise TimeoutError(f"cannot connect and log in within {opts.timeout}s") from None
