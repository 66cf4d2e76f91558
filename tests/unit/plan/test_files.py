"""The files domain (services/plan/files.py) without gRPC: Pebble's per-path
errors, listing, atomic writes, directories and removal."""

from __future__ import annotations

import os
import stat

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
