"""The gateway's listening sockets, made once and handed to every worker.

`shoal run --gateway-workers N` binds the unix socket, the plain HTTP and
the HTTPS listeners itself (`bind_listeners`) and passes the same sockets to
each gateway worker (`--listen-fds unix=3,http=4,https=5`): the kernel hands
each new connection to one worker that is accepting, and a worker that
restarts leaves the listeners open, so connections wait in the backlog
instead of being refused. A gateway started alone binds its own.

Nothing here loads aiohttp or TLS: the supervisor imports it.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

SOCKET_NAME = ".shoal.socket"  # in $SHOAL_HOME
BACKLOG = 4096  # the kernel caps it at net.core.somaxconn
KINDS = ("unix", "http", "https")


def split_address(address: str) -> tuple[str, int]:
    """("host", port) of "host:port", "[v6]:port" or ":port" (every IPv4 address)."""
    host, _, port = address.rpartition(":")
    return host.strip("[]") or "0.0.0.0", int(port)


def bind_unix(path: Path) -> socket.socket:
    """A listening unix socket at `path` (a stale one is replaced), open to
    every local user: access is decided per request, as Pebble's."""
    path.unlink(missing_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(str(path))
        os.chmod(path, 0o666)
        sock.listen(BACKLOG)
    except BaseException:
        sock.close()
        raise
    return sock


def bind_tcp(address: str) -> socket.socket:
    """A listening TCP socket on `address` (its first resolved address)."""
    host, port = split_address(address)
    family, kind, proto, _, where = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                      flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(where)
        sock.listen(BACKLOG)
    except BaseException:
        sock.close()
        raise
    return sock


def bind_listeners(socket_path: Path, http: str = "", https: str = "") -> dict[str, socket.socket]:
    """The gateway's listeners: "unix" always, "http" and "https" when asked."""
    listeners = {"unix": bind_unix(socket_path)}
    try:
        if http:
            listeners["http"] = bind_tcp(http)
        if https:
            listeners["https"] = bind_tcp(https)
    except BaseException:
        for sock in listeners.values():
            sock.close()
        raise
    return listeners


def fds_spec(listeners: dict[str, socket.socket]) -> str:
    """What `--listen-fds` says: "unix=3,http=4"."""
    return ",".join(f"{kind}={sock.fileno()}" for kind, sock in listeners.items())


def parse_fds(spec: str) -> dict[str, int]:
    """The file descriptors `--listen-fds` names, by kind; ValueError for
    anything else."""
    fds: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        kind, sep, number = part.partition("=")
        if not sep or kind not in KINDS or kind in fds or not number.isdigit():
            raise ValueError(f'--listen-fds: "{part}" is not KIND=FD with KIND one of {", ".join(KINDS)}')
        fds[kind] = int(number)
    if "unix" not in fds:
        raise ValueError("--listen-fds must name the unix socket (unix=FD)")
    return fds


def inherited(spec: str) -> dict[str, socket.socket]:
    """The listening sockets handed to this process, by kind."""
    return {kind: socket.socket(fileno=fd) for kind, fd in parse_fds(spec).items()}
