"""Files through the real processes when things go wrong: the plan service
killed in the middle of an upload (issue 15, item 12)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import threading

from tests.support import wait_for

BOUNDARY = "f" * 32
CHUNK = b"x" * 65536


def _upload_head(path: str, size: int) -> tuple[bytes, bytes]:
    metadata = json.dumps({"action": "write", "files": [{"path": path}]})
    head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"request\"\r\n"
            f"Content-Type: application/json\r\n\r\n{metadata}\r\n"
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{path}\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    request = (f"POST /v1/files HTTP/1.1\r\nHost: localhost\r\n"
               f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
               f"Content-Length: {len(head) + size + len(tail)}\r\n\r\n").encode()
    return request + head, tail


def _temporaries(directory) -> list[str]:
    return [name for name in os.listdir(directory) if re.fullmatch(r"big\.bin\.[0-9]{1,10}~", name)]


def test_a_plan_killed_mid_upload_answers_502_and_its_temporary_is_removed_at_start(fresh_suite, tmp_path):
    target_dir = tmp_path / "uploads"
    target_dir.mkdir()
    target = target_dir / "big.bin"
    size = 512 * 1024 * 1024  # never all sent: the upload is cut off by the kill
    head, _ = _upload_head(str(target), size)
    conn = socket.socket(socket.AF_UNIX)
    conn.settimeout(60)
    conn.connect(fresh_suite.socket)
    conn.sendall(head)
    stop = threading.Event()

    def feed():
        try:
            while not stop.is_set():
                conn.sendall(CHUNK)
        except OSError:
            pass  # the gateway answered and closed

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    wait_for(lambda: _temporaries(target_dir) and (target_dir / _temporaries(target_dir)[0]).stat().st_size > 1 << 20,
             timeout=60)
    left = _temporaries(target_dir)
    plan = fresh_suite.pid("plan")
    os.kill(plan, signal.SIGKILL)
    answer = b""
    try:
        while b"\r\n\r\n" not in answer:
            data = conn.recv(65536)
            if not data:
                break
            answer += data
    finally:
        stop.set()
    head_line = answer.split(b"\r\n", 1)[0]
    assert head_line.startswith(b"HTTP/1.1 502"), answer[:500]
    body = answer.split(b"\r\n\r\n", 1)[1]
    while True:  # the rest of the envelope, if it came in pieces
        try:
            json.loads(body[body.index(b"{"):])
            break
        except (ValueError, json.JSONDecodeError):
            more = conn.recv(65536)
            if not more:
                break
            body += more
    conn.close()
    envelope = json.loads(body[body.index(b"{"):])
    assert (envelope["type"], envelope["status-code"]) == ("error", 502), envelope
    assert "plan service unavailable" in envelope["result"]["message"], envelope
    # `shoal run` starts the plan service again, and it removes what the killed one left
    wait_for(lambda: fresh_suite.pid("plan") != plan, timeout=30)
    wait_for(lambda: fresh_suite.unix("GET", "/v1/system-info", timeout=5).status == 200, timeout=30)
    wait_for(lambda: not _temporaries(target_dir), timeout=30)
    assert left and not target.exists()
    assert os.listdir(fresh_suite.home / "run" / "file-temporaries") == []
