"""What the typed API needs from a connection (`Transport`), and the answer
one HTTP exchange gives (`Answer`), whole or streamed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson


@dataclass
class Answer:
    """An HTTP answer. `body` holds it whole, unless it was asked for as a
    stream: then `lines()` reads it as it arrives and `close()` ends it."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    content: Any = field(default=None, repr=False)  # the stream still to read (aiohttp.StreamReader)
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list, repr=False)

    def json(self):
        return orjson.loads(self.body) if self.body else None

    async def lines(self) -> AsyncIterator[bytes]:
        """The body line by line as it arrives (a whole body: its lines)."""
        if self.content is None:
            for line in self.body.splitlines(keepends=True):
                yield line
            return
        async for line in self.content:
            yield line

    async def chunks(self, size: int = 64 * 1024) -> AsyncIterator[bytes]:
        """The body in pieces as it arrives (a whole body: itself)."""
        if self.content is None:
            if self.body:
                yield self.body
            return
        async for chunk in self.content.iter_chunked(size):
            yield chunk

    async def close(self) -> None:
        for close in reversed(self.closers):
            await close()
        self.closers.clear()


class Transport(Protocol):
    """One API call: the login's headers are added, a refused session logs
    in again once, a redirect is a RedirectError (or followed once, without
    credentials, when the dial options say so), and any status ≥ 400 is an
    APIError. With `stream=True` a successful answer is left open for
    `Answer.lines()` (close it when done)."""

    async def request(self, method: str, path: str, *, json: Any = None, params: dict[str, str] | None = None,
                      data: bytes | None = None, headers: dict[str, str] | None = None,
                      timeout: float | None = None, stream: bool = False) -> Answer: ...

    async def websocket(self, path: str) -> Any:
        """A websocket at `path` with the login's headers (an aiohttp
        ClientWebSocketResponse); a refused upgrade is an APIError."""
        ...
