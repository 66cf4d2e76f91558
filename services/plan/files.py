"""The node's files as Pebble's files API sees them (spec §2.8): listing,
reading, atomic writes, directories and removal, with Pebble's per-path
error kinds. Plain blocking functions: the servicer runs them in a thread.
"""

from __future__ import annotations

import errno
import fnmatch
import grp
import os
import posixpath
import pwd
import shutil
import stat
import tempfile
from dataclasses import dataclass
from datetime import datetime

from services.common.errors import DomainError, Failure
from services.plan import accounts
from services.plan.accounts import Account, AccountError

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
        raise FileError(f'paths must be absolute, got "{path}"')


def parse_permissions(text: str, default: int) -> int:
    if not text:
        return default
    if len(text) != 3 or any(c not in "01234567" for c in text):
        raise FileError(f'permissions must be a 3-digit octal string, got "{text}"')
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


def file_info(path: str, st: os.stat_result) -> dict:
    """Pebble's JSON object for one file."""
    info = {
        "path": path,
        "name": posixpath.basename(path) or path,
        "type": file_type(st.st_mode),
        "permissions": format(stat.S_IMODE(st.st_mode) & 0o777, "03o"),
        "last-modified": datetime.fromtimestamp(int(st.st_mtime)).astimezone().isoformat(),
        "user-id": st.st_uid,
        "user": _name_of(pwd.getpwuid, st.st_uid),
        "group-id": st.st_gid,
        "group": _name_of(grp.getgrgid, st.st_gid),
    }
    if stat.S_ISREG(st.st_mode):
        info["size"] = st.st_size
    return info


def list_files(path: str, pattern: str = "", itself: bool = False) -> list[dict]:
    """The entries of a directory (or the path itself), filtered by a shell
    glob on the base name. Raises FileError."""
    try:
        st = os.stat(path)
    except OSError as error:
        raise FileError.from_os(error, "stat", path) from None
    if itself or not stat.S_ISDIR(st.st_mode):
        entries = [(path, st)]
    else:
        try:
            names = sorted(os.listdir(path))
        except OSError as error:
            raise FileError.from_os(error, "open", path) from None
        entries = []
        for name in names:
            full = posixpath.join(path, name)
            try:
                entries.append((full, os.lstat(full)))
            except FileNotFoundError:
                continue  # removed while listing
            except OSError as error:
                raise FileError.from_os(error, "lstat", full) from None
    return [file_info(full, st) for full, st in entries
            if not pattern or fnmatch.fnmatchcase(posixpath.basename(full), pattern)]


# -- reading -------------------------------------------------------------------
def open_for_read(path: str):
    """An open binary file for a regular file at `path`. Raises FileError."""
    require_absolute(path)
    try:
        st = os.stat(path)
    except OSError as error:
        raise FileError.from_os(error, "stat", path) from None
    if not stat.S_ISREG(st.st_mode):
        raise FileError(f'can only read a regular file: "{path}"')
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


class AtomicWrite:
    """One file being written: content goes to a temporary file beside the
    target, which replaces the target only on `commit` (after `finish`). A
    failed or abandoned upload leaves the target as it was and no temporary
    behind."""

    def __init__(self, spec: WriteSpec):
        require_absolute(spec.path)
        self.path = spec.path
        self.account = owner(spec.user_id, spec.user, spec.group_id, spec.group)
        directory = posixpath.dirname(spec.path)
        if spec.make_dirs:
            try:
                _make_parents(directory, DEFAULT_DIR_MODE, self.account)
            except OSError as error:
                cause = FileError.from_os(error, "mkdir", directory)
                raise FileError(f"cannot create directory: {cause.message}", cause.kind) from None
        self.mode = parse_permissions(spec.permissions, DEFAULT_FILE_MODE)
        try:
            fd, self.temp = tempfile.mkstemp(dir=directory, prefix="." + posixpath.basename(spec.path) + ".")
        except OSError as error:
            raise FileError.from_os(error, "open", spec.path) from None
        self.file = os.fdopen(fd, "wb")

    def write(self, data: bytes) -> None:
        try:
            self.file.write(data)
        except OSError as error:
            self.abort()
            raise FileError.from_os(error, "write", self.path) from None

    def finish(self) -> None:
        """All content is in: give the temporary its mode and owner and make
        it durable, ready to be renamed into place."""
        try:
            self.file.flush()
            os.fchmod(self.file.fileno(), self.mode)
            if self.account.given:
                os.fchown(self.file.fileno(), self.account.uid, self.account.gid)
            os.fsync(self.file.fileno())
            self.file.close()
        except OSError as error:
            self.abort()
            raise FileError.from_os(error, "write", self.path) from None

    def commit(self) -> None:
        """Put the finished file in place of the target, atomically."""
        try:
            os.replace(self.temp, self.path)
        except OSError as error:
            self.abort()
            raise FileError.from_os(error, "rename", self.path) from None

    def abort(self) -> None:
        if not self.file.closed:
            self.file.close()
        try:
            os.unlink(self.temp)
        except FileNotFoundError:
            pass


# -- directories and removal ---------------------------------------------------
def _make_one(path: str, mode: int, account: Account) -> None:
    os.mkdir(path, mode)
    os.chmod(path, mode)  # not narrowed by the umask
    if account.given:
        os.chown(path, account.uid, account.gid)


def _make_parents(path: str, mode: int, account: Account) -> None:
    missing = []
    current = path
    while current and not os.path.isdir(current):
        missing.append(current)
        parent = posixpath.dirname(current)
        if parent == current:
            break
        current = parent
    for directory in reversed(missing):
        try:
            _make_one(directory, mode, account)
        except FileExistsError:
            if not os.path.isdir(directory):
                raise


def make_dir(path: str, make_parents: bool = False, permissions: str = "", user_id: int | None = None,
             user: str = "", group_id: int | None = None, group: str = "") -> None:
    require_absolute(path)
    mode = parse_permissions(permissions, DEFAULT_DIR_MODE)
    account = owner(user_id, user, group_id, group)
    try:
        if make_parents:
            _make_parents(path, mode, account)
        else:
            _make_one(path, mode, account)
    except OSError as error:
        raise FileError.from_os(error, "mkdir", path) from None


def remove_path(path: str, recursive: bool = False) -> None:
    """Remove a file or empty directory; `recursive` removes a whole tree and
    is content when nothing is there."""
    require_absolute(path)
    try:
        if recursive:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            elif os.path.lexists(path):
                os.unlink(path)
        elif os.path.isdir(path) and not os.path.islink(path):
            os.rmdir(path)
        else:
            os.unlink(path)
    except OSError as error:
        raise FileError.from_os(error, "remove", path) from None
