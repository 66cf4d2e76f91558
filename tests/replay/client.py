"""How the replay talks to a daemon: raw HTTP over its unix socket (as this
process, or connected by a child running as another uid), plain HTTP over
loopback TCP, and the exec websockets.

Every read has a timeout, so a daemon that never answers fails the step
instead of hanging the run.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import time
from dataclasses import dataclass, field

import websocket

TIMEOUT = 15.0

def connect_unix(path: str, uid: int | None = None, timeout: float = TIMEOUT) -> socket.socket:
    """A connected unix socket; with `uid`, connected by a forked child that
    switched to that uid (so the daemon's SO_PEERCRED sees it) and handed the
    connection back."""
    if uid is None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect(path)
        return sock
    ours, theirs = socket.socketpair()
    pid = os.fork()
    if pid == 0:  # the child: only system calls, then _exit
        code = 1
        try:
            ours.close()
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conn.connect(path)
            socket.send_fds(theirs, [b"ok"], [conn.fileno()])
            code = 0
        except BaseException as error:  # noqa: BLE001 - reported to the parent
            try:
                theirs.sendall(f"{type(error).__name__}: {error}".encode()[:500])
            except OSError:
                pass
        finally:
            os._exit(code)
    theirs.close()
    try:
        ours.settimeout(timeout)
        message, fds, _, _ = socket.recv_fds(ours, 512, 1)
    finally:
        ours.close()
        os.waitpid(pid, 0)
    if not fds:
        raise ConnectionError(f"connecting as uid {uid}: {message.decode(errors='replace')}")
    sock = socket.socket(fileno=fds[0])
    sock.settimeout(timeout)
    return sock


class _Connection(http.client.HTTPConnection):
    """An HTTP connection over a socket made elsewhere."""

    def __init__(self, sock: socket.socket, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self.sock = sock

    def connect(self):  # the socket is already connected
        pass


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    lines: list[bytes] | None = None  # a streamed answer, as read within its bound
    extra: dict = field(default_factory=dict)

    def header(self, name: str) -> str:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return ""


def http_request(sock: socket.socket, method: str, target: str, body: bytes | None,
                 headers: dict[str, str], timeout: float = TIMEOUT,
                 stream_lines: int | None = None, stream_seconds: float = 0) -> Response:
    """One request on a connected socket. With `stream_lines`, the answer is read
    line by line until that many lines arrived or `stream_seconds` passed."""
    conn = _Connection(sock, timeout)
    try:
        conn.request(method, target, body=body, headers=headers)
        resp = conn.getresponse()
        result = Response(resp.status, dict(resp.getheaders()), b"")
        if resp.status == 101:  # a websocket was accepted: nothing more to read
            return result
        if stream_lines is None:
            result.body = resp.read()
            return result
        result.lines = []
        deadline = time.monotonic() + stream_seconds
        while len(result.lines) < stream_lines and time.monotonic() < deadline:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                line = resp.readline()
            except TimeoutError:
                break
            if not line:
                break
            result.lines.append(line)
        return result
    finally:
        conn.close()
        sock.close()


def tcp_socket(address: str, timeout: float = TIMEOUT) -> socket.socket:
    host, port = address.rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=timeout)


@dataclass
class ExecIO:
    """What an exec's websockets carried."""

    stdout: bytes = b""
    stderr: bytes = b""
    error: str = ""


def run_exec_websockets(socket_path: str, task_id: str, stdin: bytes, split_stderr: bool,
                        timeout: float = TIMEOUT) -> ExecIO:
    """Connect control, stdio (and stderr) as ops does, send `stdin` then end,
    and read the output until the daemon ends each stream."""
    out = ExecIO()

    def open_ws(name: str) -> websocket.WebSocket:
        sock = connect_unix(socket_path, timeout=timeout)
        return websocket.create_connection(f"ws://localhost/v1/tasks/{task_id}/websocket/{name}",
                                           socket=sock, timeout=timeout)

    sockets = []
    try:
        control = open_ws("control")
        sockets.append(control)
        stdio = open_ws("stdio")
        sockets.append(stdio)
        stderr = open_ws("stderr") if split_stderr else None
        if stderr is not None:
            sockets.append(stderr)
        if stdin:
            stdio.send_binary(stdin)
        stdio.send(json.dumps({"command": "end"}))
        out.stdout = _read_until_end(stdio)
        if stderr is not None:
            out.stderr = _read_until_end(stderr)
    except (websocket.WebSocketException, OSError) as error:
        out.error = f"{type(error).__name__}: {error}"
    finally:
        for ws in sockets:
            try:
                ws.close(timeout=1)
            except (websocket.WebSocketException, OSError):
                pass
    return out


def _read_until_end(ws: websocket.WebSocket) -> bytes:
    data = b""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        try:
            opcode, frame = ws.recv_data()
        except websocket.WebSocketConnectionClosedException:
            break
        if opcode == websocket.ABNF.OPCODE_BINARY:
            data += frame
        elif opcode == websocket.ABNF.OPCODE_TEXT:
            if json.loads(frame or b"{}").get("command") == "end":
                break
        elif opcode == websocket.ABNF.OPCODE_CLOSE:
            break
    return data
