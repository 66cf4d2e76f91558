"""Files, exec and signals through the real gateway, driven by the real
`ops.pebble.Client` (and raw HTTP where a client would not go), compared
with what Pebble documents (pebble-api.md §2.8–2.10)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
from ops import pebble

from services.plan.supervisor import group_alive
from tests.support import Suite, UnixHTTPConnection, wait_for

PASSWORD = "files-password"


@pytest.fixture(scope="module")
def client(suite: Suite) -> pebble.Client:
    return pebble.Client(socket_path=suite.socket)


@pytest.fixture(scope="module")
def read_level(suite: Suite) -> dict:
    hashed = subprocess.run(["openssl", "passwd", "-6", PASSWORD], capture_output=True, text=True,
                            check=True).stdout.strip()
    added = suite.unix("POST", "/v1/identities", {"action": "add", "identities": {
        "reader": {"access": "read", "basic": {"password": hashed}}}})
    assert added.status == 200, added.body
    return {"Authorization": "Basic " + base64.b64encode(f"reader:{PASSWORD}".encode()).decode()}


def log_lines(suite: Suite, service: str) -> list[str]:
    answer = suite.unix("GET", f"/v1/logs?services={service}&n=-1")
    assert answer.status == 200, answer.body
    return [json.loads(line)["message"] for line in answer.body.splitlines()]


def snapshot(root: Path) -> dict:
    return {str(p.relative_to(root)): (p.is_dir(), p.read_bytes() if p.is_file() else None, p.stat().st_mode)
            for p in sorted(root.rglob("*"))}


# -- files ---------------------------------------------------------------------
def test_push_and_pull_text_bytes_and_file_objects(client, tmp_path):
    client.push(tmp_path / "text.txt", "héllo\nworld")
    client.push(str(tmp_path / "bytes.bin"), b"\x00\xff\x10", encoding=None)
    client.push(tmp_path / "object.txt", io.StringIO("from a file object"))
    client.push(tmp_path / "raw.bin", io.BytesIO(b"raw object"), encoding=None)
    with client.pull(tmp_path / "text.txt") as f:
        assert f.read() == "héllo\nworld"
    with client.pull(tmp_path / "bytes.bin", encoding=None) as f:
        assert f.read() == b"\x00\xff\x10"
    assert (tmp_path / "object.txt").read_text() == "from a file object"
    assert (tmp_path / "raw.bin").read_bytes() == b"raw object"
    assert oct((tmp_path / "text.txt").stat().st_mode & 0o777) == oct(0o644)  # Pebble's default


def test_push_with_make_dirs_permissions_and_owner(client, tmp_path):
    target = tmp_path / "a" / "b" / "secret.txt"
    with pytest.raises(pebble.PathError) as missing:
        client.push(target, "x")
    assert missing.value.kind == "not-found"
    assert not (tmp_path / "a").exists()
    client.push(target, "x", make_dirs=True, permissions=0o600, user_id=0, group_id=0)
    assert target.read_text() == "x"
    assert target.stat().st_mode & 0o777 == 0o600
    assert (target.stat().st_uid, target.stat().st_gid) == (0, 0)
    assert (tmp_path / "a").stat().st_mode & 0o777 == 0o755
    with pytest.raises(pebble.PathError) as bad:
        client.push(target, "y", permissions=0o7777)
    assert bad.value.kind == "generic-file-error" and "3-digit octal" in bad.value.message
    with pytest.raises(pebble.PathError) as group_only:
        client.push(target, "y", group="root")
    assert "must specify user, not just group" in group_only.value.message
    assert target.read_text() == "x"  # refused writes changed nothing


def test_a_write_replaces_the_file_atomically_and_leaves_no_temporary(client, tmp_path):
    target = tmp_path / "config"
    target.write_text("old")
    inode = target.stat().st_ino
    client.push(target, "new")
    assert target.read_text() == "new"
    assert target.stat().st_ino != inode  # a new file renamed into place, not rewritten
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config"]


def test_list_files_with_pattern_and_itself(client, tmp_path):
    (tmp_path / "one.txt").write_text("1")
    (tmp_path / "two.log").write_text("22")
    (tmp_path / "sub").mkdir()
    os.symlink(tmp_path / "one.txt", tmp_path / "link")
    listed = {f.name: f for f in client.list_files(tmp_path)}
    assert set(listed) == {"one.txt", "two.log", "sub", "link"}
    assert listed["one.txt"].type == pebble.FileType.FILE and listed["one.txt"].size == 1
    assert listed["sub"].type == pebble.FileType.DIRECTORY and listed["sub"].size is None
    assert listed["link"].type == pebble.FileType.SYMLINK
    assert listed["two.log"].path == str(tmp_path / "two.log")
    assert listed["one.txt"].user_id == os.getuid() and listed["one.txt"].permissions == 0o644
    assert [f.name for f in client.list_files(tmp_path, pattern="*.txt")] == ["one.txt"]
    itself = client.list_files(tmp_path / "sub", itself=True)
    assert [(f.path, f.type) for f in itself] == [(str(tmp_path / "sub"), pebble.FileType.DIRECTORY)]
    assert [f.name for f in client.list_files(tmp_path / "one.txt")] == ["one.txt"]
    with pytest.raises(pebble.APIError) as missing:
        client.list_files(tmp_path / "nothing-here")
    assert missing.value.code == 404


def test_make_dir_and_remove_path(client, tmp_path):
    client.make_dir(tmp_path / "d")
    assert (tmp_path / "d").is_dir()
    with pytest.raises(pebble.PathError) as exists:
        client.make_dir(tmp_path / "d")
    assert "file exists" in exists.value.message
    with pytest.raises(pebble.PathError):
        client.make_dir(tmp_path / "x" / "y")
    client.make_dir(tmp_path / "x" / "y", make_parents=True, permissions=0o700)
    assert (tmp_path / "x" / "y").stat().st_mode & 0o777 == 0o700
    (tmp_path / "x" / "y" / "f").write_text("f")
    with pytest.raises(pebble.PathError) as not_empty:
        client.remove_path(tmp_path / "x")
    assert "directory not empty" in not_empty.value.message
    assert (tmp_path / "x" / "y" / "f").exists()
    client.remove_path(tmp_path / "x", recursive=True)
    assert not (tmp_path / "x").exists()
    client.remove_path(tmp_path / "x", recursive=True)  # nothing there is fine when recursive
    with pytest.raises(pebble.PathError) as gone:
        client.remove_path(tmp_path / "x")
    assert gone.value.kind == "not-found"


def test_per_path_errors_change_nothing(client, tmp_path):
    (tmp_path / "dir").mkdir()
    (tmp_path / "keep.txt").write_text("keep")
    before = snapshot(tmp_path)
    cases = [
        (lambda: client.pull("relative/path"), "generic-file-error", 'paths must be absolute, got "relative/path"'),
        (lambda: client.pull(tmp_path / "missing"), "not-found", "no such file or directory"),
        (lambda: client.pull(tmp_path / "dir"), "generic-file-error", "can only read a regular file"),
        (lambda: client.push("relative/file", "x"), "generic-file-error", "paths must be absolute"),
        (lambda: client.push(tmp_path / "dir", "x"), "generic-file-error", ""),
        (lambda: client.make_dir("relative-dir"), "generic-file-error", "paths must be absolute"),
        (lambda: client.remove_path("relative-dir"), "generic-file-error", "paths must be absolute"),
        (lambda: client.remove_path(tmp_path / "missing"), "not-found", "no such file or directory"),
    ]
    for call, kind, text in cases:
        with pytest.raises(pebble.PathError) as caught:
            call()
        assert caught.value.kind == kind, caught.value
        assert text in caught.value.message
    assert snapshot(tmp_path) == before


def test_pull_of_several_paths_reports_each(suite, tmp_path):
    (tmp_path / "a").write_text("A")
    answer = suite.unix("GET", f"/v1/files?action=read&path={tmp_path}/a&path={tmp_path}/missing",
                        headers={"Accept": "multipart/form-data"})
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    body = answer.body.decode()
    assert f'filename="{tmp_path}/a"' in body and "\r\n\r\nA\r\n" in body
    assert f'"path":"{tmp_path}/missing","error":{{"message":"stat {tmp_path}/missing: no such file' in body


@pytest.mark.parametrize("query, headers, message", [
    ("action=read", {"Accept": "multipart/form-data"}, "must specify one or more paths"),
    ("action=read&path=/etc/hostname", {}, "must accept multipart/form-data"),
    ("action=list", {}, "must specify path"),
    ("action=list&path=etc", {}, 'path must be absolute, got "etc"'),
    ("action=list&path=/etc&itself=maybe", {}, 'itself parameter must be "true" or "false"'),
    ("action=copy", {}, 'invalid action "copy"'),
])
def test_bad_file_queries_are_400(suite, query, headers, message):
    answer = suite.unix("GET", f"/v1/files?{query}", headers=headers)
    assert answer.status == 400
    assert answer.json()["result"]["message"] == message


@pytest.mark.parametrize("body, content_type, message", [
    (b'{"action": "write"}', "application/json", 'must use multipart with "write" action'),
    (b'{"action": "chmod"}', "application/json", 'invalid action "chmod"'),
    (b"x", "text/plain", 'invalid media type "text/plain"'),
    (b"--short\r\n", "multipart/form-data; boundary=short", 'invalid boundary "short"'),
])
def test_bad_file_posts_are_400(suite, body, content_type, message):
    answer = suite.unix("POST", "/v1/files", body, {"Content-Type": content_type})
    assert answer.status == 400
    assert answer.json()["result"]["message"] == message


def test_a_refused_part_of_an_upload_writes_none_of_it(suite, tmp_path):
    boundary = uuid.uuid4().hex
    metadata = f'{{"action":"write","files":[{{"path":"{tmp_path}/first"}}]}}'.encode()
    body = b"".join([
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"request\"\r\n\r\n".encode(), metadata, b"\r\n",
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{tmp_path}/first\"\r\n\r\n".encode(),
        b"first content\r\n",
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{tmp_path}/stranger\"\r\n\r\n".encode(),
        b"not in the metadata\r\n", f"--{boundary}--\r\n".encode(),
    ])
    answer = suite.unix("POST", "/v1/files", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert answer.status == 400
    assert answer.json()["result"]["message"] == f'no metadata for path "{tmp_path}/stranger"'
    deadline = time.monotonic() + 5  # the service cleans up when it sees the call cancelled
    while list(tmp_path.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(tmp_path.iterdir()) == []


def test_a_metadata_path_without_content_is_reported(suite, tmp_path):
    boundary = uuid.uuid4().hex
    metadata = f'{{"action":"write","files":[{{"path":"{tmp_path}/a"}},{{"path":"{tmp_path}/b"}}]}}'.encode()
    body = b"".join([
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"request\"\r\n\r\n".encode(), metadata, b"\r\n",
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{tmp_path}/a\"\r\n\r\n".encode(),
        b"A\r\n", f"--{boundary}--\r\n".encode(),
    ])
    answer = suite.unix("POST", "/v1/files", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert answer.status == 200
    assert answer.json()["result"] == [
        {"path": f"{tmp_path}/a"},
        {"path": f"{tmp_path}/b", "error": {"message": f'no file content for path "{tmp_path}/b"',
                                            "kind": "generic-file-error"}},
    ]
    assert (tmp_path / "a").read_text() == "A" and not (tmp_path / "b").exists()


# -- exec ----------------------------------------------------------------------
def test_exec_streams_stdin_stdout_and_stderr(client):
    out, err = client.exec(["/bin/sh", "-c", "cat; echo to-err >&2"], stdin="line 1\nline 2\n").wait_output()
    assert (out, err) == ("line 1\nline 2\n", "to-err\n")
    out, err = client.exec(["/bin/sh", "-c", "echo out; echo err >&2"], combine_stderr=True).wait_output()
    assert sorted(out.splitlines()) == ["err", "out"] and err is None
    raw, _ = client.exec(["head", "-c", "4", "/dev/zero"], encoding=None).wait_output()
    assert raw == b"\x00" * 4


def test_exec_environment_working_dir_and_user(client, tmp_path):
    out, _ = client.exec(["/bin/sh", "-c", "echo $GREETING:$LANG; pwd"], environment={"GREETING": "hi"},
                         working_dir=tmp_path).wait_output()
    assert out.splitlines() == ["hi:C.UTF-8", str(tmp_path)]
    out, _ = client.exec(["/bin/sh", "-c", "id -u; id -g; pwd"], working_dir="/",
                         user_id=65534, group_id=65534).wait_output()
    assert out.splitlines() == ["65534", "65534", "/"]
    with pytest.raises(pebble.APIError) as missing_dir:
        client.exec(["pwd"], working_dir=tmp_path / "missing")
    assert missing_dir.value.code == 500
    assert f'working directory "{tmp_path}/missing" does not exist' in missing_dir.value.message
    with pytest.raises(pebble.APIError) as missing_exe:
        client.exec(["no-such-command-anywhere"])
    assert (missing_exe.value.code, missing_exe.value.message) == (
        400, 'cannot find executable "no-such-command-anywhere"')


def test_commands_start_with_default_signal_handling(client):
    """Python ignores SIGPIPE; the commands it starts must not inherit that."""
    out, _ = client.exec(["grep", "SigIgn", "/proc/self/status"]).wait_output()
    ignored = int(out.split()[1], 16)
    assert not ignored & (1 << (13 - 1)), "SIGPIPE is ignored in the command"


def test_exec_service_context_supplies_environment(client):
    client.add_layer("exec-context", {"services": {"ctx": {
        "override": "replace", "command": "sleep 60", "environment": {"FROM_SERVICE": "yes", "BOTH": "service"},
    }}}, combine=True)
    out, _ = client.exec(["/bin/sh", "-c", "echo $FROM_SERVICE.$BOTH"], service_context="ctx",
                         environment={"BOTH": "request"}).wait_output()
    assert out == "yes.request\n"
    with pytest.raises(pebble.APIError) as unknown:
        client.exec(["true"], service_context="no-such-service")
    assert unknown.value.message == 'context service "no-such-service" not found'


def test_exec_refuses_a_nul_in_its_environment_and_starts_nothing(suite, client):
    before = len(client.get_changes(select=pebble.ChangeState.ALL))
    for body, message in (
        ({"command": ["true"], "environment": {"SECRET": "a\x00b"}}, 'environment variable "SECRET" holds a NUL'),
        ({"command": ["echo", "a\x00b"]}, "command argument 1 holds a NUL character"),
    ):
        answer = suite.unix("POST", "/v1/exec", body)
        assert answer.status == 400, answer.body
        assert answer.json()["result"]["message"].startswith(message) and b"a\\u0000b" not in answer.body
    # A NUL from the service's own environment (a layer may hold one, as in Pebble) is refused alike.
    client.add_layer("exec-nul", {"services": {"nul": {"override": "replace", "command": "sleep 60",
                                                        "environment": {"ODD": "a\x00b"}}}}, combine=True)
    answer = suite.unix("POST", "/v1/exec", {"command": ["true"], "service-context": "nul"})
    assert answer.status == 400 and 'environment variable "ODD" holds a NUL' in answer.json()["result"]["message"]
    assert len(client.get_changes(select=pebble.ChangeState.ALL)) == before


def test_a_non_zero_exit_raises_exec_error_with_the_output(client):
    with pytest.raises(pebble.ExecError) as caught:
        client.exec(["/bin/sh", "-c", "echo partial; echo oops >&2; exit 3"]).wait_output()
    assert (caught.value.exit_code, caught.value.stdout, caught.value.stderr) == (3, "partial\n", "oops\n")
    change = client.get_change(caught.value.command and client.get_changes(select=pebble.ChangeState.ALL)[-1].id)
    assert change.kind == "exec" and change.tasks[0].data["exit-code"] == 3
    assert change.status == "Done"  # a non-zero exit is the command's answer, not the task's failure


def test_exec_timeout_kills_the_command(client, tmp_path):
    marker = tmp_path / "survived"
    process = client.exec(["/bin/sh", "-c", f"echo $$; sleep 2; touch {marker}"], timeout=0.3)
    group = int(process.stdout.readline())  # the command leads its own process group
    with pytest.raises(pebble.ChangeError) as caught:
        process.wait()
    assert "timed out after 300ms" in caught.value.err
    assert caught.value.change.tasks[0].data["exit-code"] == -1
    wait_for(lambda: not group_alive(group), timeout=5)
    assert not marker.exists()  # the whole process group was killed: nothing is left to touch it


def test_exec_signal_through_the_control_websocket(client):
    process = client.exec(["/bin/sh", "-c", "trap 'echo got-usr1; exit 7' USR1; echo ready; while :; do sleep 0.05; done"])
    assert process.stdout.readline() == "ready\n"  # the trap is set
    process.send_signal("SIGUSR1")
    with pytest.raises(pebble.ExecError) as caught:
        process.wait_output()
    assert caught.value.exit_code == 7 and caught.value.stdout == "got-usr1\n"


def test_exec_in_a_terminal(suite, client):
    out, _ = client.exec(["/bin/sh", "-c", "test -t 1 && echo tty || echo pipe"]).wait_output()
    assert out == "pipe\n"
    answer = suite.unix("POST", "/v1/exec", {"command": ["tty"], "terminal": True, "interactive": False})
    assert answer.status == 202
    answer = suite.unix("POST", "/v1/exec", {"command": ["tty"], "interactive": True})
    assert answer.status == 500
    assert answer.json()["result"]["message"] == "cannot call exec: cannot use interactive mode without a terminal"


def test_websockets_of_unknown_or_non_exec_tasks_are_refused(suite, client):
    assert suite.unix("GET", "/v1/tasks/999999/websocket/stdio").status == 404
    client.add_layer("ws-check", {"services": {"idle": {"override": "replace", "command": "sleep 60"}}},
                     combine=True)
    change = client.start_services(["idle"])
    task = client.get_change(change).tasks[0]
    answer = suite.unix("GET", f"/v1/tasks/{task.id}/websocket/stdio")
    assert answer.status == 400
    assert answer.json()["result"]["message"] == '"start" tasks do not have websockets'
    client.stop_services(["idle"])


def test_an_exec_nobody_connects_to_errors_after_five_seconds(suite, client):
    answer = suite.unix("POST", "/v1/exec", {"command": ["true"]})
    change = client.wait_change(answer.json()["change"], timeout=15)
    assert change.status == "Error"
    assert "timeout waiting for websocket connections" in change.err


# -- signals ---------------------------------------------------------------------
def test_send_signal_reaches_the_services_main_process_only(suite, client, tmp_path):
    """As Pebble: the signal goes to the service's process, not its group."""
    child, main, beat = tmp_path / "child-got-it", tmp_path / "main-got-it", tmp_path / "child-beat"
    script = tmp_path / "trapper.sh"
    script.write_text(f"/bin/sh -c 'trap \"touch {child}\" HUP; echo child-ready;"
                      f" while :; do sleep 0.05; echo >> {beat}; done' &\n"
                      f"trap 'touch {main}' HUP\necho main-ready\nwhile :; do sleep 0.05; done\n")
    client.add_layer("signals", {"services": {"trapper": {
        "override": "replace", "command": f"/bin/sh {script}"}}}, combine=True)
    client.start_services(["trapper"])
    wait_for(lambda: {"child-ready", "main-ready"} <= set(log_lines(suite, "trapper")))  # both traps are set
    client.send_signal("SIGHUP", ["trapper"])
    wait_for(main.exists, timeout=5)
    beats = len(beat.read_text())
    wait_for(lambda: len(beat.read_text()) >= beats + 2, timeout=5)  # the child's trap would have run by now
    assert not child.exists()  # the shell's child was not signalled
    assert client.get_services(["trapper"])[0].current == pebble.ServiceStatus.ACTIVE
    client.stop_services(["trapper"])
    with pytest.raises(pebble.APIError) as stopped:
        client.send_signal("SIGHUP", ["trapper"])
    assert (stopped.value.code, stopped.value.message) == (500, 'cannot send signal to "trapper": service is not running')
    with pytest.raises(pebble.APIError) as bad_name:
        client.send_signal("SIGNOPE", ["trapper"])
    assert "SIGNOPE" in bad_name.value.message or "not running" in bad_name.value.message
    with pytest.raises(pebble.APIError) as nothing:
        client.send_signal("SIGHUP", [])
    assert (nothing.value.code, nothing.value.message) == (400, "must specify one or more services")


# -- access ----------------------------------------------------------------------
@pytest.mark.parametrize("method, path, body", [
    ("GET", "/v1/files?action=read&path=/etc/hostname", None),
    ("GET", "/v1/files?action=list&path=/", None),
    ("POST", "/v1/files", {"action": "make-dirs", "dirs": [{"path": "/tmp/read-level-was-here"}]}),
    ("POST", "/v1/files", {"action": "remove", "paths": [{"path": "/tmp"}]}),
    ("POST", "/v1/exec", {"command": ["touch", "/tmp/read-level-was-here"]}),
    ("GET", "/v1/tasks/1/websocket/stdio", None),
    ("POST", "/v1/signals", {"signal": "SIGHUP", "services": ["trapper"]}),
])
def test_a_read_level_caller_is_refused_every_admin_tool(suite, read_level, method, path, body):
    headers = {**read_level, "Accept": "multipart/form-data"}
    answer = suite.https(method, path, body, headers)
    assert answer.status == 401, answer.body  # Pebble's refusal on /v1, whoever the caller is
    assert answer.json()["result"] == {"message": "access denied", "kind": "login-required"}
    assert not Path("/tmp/read-level-was-here").exists()


# -- big files -----------------------------------------------------------------------
def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


class _Random(io.RawIOBase):
    """256 MiB of pseudo-random bytes, hashed as they are read."""

    def __init__(self, size: int):
        self.left = size
        self.digest = hashlib.sha256()
        self.block = os.urandom(1024 * 1024)

    def readable(self):
        return True

    def read(self, n=-1):
        n = self.left if n < 0 else min(n, self.left)
        chunk = (self.block * (n // len(self.block) + 1))[:n]
        self.block = self.block[7:] + self.block[:7]
        self.left -= n
        self.digest.update(chunk)
        return chunk


def pull_streaming(suite: Suite, path: Path) -> str:
    """The sha256 of a pulled file, parsed from the multipart answer as it
    streams (ops' own parser holds and rescans the whole body, so it is not
    the client for a file this size)."""
    conn = UnixHTTPConnection(suite.socket, timeout=120)
    conn.request("GET", f"/v1/files?action=read&path={path}", headers={"Accept": "multipart/form-data"})
    response = conn.getresponse()
    assert response.status == 200
    boundary = response.getheader("Content-Type").split("boundary=")[1].encode()
    head = b""
    while b"\r\n\r\n" not in head:
        head += response.read(1)
    assert b'name="files"' in head
    delimiter = b"\r\n--" + boundary
    digest, tail = hashlib.sha256(), b""
    while True:
        chunk = response.read(1024 * 1024)
        data = tail + chunk
        end = data.find(delimiter)
        if end != -1:
            digest.update(data[:end])
            rest = data[end:] + response.read()
            assert b'"result":[{"path":"%s"}]' % str(path).encode() in rest
            break
        assert chunk, "the answer ended inside the file"
        keep = len(delimiter)
        digest.update(data[:-keep])
        tail = data[-keep:]
    conn.close()
    return digest.hexdigest()


def test_a_256_mib_push_and_pull_round_trip_in_bounded_gateway_memory(suite, client, tmp_path):
    gateway = suite.pid("gateway")
    peak = [rss_mb(gateway)]
    done = threading.Event()

    def watch():
        while not done.is_set():
            peak.append(rss_mb(gateway))
            time.sleep(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        source = _Random(256 * 1024 * 1024)
        client.push(tmp_path / "big", source, encoding=None)
        assert (tmp_path / "big").stat().st_size == 256 * 1024 * 1024
        pulled = pull_streaming(suite, tmp_path / "big")
    finally:
        done.set()
        watcher.join()
    assert pulled == source.digest.hexdigest()
    assert max(peak) < 150, f"gateway RSS peaked at {max(peak):.0f} MB"
