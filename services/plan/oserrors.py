"""Operating-system errors in Go's words, as Pebble reports them: Go's
`syscall.Errno` texts are the C library's, starting in lower case."""

from __future__ import annotations

import os
import shutil


def errno_text(code: int | None, fallback: str = "") -> str:
    """What Go says for the error number `code` (`connection refused`)."""
    if not code:
        return fallback
    text = os.strerror(code)
    return text[:1].lower() + text[1:]


def fork_exec_error(error: Exception, executable: str) -> str:
    """A spawn failure: `fork/exec PATH: no such file or directory`."""
    if isinstance(error, OSError) and error.errno:
        return f"fork/exec {executable}: {errno_text(error.errno)}"
    return str(error)


def join_host_port(host: str, port: int) -> str:
    """Go's net.JoinHostPort: an IPv6 address goes in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class ExecutableNotFound(LookupError):
    """Go's exec.LookPath error: `exec: "NAME": executable file not found in $PATH`."""

    def __init__(self, name: str):
        super().__init__(f'exec: "{name}": executable file not found in $PATH')


def look_path(name: str, path: str) -> str:
    """The executable a command names, looked up in `path` as Go's
    exec.LookPath does (a name with a slash is taken as it is)."""
    if "/" in name:
        return name
    found = shutil.which(name, path=path)
    if found is None:
        raise ExecutableNotFound(name)
    return found
