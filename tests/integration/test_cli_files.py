"""`shoal push`, `pull`, `ls`, `mkdir` and `rm` against the real suite:
round trips of binary content with permissions and owners, listings as
Pebble prints them (-l, -d, patterns, --abs-time), and Pebble's errors."""

from __future__ import annotations

import os
import re
import stat

from tests.cli_support import as_json, ok, shoal

TODAY = r"today at \d\d:\d\d UTC"


def words(text: str) -> str:
    """An error as one line: the CLI wraps long messages at the terminal's width, as Pebble does."""
    return " ".join(text.split())


def test_push_and_pull_round_trip_binary_content_modes_and_owners(suite, tmp_path):
    local = tmp_path / "local.bin"
    content = os.urandom(300_000) + bytes(range(256))
    local.write_bytes(content)
    local.chmod(0o640)
    remote = tmp_path / "remote" / "deep" / "file.bin"
    missing_parent = shoal(suite, "push", str(local), str(remote))
    assert missing_parent.returncode == 1 and "no such file or directory" in words(missing_parent.stderr)
    assert ok(suite, "push", "-p", str(local), str(remote)) == ""
    assert remote.read_bytes() == content
    assert stat.S_IMODE(remote.stat().st_mode) == 0o640  # the local file's mode by default
    pulled = tmp_path / "pulled.bin"
    assert ok(suite, "pull", str(remote), str(pulled)) == ""
    assert pulled.read_bytes() == content

    owned = tmp_path / "remote" / "owned.txt"
    assert ok(suite, "push", "-m", "600", "--user", "nobody", "--group", "nogroup", str(local), str(owned)) == ""
    info = owned.stat()
    assert (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid) == (0o600, 65534, 65534)
    by_id = tmp_path / "remote" / "by-id.txt"
    assert ok(suite, "push", "--uid", "65534", "--gid", "65534", str(local), str(by_id)) == ""
    assert (by_id.stat().st_uid, by_id.stat().st_gid) == (65534, 65534)
    bad_mode = shoal(suite, "push", "-m", "9z", str(local), str(owned))
    assert (bad_mode.returncode, bad_mode.stderr) == (1, 'error: invalid mode for directory: "9z"\n')


def test_pull_errors_leave_no_local_file(suite, tmp_path):
    target = tmp_path / "x.txt"
    missing = shoal(suite, "pull", str(tmp_path / "missing.txt"), str(target))
    assert missing.returncode == 1
    assert missing.stderr.startswith("error: stat")  # wrapped under the message, as Pebble wraps it
    assert " ".join(missing.stderr.split()) == f"error: stat {tmp_path}/missing.txt: no such file or directory"
    assert not target.exists()
    directory = shoal(suite, "pull", str(tmp_path), str(target))
    assert directory.returncode == 1 and "can only read a regular file" in words(directory.stderr)


def test_mkdir_ls_and_rm(suite, tmp_path):
    base = tmp_path / "tree"
    assert ok(suite, "mkdir", str(base)) == ""
    assert ok(suite, "mkdir", "-p", "-m", "700", "--user", "nobody", "--group", "nogroup", str(base / "a" / "b")) == ""
    for made in (base / "a", base / "a" / "b"):  # as Pebble: every directory made gets the mode and owner
        info = made.stat()
        assert (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid) == (0o700, 65534, 65534)
    again = shoal(suite, "mkdir", str(base))
    assert again.returncode == 1 and "file exists" in words(again.stderr)
    assert ok(suite, "mkdir", "-p", str(base)) == ""  # -p: an existing directory is fine
    (base / "one.txt").write_text("12345")
    (base / "two.log").write_text("")

    assert ok(suite, "ls", str(base)) == "a\none.txt\ntwo.log\n"
    assert ok(suite, "ls", f"{base}/*.txt") == "one.txt\n"
    assert ok(suite, "ls", "-d", str(base)) == "tree\n"
    long = ok(suite, "ls", "-l", str(base)).splitlines()
    assert re.fullmatch(rf"drwx------  nobody  nogroup       -  {TODAY}  a", long[0])
    assert re.fullmatch(rf"-rw-r--r--  root    root         5B  {TODAY}  one\.txt", long[1])
    assert re.fullmatch(rf"-rw-r--r--  root    root         0B  {TODAY}  two\.log", long[2])
    absolute = ok(suite, "ls", "-l", "--abs-time", f"{base}/one*").splitlines()
    assert re.fullmatch(r"-rw-r--r--  root  root      5B  \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ  one\.txt", absolute[0])
    listed = as_json(suite, "ls", f"{base}/one*")["files"]
    assert [(f["name"], f["type"], f["size"], f["permissions"]) for f in listed] == [("one.txt", "file", 5, "644")]
    glob = shoal(suite, "ls", f"{base}/*/b")
    assert (glob.returncode, glob.stderr) == (1, "error: can only use globs on the last path element\n")

    not_empty = shoal(suite, "rm", str(base))
    assert (not_empty.returncode, " ".join(not_empty.stderr.split())) == (
        1, f"error: remove {base}: directory not empty")
    assert ok(suite, "rm", str(base / "one.txt")) == ""
    assert ok(suite, "rm", "-r", str(base)) == ""
    assert not base.exists()
    gone = shoal(suite, "ls", str(base))
    assert (gone.returncode, " ".join(gone.stderr.split())) == (1, f"error: stat {base}: no such file or directory")
