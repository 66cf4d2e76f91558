"""One JSON POST to an HTTP log target, with Pebble's rules for the answer.

- 200 or 204: delivered; the client drops what it sent.
- 429 and 5xx: the target is busy or broken; keep the entries, retry later.
- any other 4xx: retrying cannot help; drop the entries (logged).
- anything else (a redirect left unfollowed, 1xx): keep the entries.

Proxies come from HTTP_PROXY / HTTPS_PROXY / NO_PROXY as Go's HTTP client
takes them, and, as there, loopback and `localhost` are never proxied.
"""

from __future__ import annotations

import ipaddress
import logging
import urllib.request
from enum import Enum
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from services.plan.logforward.client import (
    MAX_REQUEST_ENTRIES,
    REQUEST_TIMEOUT,
    BufferedClient,
    FlushError,
)

if TYPE_CHECKING:
    import aiohttp

log = logging.getLogger("shoal.plan.logforward")

_ERROR_BODY = 1024  # bytes of a refusal's body kept for the debug log
_DRAIN_BODY = 1024 * 1024  # a success's body up to this is read, so the connection can be reused


class Outcome(Enum):
    SENT = "sent"
    RETRY = "retry"
    DROP = "drop"


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def proxy_for(url: str) -> str | None:
    """The proxy Go's ProxyFromEnvironment would choose for `url`."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not host or _is_loopback(host):
        return None
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(parts.scheme)
    if not proxy or urllib.request.proxy_bypass_environment(host, proxies):
        return None
    return proxy if "://" in proxy else "http://" + proxy


class Poster:
    """POSTs for one target over one connection pool (made on first use)."""

    def __init__(self, target_name: str, user_agent: str, timeout: float = REQUEST_TIMEOUT):
        self.target_name = target_name
        self.user_agent = user_agent
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def post(self, url: str, body: bytes, content_type: str, count: int) -> None:
        """Send `body` (holding `count` entries). Returns once delivered;
        `DroppedError` when the target refused it for good, else `FlushError`."""
        import aiohttp  # on the first post: a plan service without HTTP log targets never loads an HTTP client

        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        headers = {"Content-Type": content_type, "User-Agent": self.user_agent}
        try:
            async with self._session.post(url, data=body, headers=headers, proxy=proxy_for(url)) as response:
                outcome = outcome_of(response.status)
                if outcome is Outcome.SENT:
                    if response.content_length is not None and response.content_length <= _DRAIN_BODY:
                        await response.read()  # so the connection is kept for the next flush
                    return
                detail = await response.content.read(_ERROR_BODY)
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as error:
            raise FlushError(f'Post "{url}": {_describe(error)}') from None
        log.debug("HTTP %d error, response %r", response.status, detail)
        status = f"{response.status} {response.reason or ''}".rstrip()
        if outcome is Outcome.DROP:
            log.warning('Target "%s": request failed with status %d, dropping %d logs',
                        self.target_name, response.status, count)
            raise DroppedError(f"server returned HTTP {status}")
        if response.status == 429 or 500 <= response.status < 600:
            raise FlushError(f"server returned HTTP {status}")
        raise FlushError(f"unexpected response from server: {status}")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class DroppedError(FlushError):
    """The target refused the entries for good; they were dropped."""


def outcome_of(status: int) -> Outcome:
    if status in (200, 204):
        return Outcome.SENT
    if status == 429 or 500 <= status < 600:
        return Outcome.RETRY
    if 400 <= status < 500:
        return Outcome.DROP
    return Outcome.RETRY


def _describe(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "request timed out"
    return str(error) or type(error).__name__


class HTTPClient(BufferedClient):
    """A client that POSTs its window as one JSON body to `url`."""

    content_type = "application/json"

    def __init__(self, target_name: str, url: str, user_agent: str,
                 max_entries: int = MAX_REQUEST_ENTRIES, timeout: float = REQUEST_TIMEOUT):
        super().__init__(max_entries)
        self.url = url
        self._poster = Poster(target_name, user_agent, timeout)

    def request_body(self) -> bytes:
        raise NotImplementedError

    async def flush(self) -> None:
        if not self.entries:
            return
        try:
            await self._poster.post(self.url, self.request_body(), self.content_type, len(self.entries))
        except DroppedError:
            self.reset()
            raise
        self.reset()

    async def close(self) -> None:
        await self._poster.close()
