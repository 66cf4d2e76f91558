"""Issue 15, item 14, through the real `shoal gateway` process: malformed
requests answered 400 without their input and logged once, never with a
traceback; half-open TLS connections and silent clients closed after their
time; and the memory 2,000 half-open TLS connections took given back.

Every connection goes to the suite's own loopback ports, and every wait is
bounded.
"""

from __future__ import annotations

import resource
import socket
import time

import pytest

from tests.support import Suite, free_port, wait_for

HANDSHAKE = 10.0  # gateway/serving.py's TLS_HANDSHAKE_TIMEOUT
HEAD = 20.0  # and its HEADER_TIMEOUT
MARGIN = 8.0
HALF_OPEN = 2000


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    home = tmp_path_factory.mktemp("edge") / "home"
    home.mkdir()
    s = Suite(home=home, http_port=free_port(), https_port=free_port()).start()
    yield s
    s.stop()


def log_of(suite: Suite) -> str:
    return (suite.home.parent / f"{suite.home.name}.log").read_text(errors="replace")


def resident_mib(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() >> 20


def answer_of(conn: socket.socket, within: float = 10.0) -> bytes:
    conn.settimeout(within)
    data = b""
    try:
        while chunk := conn.recv(65536):
            data += chunk
    except TimeoutError:
        pass
    finally:
        conn.close()
    return data


def closed_by_server(conn: socket.socket, deadline: float) -> bool:
    conn.settimeout(max(0.01, deadline - time.monotonic()))
    try:
        while conn.recv(65536):
            pass
    except TimeoutError:
        return False
    except OSError:
        return True
    return True


def test_malformed_requests_get_a_bare_400_and_one_log_line(suite):
    bad = [b"GET /v1/secret-\xc3\xa9-%d HTTP/1.1\r\nHost: x\r\n\r\n" % n for n in range(10)]
    bad += [b"NOT HTTP secret\r\n\r\n", b"GET / HTTP/1.1\r\nBad Header secret\r\n\r\n",
            b"GET /?q=secret HTTP/9.9\r\n\r\n", b"\x00\x01secret\r\n\r\n"]
    for request in bad:
        conn = socket.create_connection(("127.0.0.1", suite.http_port))
        conn.sendall(request)
        answer = answer_of(conn)
        assert answer.startswith(b"HTTP/1.") and b" 400 Bad Request\r\n" in answer, answer
        assert b"secret" not in answer and b"\xc3" not in answer, answer
    assert suite.unix("GET", "/v1/system-info").status == 200
    log = log_of(suite)
    assert log.count("malformed request from 127.0.0.1") == 1, log[-3000:]
    assert "Traceback" not in log


def test_half_open_and_silent_connections_are_closed_and_their_memory_returned(suite):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < HALF_OPEN + 200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, HALF_OPEN + 1000), hard))
    pid = suite.pid("gateway")
    for _ in range(3):
        assert suite.unix("GET", "/v1/system-info").status == 200
    idle = resident_mib(pid)
    silent = socket.create_connection(("127.0.0.1", suite.http_port))
    silent.sendall(b"GET /v1/system-info HTTP/1.1\r\nHost: x\r\nX-Slow: ")  # and never the rest
    opened = time.monotonic()
    half_open = []
    try:
        for n in range(HALF_OPEN):
            conn = socket.create_connection(("127.0.0.1", suite.https_port))
            if n % 2:
                conn.sendall(b"\x16\x03\x01\x00\xff")  # the start of a ClientHello, then nothing
            half_open.append(conn)
        deadline = opened + HANDSHAKE + MARGIN
        assert all(closed_by_server(conn, deadline) for conn in half_open)
        assert closed_by_server(silent, opened + HEAD + MARGIN)
    finally:
        for conn in half_open:
            conn.close()
        silent.close()
    assert suite.unix("GET", "/v1/system-info").status == 200
    # The memory they took is given back within a minute or so (it stayed, and grew
    # with each burst).
    wait_for(lambda: resident_mib(pid) <= idle + 24, timeout=100, every=1)
    assert suite.pid("gateway") == pid
