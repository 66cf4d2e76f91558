"""The node's files as Pebble's files API sees them (spec §2.8): listing,
reading, atomic writes, directories and removal, with Pebble's per-path
error kinds. Plain blocking functions: the servicer runs them in a thread.

Writes and new directories go through temporaries named as Pebble names
them (`<file>.<random>~`, `<dir>.mkdir-new`), so errors name the path
Pebble names. Each temporary is noted in `Temporaries` while it exists, so
a start after a crash removes exactly the ones this service left, and
nothing of anyone else's that looks the same.
"""

from __future__ import annotations

import errno
import grp
import logging
import os
import posixpath
import pwd
import re
import secrets
import shutil
import stat
from dataclasses import dataclass
from datetime import datetime

from services.common.errors import DomainError, Failure
from services.common.fsutil import fsync_directory
from services.common.gojson import go_quote
from services.common.times import format_time_seconds
from services.plan import accounts
from services.plan.accounts import Account, AccountError

log = logging.getLogger("shoal.plan.files")

READ_CHUNK = 64 * 1024
DEFAULT_FILE_MODE = 0o644
DEFAULT_DIR_MODE = 0o755


_FAILURES = {"not-found": Failure.NOT_FOUND, "permission-denied": Failure.FORBIDDEN}


class FileError(DomainError):
    """A per-path failure: `kind` is Pebble's (not-found, permission-denied,
    generic-file-error), and says what went wrong when the whole request fails."""

    def __init__(self, message: str, kind: str = "generic-file-error"):
        super().__init__(message, _FAILURES.get(kind, Failure.INVALID), kind=kind)

    @classmethod
    def from_os(cls, error: OSError, operation: str, path: str) -> FileError:
        text = error.strerror or str(error)
        message = f"{operation} {path}: {text[:1].lower()}{text[1:]}"
        if error.errno == errno.ENOENT:
            return cls(message, "not-found")
        if error.errno in (errno.EACCES, errno.EPERM):
            return cls(message, "permission-denied")
        return cls(message, "generic-file-error")


def require_absolute(path: str) -> None:
    if not posixpath.isabs(path):
        raise FileError(f"paths must be absolute, got {go_quote(path)}")


def parse_permissions(text: str, default: int) -> int:
    if not text:
        return default
    if len(text) != 3 or any(c not in "01234567" for c in text):
        raise FileError(f"permissions must be a 3-digit octal string, got {go_quote(text)}")
    return int(text, 8)


def owner(user_id: int | None, user: str, group_id: int | None, group: str) -> Account:
    try:
        return accounts.resolve(user_id, user, group_id, group)
    except AccountError as error:
        raise FileError(f"cannot look up user and group: {error.message}") from None


# -- listing -------------------------------------------------------------------
_TYPES = (
    (stat.S_ISREG, "file"),
    (stat.S_ISDIR, "directory"),
    (stat.S_ISLNK, "symlink"),
    (stat.S_ISSOCK, "socket"),
    (stat.S_ISFIFO, "named-pipe"),
    (stat.S_ISCHR, "device"),
    (stat.S_ISBLK, "device"),
)


def file_type(mode: int) -> str:
    return next((name for test, name in _TYPES if test(mode)), "unknown")


def _name_of(table, key: int) -> str:
    try:
        return table(key)[0]
    except KeyError:
        return ""


def file_info(path: str, st: os.stat_result, name: str | None = None) -> dict:
    """Pebble's JSON object for one file."""
    info = {
        "path": path,
        "name": _go_base(path) if name is None else name,
        "type": file_type(st.st_mode),
        "permissions": format(stat.S_IMODE(st.st_mode) & 0o777, "03o"),
        "last-modified": format_time_seconds(datetime.fromtimestamp(int(st.st_mtime))),  # Go's RFC3339
        "user-id": st.st_uid,
        "user": _name_of(pwd.getpwuid, st.st_uid),
        "group-id": st.st_gid,
        "group": _name_of(grp.getgrgid, st.st_gid),
    }
    if stat.S_ISREG(st.st_mode):
        info["size"] = st.st_size
    return info


# -- Go's path.Match, which Pebble filters a listing with ------------------------
class _BadPattern(Exception):
    pass


def _scan_chunk(pattern: str) -> tuple[bool, str, str]:
    star = False
    while pattern.startswith("*"):
        pattern, star = pattern[1:], True
    in_range = False
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            i += 1
        elif c == "[":
            in_range = True
        elif c == "]":
            in_range = False
        elif c == "*" and not in_range:
            return star, pattern[:i], pattern[i:]
        i += 1
    return star, pattern, ""


def _class_char(chunk: str) -> tuple[str, str]:
    if not chunk or chunk[0] in "-]":
        raise _BadPattern
    if chunk[0] == "\\":
        chunk = chunk[1:]
        if not chunk:
            raise _BadPattern
    char, rest = chunk[0], chunk[1:]
    if not rest:
        raise _BadPattern
    return char, rest


def _match_chunk(chunk: str, s: str) -> tuple[str, bool]:
    """What is left of `s` after `chunk`, and whether it matched; the whole
    chunk is checked for syntax even once it cannot match."""
    failed = False
    while chunk:
        failed = failed or not s
        c = chunk[0]
        if c == "[":
            char = ""
            if not failed:
                char, s = s[0], s[1:]
            chunk = chunk[1:]
            negated = chunk.startswith("^")
            if negated:
                chunk = chunk[1:]
            matched, ranges = False, 0
            while True:
                if chunk.startswith("]") and ranges > 0:
                    chunk = chunk[1:]
                    break
                low, chunk = _class_char(chunk)
                high = low
                if chunk[0] == "-":
                    high, chunk = _class_char(chunk[1:])
                matched = matched or low <= char <= high
                ranges += 1
            failed = failed or matched == negated
        elif c == "?":
            if not failed:
                failed = s[0] == "/"
                s = s[1:]
            chunk = chunk[1:]
        else:
            if c == "\\":
                chunk = chunk[1:]
                if not chunk:
                    raise _BadPattern
            if not failed:
                failed = chunk[0] != s[0]
                s = s[1:]
            chunk = chunk[1:]
    return ("", False) if failed else (s, True)


def go_match(pattern: str, name: str) -> bool:
    """Go's path.Match; FileError "syntax error in pattern" for a bad one
    (found only as far as matching reads it, as Go finds it)."""
    try:
        while pattern:
            star, chunk, pattern = _scan_chunk(pattern)
            if star and not chunk:
                return "/" not in name
            rest, ok = _match_chunk(chunk, name)
            if ok and (not rest or pattern):
                name = rest
                continue
            if star:
                found = False
                for i in range(len(name)):
                    if name[i] == "/":
                        break
                    rest, ok = _match_chunk(chunk, name[i + 1:])
                    if ok:
                        if not pattern and rest:
                            continue
                        name, found = rest, True
                        break
                if found:
                    continue
            return False
        return not name
    except _BadPattern:
        raise FileError("syntax error in pattern") from None


def _go_base(path: str) -> str:
    """The name Go's os.Stat gives a path: its last element, trailing slashes ignored."""
    stripped = path.rstrip("/")
    return stripped.rsplit("/", 1)[-1] if stripped else "/"


def _go_join(directory: str, name: str) -> str:
    return _clean(f"{directory}/{name}")


def list_files(path: str, pattern: str = "", itself: bool = False) -> list[dict]:
    """The entries of a directory (or the path itself), filtered by Go's
    path.Match on the base name, named as Pebble names them (the path
    itself as path.Join(path.Dir(p), its name), so "/d/" lists as "/d/d").
    Raises FileError."""
    try:
        st = os.stat(path)
    except OSError as error:
        raise FileError.from_os(error, "stat", path) from None
    if itself or not stat.S_ISDIR(st.st_mode):
        directory = _clean(path[: path.rfind("/") + 1] or ".")
        entries = [(_go_base(path), lambda _: st)]
    else:
        try:
            names = sorted(os.listdir(path))
        except OSError as error:
            raise FileError.from_os(error, "open", path) from None
        directory = path
        entries = [(name, os.lstat) for name in names]
    out = []
    for name, info in entries:
        if pattern and not go_match(pattern, name):
            continue
        full = _go_join(directory, name)
        try:
            found = info(posixpath.join(path, name) if info is os.lstat else full)
        except FileNotFoundError:
            continue  # removed while listing
        except OSError as error:
            raise FileError.from_os(error, "lstat", full) from None
        out.append(file_info(full, found, name))
    return out


# -- reading -------------------------------------------------------------------
def open_for_read(path: str):
    """An open binary file for a regular file at `path`. Raises FileError."""
    require_absolute(path)
    try:
        st = os.stat(path)
    except OSError as error:
        raise FileError.from_os(error, "stat", path) from None
    if not stat.S_ISREG(st.st_mode):
        raise FileError(f"can only read a regular file: {go_quote(path)}")
    try:
        return open(path, "rb")
    except OSError as error:
        raise FileError.from_os(error, "open", path) from None


# -- writing -------------------------------------------------------------------
@dataclass(frozen=True)
class WriteSpec:
    path: str
    make_dirs: bool = False
    permissions: str = ""
    user_id: int | None = None
    user: str = ""
    group_id: int | None = None
    group: str = ""


_TEMP_FILE = re.compile(r".\.[0-9]{1,10}~\Z", re.DOTALL)
_TEMP_DIR = ".mkdir-new"
MAX_NOTED = 100_000


class Temporaries:
    """The temporaries this service is working on, each noted by a small
    file in `directory` naming it. `clean` (at start) removes the ones a
    crash left: a noted `<file>.<n>~` that is still a regular file, a noted
    `<dir>.mkdir-new` that is still an empty directory."""

    def __init__(self, directory: str | os.PathLike | None):
        self.directory = os.fspath(directory) if directory is not None else None

    def note(self, path: str) -> str | None:
        if self.directory is None:
            return None
        os.makedirs(self.directory, 0o700, exist_ok=True)
        marker = os.path.join(self.directory, secrets.token_hex(8))
        with open(marker, "xb") as out:
            out.write(os.fsencode(path))
        return marker

    @staticmethod
    def forget(marker: str | None) -> None:
        if marker is not None:
            try:
                os.unlink(marker)
            except FileNotFoundError:
                pass

    def clean(self) -> list[str]:
        """Remove what earlier runs left behind; the paths removed."""
        if self.directory is None:
            return []
        try:
            markers = sorted(os.listdir(self.directory))[:MAX_NOTED]
        except FileNotFoundError:
            return []
        removed = []
        for name in markers:
            marker = os.path.join(self.directory, name)
            try:
                with open(marker, "rb") as noted:
                    path = os.fsdecode(noted.read(4096))
                if _remove_leftover(path):
                    removed.append(path)
            except OSError as error:
                log.warning("cannot remove the temporary noted in %s: %s", marker, error)
            self.forget(marker)
        if removed:
            log.info("removed %d temporaries left by an earlier run", len(removed))
        return removed


def _remove_leftover(path: str) -> bool:
    if not posixpath.isabs(path):
        return False
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    if _TEMP_FILE.search(path) and stat.S_ISREG(st.st_mode):
        os.unlink(path)
        return True
    if path.endswith(_TEMP_DIR) and stat.S_ISDIR(st.st_mode):
        try:
            os.rmdir(path)  # only an empty one: never what someone put inside since
        except OSError:
            return False
        return True
    return False


_NO_TEMPORARIES = Temporaries(None)


def temporaries_for(home: str | os.PathLike) -> Temporaries:
    """Where the plan service of `home` notes its temporaries."""
    return Temporaries(os.path.join(os.fspath(home), "run", "file-temporaries"))


class AtomicWrite:
    """One file being written, as Pebble writes it: content goes to a
    temporary `<target>.<random>~` beside the target, which replaces the
    target only on `commit` (after `finish`). A failed or abandoned upload
    leaves the target as it was and no temporary behind."""

    def __init__(self, spec: WriteSpec, temporaries: Temporaries = _NO_TEMPORARIES):
        require_absolute(spec.path)
        self.path = spec.path
        self.account = owner(spec.user_id, spec.user, spec.group_id, spec.group)
        directory = posixpath.dirname(spec.path)
        if spec.make_dirs:
            try:
                make_directory(directory, DEFAULT_DIR_MODE, make_parents=True, exist_ok=True,
                               account=self.account, temporaries=temporaries)
            except FileError as error:
                raise FileError(f"cannot create directory: {error.message}", error.kind) from None
        self.mode = parse_permissions(spec.permissions, DEFAULT_FILE_MODE)
        base = posixpath.basename(spec.path)
        if "*" in base:
            raise FileError(f"cannot create tempfile for filename containing '*': {go_quote(base)}")
        self.temporaries = temporaries
        self.temp, self.marker, fd = self._create(directory, base)
        self.file = os.fdopen(fd, "wb")
        try:
            os.fchmod(fd, self.mode)  # not narrowed by the umask
        except OSError as error:
            self.abort()
            raise FileError.from_os(error, "chmod", self.temp) from None

    def _create(self, directory: str, base: str) -> tuple[str, str | None, int]:
        prefix = (directory if directory.endswith("/") else directory + "/") + base + "."
        for _ in range(10_000):
            temp = f"{prefix}{secrets.randbits(32)}~"
            marker = self.temporaries.note(temp)
            try:
                return temp, marker, os.open(temp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            except FileExistsError:
                self.temporaries.forget(marker)
            except OSError as error:
                self.temporaries.forget(marker)
                raise FileError.from_os(error, "open", temp) from None
        raise FileError(f"createtemp {prefix}*~: file already exists")

    def write(self, data: bytes) -> None:
        try:
            self.file.write(data)
        except OSError as error:
            self.abort()
            raise FileError.from_os(error, "write", self.temp) from None

    def finish(self) -> None:
        """All content is in: give the temporary its owner and make it
        durable, ready to be renamed into place."""
        step = "write"
        try:
            self.file.flush()
            if self.account.given:
                step = "chown"
                os.fchown(self.file.fileno(), self.account.uid, self.account.gid)
            step = "sync"
            os.fsync(self.file.fileno())
            step = "close"
            self.file.close()
        except OSError as error:
            self.abort()
            raise FileError.from_os(error, step, self.temp) from None

    def commit(self) -> None:
        """Put the finished file in place of the target, atomically."""
        try:
            if os.path.isdir(self.path) and not os.path.islink(self.path):
                raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST))  # Go's os.Rename says so
            os.replace(self.temp, self.path)
        except OSError as error:
            self.abort()
            raise FileError.from_os(error, "rename", f"{self.temp} {self.path}") from None
        self.temporaries.forget(self.marker)
        fsync_directory(posixpath.dirname(self.path))

    def abort(self) -> None:
        if not self.file.closed:
            self.file.close()
        try:
            os.unlink(self.temp)
        except FileNotFoundError:
            pass
        self.temporaries.forget(self.marker)


# -- directories and removal ---------------------------------------------------
def _clean(path: str) -> str:
    """Go's filepath.Clean (for absolute paths)."""
    cleaned = posixpath.normpath(path)
    return "/" + cleaned.lstrip("/") if cleaned.startswith("//") else cleaned


def _not_a_directory(path: str) -> FileError:
    return FileError(f"mkdir {path}: not a directory")


def make_directory(path: str, mode: int, *, make_parents: bool, exist_ok: bool, account: Account,
                   temporaries: Temporaries = _NO_TEMPORARIES) -> None:
    """Pebble's osutil.Mkdir: each new directory is made as `<dir>.mkdir-new`,
    given its mode (not narrowed by the umask) and owner, then renamed into
    place. FileError, naming the path Pebble names."""
    path = _clean(path)
    try:
        st = os.stat(path)
    except OSError:
        st = None
    if st is not None:
        if not stat.S_ISDIR(st.st_mode):
            raise _not_a_directory(path)
        if exist_ok:
            return
        raise FileError(f"mkdir {path}: file exists")
    missing = []
    current = path
    while True:
        try:
            st = os.stat(current)
        except OSError:
            missing.append(current)
            parent = posixpath.dirname(current)
            if not make_parents or parent in ("/", current):
                break
            current = parent
            continue
        if not stat.S_ISDIR(st.st_mode):
            raise _not_a_directory(current)
        break
    for directory in reversed(missing):
        _make_one(directory, mode, account, temporaries)


def _make_one(path: str, mode: int, account: Account, temporaries: Temporaries) -> None:
    candidate = path + _TEMP_DIR
    marker = temporaries.note(candidate)
    made = False
    step, named = "mkdir", candidate
    try:
        try:
            os.mkdir(candidate, mode)
            made = True
        except FileExistsError:
            pass  # one an earlier try left is used, as Pebble does
        if account.given:
            step = "chown"
            os.chown(candidate, account.uid, account.gid)
        step = "chmod"
        os.chmod(candidate, mode)
        step, named = "rename", f"{candidate} {path}"
        os.rename(candidate, path)
    except OSError as error:
        if made:
            try:
                os.rmdir(candidate)
            except OSError:
                pass
        temporaries.forget(marker)
        raise FileError.from_os(error, step, named) from None
    temporaries.forget(marker)
    fsync_directory(posixpath.dirname(path))


def make_dir(path: str, make_parents: bool = False, permissions: str = "", user_id: int | None = None,
             user: str = "", group_id: int | None = None, group: str = "",
             temporaries: Temporaries = _NO_TEMPORARIES) -> None:
    require_absolute(path)
    mode = parse_permissions(permissions, DEFAULT_DIR_MODE)
    account = owner(user_id, user, group_id, group)
    make_directory(path, mode, make_parents=make_parents, exist_ok=make_parents, account=account,
                   temporaries=temporaries)


def _go_remove(path: str) -> None:
    """Go's os.Remove: unlink, else rmdir; the error that explains it."""
    try:
        os.unlink(path)
        return
    except OSError as unlink_error:
        first = unlink_error
    try:
        os.rmdir(path)
    except OSError as rmdir_error:
        raise (first if rmdir_error.errno == errno.ENOTDIR else rmdir_error) from None


def _go_remove_all(path: str) -> None:
    """Go's os.RemoveAll: nothing there is fine; a path under a file is not."""
    if path == "." or path.endswith("/."):
        raise FileError(f"RemoveAll {path}: invalid argument")
    try:
        _go_remove(path)
        return
    except FileNotFoundError:
        return
    except OSError:
        pass
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as error:
        raise FileError.from_os(error, "unlinkat", path) from None
    if not stat.S_ISDIR(st.st_mode):
        try:
            os.unlink(path)
        except FileNotFoundError:
            return
        except OSError as error:
            raise FileError.from_os(error, "unlinkat", path) from None
        return

    def failed(_function, failing, info):
        error = info[1]
        if not isinstance(error, FileNotFoundError):
            raise FileError.from_os(error, "unlinkat", failing) from None

    shutil.rmtree(path, onerror=failed)


def remove_path(path: str, recursive: bool = False) -> None:
    """Remove a file or empty directory (Go's os.Remove); `recursive`
    removes a whole tree and is content when nothing is there (os.RemoveAll)."""
    require_absolute(path)
    if recursive:
        _go_remove_all(path)
        return
    try:
        _go_remove(path)
    except OSError as error:
        raise FileError.from_os(error, "remove", path) from None
