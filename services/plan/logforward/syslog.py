"""Syslog: RFC 5424 messages over TCP (octet counting, RFC 6587) or UDP
(one message per datagram, RFC 5426), as Pebble sends them:

    <13>1 TIMESTAMP HOSTNAME SERVICE - - [pebble@28978 k="v" ...] LINE

Priority 13 is facility user, severity notice; the timestamp is the line's
time in UTC with Go's RFC3339Nano (fraction without trailing zeros); the
structured data carries the labels (`"`, `\\` and `]` escaped), `[pebble@28978]`
for none, `-` once a service's labels were forgotten. Over TCP each message
is `LENGTH SP MESSAGE` with no newline; one connection is kept and made again
after a failure. Over UDP a line longer than 4000 bytes is cut to 3997 and
ends in `...`; a datagram that fails keeps it and the ones after it.

Unlike Pebble, a TCP connection the server has closed is noticed before the
next write (Pebble's first write into it is lost), and a write that the
server does not take within the request timeout fails instead of waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from urllib.parse import urlsplit

from services.plan.logforward.client import (
    MAX_REQUEST_ENTRIES,
    REQUEST_TIMEOUT,
    BufferedClient,
    FlushError,
)
from services.plan.logforward.entries import Entry

PRIVATE_ENTERPRISE_NUMBER = 28978  # Canonical's, as in Pebble's structured-data id
DEFAULT_SDID = "pebble"
PREFIX = b"<13>1 "
MAX_UDP_MESSAGE = 4000


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def structured_data(sdid: str, labels: dict[str, str]) -> bytes:
    params = "".join(f' {key}="{_escape(labels[key])}"' for key in sorted(labels))
    return f"[{sdid}@{PRIVATE_ENTERPRISE_NUMBER}{params}]".encode()


def parse_location(location: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of `tcp://host:port` or `udp://host:port`; ValueError."""
    try:
        parts = urlsplit(location)
        port = parts.port
    except ValueError as error:
        raise ValueError(f"invalid syslog server location: {error}") from None
    hostport = parts.netloc.rpartition("@")[2]
    if parts.scheme not in ("tcp", "udp") or not hostport:
        raise ValueError(
            f'invalid syslog server location "{location}", must be in form "tcp://host:port" or "udp://host:port"'
        )
    return parts.scheme, parts.hostname or "localhost", port


class SyslogClient(BufferedClient):
    def __init__(self, location: str, hostname: str, sdid: str = DEFAULT_SDID,
                 max_entries: int = MAX_REQUEST_ENTRIES, timeout: float = REQUEST_TIMEOUT):
        super().__init__(max_entries)
        self.location = location
        self.scheme, self.host, self.port = parse_location(location)
        self.hostname = (hostname or "-").encode()
        self.sdid = sdid or DEFAULT_SDID
        self.timeout = timeout
        self._labels: dict[str, bytes] = {}
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._udp: socket.socket | None = None
        self._closed = False

    def set_labels(self, service: str, labels: dict[str, str] | None) -> None:
        if labels is None:
            self._labels.pop(service, None)
        else:
            self._labels[service] = structured_data(self.sdid, labels)

    def message(self, entry: Entry, limit: int | None = None) -> bytes:
        """One RFC 5424 message; `limit` cuts the line to that many bytes."""
        line = entry.message.encode("utf-8", "replace")
        if limit is not None and len(line) > limit:
            line = line[: limit - 3] + b"..."
        return b"".join((
            PREFIX, entry.rfc3339.encode(), b" ", self.hostname, b" ", entry.service.encode(), b" - - ",
            self._labels.get(entry.service, b"-"), b" ", line,
        ))

    def tcp_payload(self) -> bytes:
        frames = []
        for entry in self.entries:
            message = self.message(entry)
            frames.append(b"%d %s" % (len(message), message))
        return b"".join(frames)

    async def flush(self) -> None:
        if not self.entries:
            return
        if self._closed:
            raise FlushError("write to closed SyslogBackend")
        if self.scheme == "udp":
            await self._flush_udp()
        else:
            await self._flush_tcp()

    def _address(self) -> tuple[str, int]:
        if self.port is None:
            raise FlushError(f"cannot connect to {self.location}: missing port in address")
        return self.host, self.port

    async def _flush_tcp(self) -> None:
        if self._writer is not None and (self._writer.is_closing() or self._reader.at_eof()):
            await self._drop_connection()
        if self._writer is None:
            host, port = self._address()
            try:
                self._reader, self._writer = await asyncio.wait_for(
                    asyncio.open_connection(host, port), self.timeout)
            except (OSError, TimeoutError) as error:
                raise FlushError(f"cannot connect to {self.location}: {_describe(error)}") from None
        try:
            self._writer.write(self.tcp_payload())
            await asyncio.wait_for(self._writer.drain(), self.timeout)
        except (OSError, TimeoutError, RuntimeError) as error:
            await self._drop_connection()
            raise FlushError(f"cannot send syslogs: {_describe(error)}") from None
        self.reset()

    async def _flush_udp(self) -> None:
        loop = asyncio.get_running_loop()
        sent = 0
        try:
            for entry in self.entries:
                if self._udp is None:
                    self._udp = await self._udp_socket()
                await asyncio.wait_for(loop.sock_sendall(self._udp, self.message(entry, MAX_UDP_MESSAGE)),
                                       self.timeout)
                sent += 1
        except (OSError, TimeoutError) as error:
            for _ in range(sent):
                self.entries.popleft()
            if self._udp is not None:
                self._udp.close()
                self._udp = None
            raise FlushError(f"cannot send syslogs: {_describe(error)}") from None
        self.reset()

    async def _udp_socket(self) -> socket.socket:
        host, port = self._address()
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
        except OSError as error:
            raise FlushError(f"cannot connect to {self.location}: {_describe(error)}") from None
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
        sock.setblocking(False)
        try:
            sock.connect(address)
        except OSError as error:
            sock.close()
            raise FlushError(f"cannot connect to {self.location}: {_describe(error)}") from None
        return sock

    async def _drop_connection(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def close(self) -> None:
        self._closed = True
        await self._drop_connection()
        if self._udp is not None:
            self._udp.close()
            self._udp = None


def _describe(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "i/o timeout"
    return str(error) or type(error).__name__
