"""The files domain (services/plan/files.py) without gRPC: Pebble's per-path
errors, listing, atomic writes, directories and removal."""

from __future__ import annotations

import os
import re
import stat
import time

import pytest

from services.common.errors import Failure
from services.plan import files
from services.plan.files import AtomicWrite, FileError, WriteSpec


def test_errors_carry_pebbles_kinds_and_what_went_wrong():
    assert (FileError.from_os(FileNotFoundError(2, "No such file or directory"), "stat", "/x").kind,
            FileError.from_os(PermissionError(13, "Permission denied"), "open", "/x").kind,
            FileError.from_os(OSError(21, "Is a directory"), "open", "/x").kind) == (
        "not-found", "permission-denied", "generic-file-error")
    error = FileError.from_os(FileNotFoundError(2, "No such file or directory"), "stat", "/x")
    assert (error.message, error.failure) == ("stat /x: no such file or directory", Failure.NOT_FOUND)
    assert FileError("x", "permission-denied").failure is Failure.FORBIDDEN
    assert FileError("x").failure is Failure.INVALID


@pytest.mark.parametrize("text, expected", [("", 0o644), ("600", 0o600), ("755", 0o755)])
def test_permissions(text, expected):
    assert files.parse_permissions(text, 0o644) == expected


@pytest.mark.parametrize("text", ["7777", "64", "abc", "888", "0o7"])
def test_bad_permissions(text):
    with pytest.raises(FileError, match=f'permissions must be a 3-digit octal string, got "{text}"'):
        files.parse_permissions(text, 0o644)


def test_listing_a_directory_sorted_and_filtered(tmp_path):
    (tmp_path / "b.txt").write_text("bb")
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "c.log").write_text("")
    (tmp_path / "dir").mkdir()
    os.mkfifo(tmp_path / "pipe")
    listed = files.list_files(str(tmp_path))
    assert [i["name"] for i in listed] == ["a.txt", "b.txt", "c.log", "dir", "pipe"]
    by_name = {i["name"]: i for i in listed}
    assert by_name["b.txt"]["size"] == 2 and "size" not in by_name["dir"]
    assert by_name["pipe"]["type"] == "named-pipe" and by_name["dir"]["type"] == "directory"
    assert by_name["a.txt"]["path"] == str(tmp_path / "a.txt")
    assert by_name["a.txt"]["user"] == "root" or by_name["a.txt"]["user-id"] != 0
    assert [i["name"] for i in files.list_files(str(tmp_path), "*.txt")] == ["a.txt", "b.txt"]
    assert files.list_files(str(tmp_path), "*.none") == []
    assert [i["path"] for i in files.list_files(str(tmp_path), itself=True)] == [str(tmp_path)]
    with pytest.raises(FileError) as missing:
        files.list_files(str(tmp_path / "missing"))
    assert missing.value.kind == "not-found"


def test_reading_needs_an_absolute_path_to_a_regular_file(tmp_path):
    (tmp_path / "f").write_bytes(b"data")
    with files.open_for_read(str(tmp_path / "f")) as f:
        assert f.read() == b"data"
    with pytest.raises(FileError, match='paths must be absolute, got "f"'):
        files.open_for_read("f")
    with pytest.raises(FileError, match="can only read a regular file"):
        files.open_for_read(str(tmp_path))


def test_a_write_is_invisible_until_committed_and_abort_leaves_nothing(tmp_path):
    target = tmp_path / "target"
    target.write_text("old")
    write = AtomicWrite(WriteSpec(str(target), permissions="600"))
    write.write(b"new ")
    write.write(b"content")
    assert target.read_text() == "old"
    write.finish()
    assert target.read_text() == "old"
    write.commit()
    assert target.read_text() == "new content"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    abandoned = AtomicWrite(WriteSpec(str(target)))
    abandoned.write(b"half")
    abandoned.abort()
    assert target.read_text() == "new content"
    assert os.listdir(tmp_path) == ["target"]


def test_a_write_with_make_dirs_creates_parents(tmp_path):
    path = tmp_path / "a" / "b" / "c"
    with pytest.raises(FileError) as missing:
        AtomicWrite(WriteSpec(str(path)))
    assert missing.value.kind == "not-found"
    write = AtomicWrite(WriteSpec(str(path), make_dirs=True))
    write.finish()
    write.commit()
    assert path.exists() and stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o755


def test_owner_rules_are_the_account_rules():
    with pytest.raises(FileError, match="must specify user, not just group"):
        files.owner(None, "", 0, "")
    with pytest.raises(FileError, match="^cannot look up user and group: user: unknown user no-such-user-here$"):
        files.owner(None, "no-such-user-here", None, "")
    assert files.owner(0, "", None, "").gid == 0


def test_make_dir_and_remove(tmp_path):
    files.make_dir(str(tmp_path / "d"), permissions="700")
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o700
    with pytest.raises(FileError, match="file exists"):
        files.make_dir(str(tmp_path / "d"))
    files.make_dir(str(tmp_path / "d"), make_parents=True)  # exists is fine with parents
    files.make_dir(str(tmp_path / "p" / "q"), make_parents=True)
    (tmp_path / "p" / "q" / "f").write_text("f")
    with pytest.raises(FileError, match="directory not empty"):
        files.remove_path(str(tmp_path / "p"))
    files.remove_path(str(tmp_path / "p"), recursive=True)
    files.remove_path(str(tmp_path / "p"), recursive=True)
    files.remove_path(str(tmp_path / "d"))
    assert os.listdir(tmp_path) == []
    with pytest.raises(FileError) as gone:
        files.remove_path(str(tmp_path / "d"))
    assert gone.value.kind == "not-found"


# -- what Pebble names, recorded from a real Pebble v1.32.1 (tests/replay files-*) ----------
def test_a_write_names_pebbles_temporary_in_its_error(tmp_path):
    with pytest.raises(FileError) as missing:
        AtomicWrite(WriteSpec(str(tmp_path / "w" / "new.txt")))
    assert missing.value.kind == "not-found"
    assert re.fullmatch(rf"open {tmp_path}/w/new\.txt\.[0-9]{{1,10}}~: no such file or directory",
                        missing.value.message)
    with pytest.raises(FileError, match="^cannot create tempfile for filename containing '\\*': \"a\\*b\"$"):
        AtomicWrite(WriteSpec(str(tmp_path / "a*b")))


def test_a_new_directory_is_made_under_pebbles_temporary_name(tmp_path):
    (tmp_path / "file.txt").write_text("f")
    (tmp_path / "exists").mkdir()
    cases = {
        "a/b": ("not-found", f"mkdir {tmp_path}/a/b.mkdir-new: no such file or directory"),
        "file.txt/below": ("generic-file-error", f"mkdir {tmp_path}/file.txt/below.mkdir-new: not a directory"),
        "file.txt": ("generic-file-error", f"mkdir {tmp_path}/file.txt: not a directory"),
        "exists": ("generic-file-error", f"mkdir {tmp_path}/exists: file exists"),
    }
    for name, (kind, message) in cases.items():
        with pytest.raises(FileError) as caught:
            files.make_dir(str(tmp_path / name))
        assert (caught.value.kind, caught.value.message) == (kind, message)
    with pytest.raises(FileError) as caught:
        files.make_dir(str(tmp_path / "file.txt" / "x" / "y"), make_parents=True)
    assert caught.value.message == f"mkdir {tmp_path}/file.txt: not a directory"
    with pytest.raises(FileError) as caught:
        AtomicWrite(WriteSpec(str(tmp_path / "file.txt" / "x" / "new.txt"), make_dirs=True))
    assert caught.value.message == f"cannot create directory: mkdir {tmp_path}/file.txt: not a directory"
    files.make_dir(str(tmp_path / "c" / "d"), make_parents=True, permissions="700")
    assert stat.S_IMODE((tmp_path / "c" / "d").stat().st_mode) == 0o700
    assert sorted(os.listdir(tmp_path)) == ["c", "exists", "file.txt"]


def test_last_modified_is_gos_rfc3339(tmp_path, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        (tmp_path / "f").write_text("x")
        os.utime(tmp_path / "f", (1796115907.5, 1796115907.5))
        assert files.list_files(str(tmp_path / "f"))[0]["last-modified"] == "2026-12-01T09:05:07Z"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_a_crash_mid_write_leaves_a_temporary_that_the_next_start_removes(tmp_path):
    temporaries = files.temporaries_for(tmp_path / "home")
    target = tmp_path / "data" / "big.bin"
    write = AtomicWrite(WriteSpec(str(target), make_dirs=True), temporaries)
    write.write(b"x" * 1000)
    write.file.flush()  # the process dies here: nothing is aborted
    left = [name for name in os.listdir(tmp_path / "data") if name != "big.bin"]
    assert len(left) == 1 and re.fullmatch(r"big\.bin\.[0-9]{1,10}~", left[0])
    (tmp_path / "data" / "user.txt.123~").write_text("a user's file that only looks like one")
    (tmp_path / "data" / "stale.mkdir-new").mkdir()  # not noted: not ours
    ours = tmp_path / "data" / "half.mkdir-new"
    ours.mkdir()
    temporaries.note(str(ours))
    assert sorted(files.temporaries_for(tmp_path / "home").clean()) == sorted(
        [str(tmp_path / "data" / left[0]), str(ours)])
    assert sorted(os.listdir(tmp_path / "data")) == ["stale.mkdir-new", "user.txt.123~"]
    assert os.listdir(tmp_path / "home" / "run" / "file-temporaries") == []
    assert files.temporaries_for(tmp_path / "home").clean() == []


def test_finished_writes_and_directories_leave_no_notes(tmp_path):
    temporaries = files.temporaries_for(tmp_path / "home")
    write = AtomicWrite(WriteSpec(str(tmp_path / "a" / "f"), make_dirs=True), temporaries)
    write.write(b"data")
    write.finish()
    write.commit()
    abandoned = AtomicWrite(WriteSpec(str(tmp_path / "a" / "g")), temporaries)
    abandoned.abort()
    files.make_dir(str(tmp_path / "b"), temporaries=temporaries)
    assert os.listdir(tmp_path / "home" / "run" / "file-temporaries") == []
    assert sorted(os.listdir(tmp_path)) == ["a", "b", "home"] and os.listdir(tmp_path / "a") == ["f"]


@pytest.mark.parametrize("pattern,name,matched", [
    ("[^a]*", "b.log", True), ("[^a]*", "a.txt", False), ("[!a]*", "!x", True), ("[!a]*", "b", False),
    ("c\\*d", "c*d", True), ("c\\*d", "cxd", False), ("\\[x]", "[x]", True), ("?.txt", "é.txt", True),
    ("[a-b].*", "b.log", True), ("*", "a/b", False), ("*.txt", "a.txt", True), ("a*b*c", "aXbYc", True),
])
def test_list_patterns_match_as_gos_path_match(pattern, name, matched):
    assert files.go_match(pattern, name) is matched


@pytest.mark.parametrize("pattern,name", [("[]a]*", "a"), ("a\\", "b"), ("[z", "a.txt"), ("[z-", "z")])
def test_bad_list_patterns_are_gos_syntax_error(pattern, name):
    with pytest.raises(FileError, match="^syntax error in pattern$"):
        files.go_match(pattern, name)
