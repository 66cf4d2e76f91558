"""Files on the remote system: ls, mkdir, rm, push, pull."""

from __future__ import annotations

import contextlib
import os
import posixpath
import stat

from shoal import client
from shoal.cli import times
from shoal.cli.commands.base import (
    FORMATS,
    CommandError,
    arg,
    command,
    print_formatted,
    print_table,
    when,
)

TYPE_LETTERS = {"directory": "d", "symlink": "L", "socket": "S", "named-pipe": "p", "device": "D", "file": ""}
GLOB = "*?["


def mode_string(kind: str, permissions: str) -> str:
    """Go's FileMode.String() for a listed entry ("drwxr-xr-x")."""
    bits = int(permissions or "0", 8)
    rwx = "".join(char if bits & (1 << (8 - i)) else "-" for i, char in enumerate("rwxrwxrwx"))
    return (TYPE_LETTERS.get(kind, "?") or "-") + rwx


def format_amount(amount: int, width: int = 5) -> str:
    """x-go's quantity.FormatAmount, as `ls -l` sizes use it."""
    limit, max_float = 5000, 999.5
    if width < 4:
        width, limit, max_float = 3, 999, 99.5
    if amount <= limit:
        pad = " " if width > 5 else ""
        return f"{amount:>{width - len(pad)}d}{pad}"
    r = float(amount)
    prefix = "k"
    for prefix in "kMGTPEZY":
        r /= 1000
        if r < max_float:
            break
    width -= 1
    digits = 3
    if r < 99.5:
        digits -= 1
        if r < 9.5:
            digits -= 1
            if r < 0.95:
                digits -= 1
    precision = width - digits - 1 if width - digits > 1 else 0
    text = f"{r:>{width}.{precision}f}{prefix}"
    return text[1:] if r < 0.95 else text


def parse_glob(path: str) -> tuple[str, str]:
    directory, name = posixpath.split(path.rstrip("/"))
    if directory and not directory.endswith("/"):
        directory += "/"
    if any(c in directory for c in GLOB):
        raise CommandError("can only use globs on the last path element")
    if any(c in name for c in GLOB):
        return directory, name
    return path, ""


def _entry(f: client.FileInfo) -> dict:
    entry = {"path": f.path, "name": f.name, "type": f.type}
    if f.type == "file":
        entry["size"] = f.size or 0
    modified = times.parse(f.last_modified)
    entry.update({"permissions": f"{int(f.permissions or '0', 8):03o}",
                  "last-modified": times.rfc3339(modified) if modified else f.last_modified})
    for key, value in (("user-id", f.user_id), ("user", f.user), ("group-id", f.group_id), ("group", f.group)):
        if value not in (None, ""):
            entry[key] = value
    return entry


@command("ls", "List path contents", arg("path", metavar="<path>"),
         arg("-d", dest="directory", action="store_true", help="list matching entries themselves, not directory "
                                                               "contents"),
         arg("-l", dest="long", action="store_true", help="use a long listing format"),
         formats=FORMATS, abs_time=True)
async def _ls(conn, args):
    path, pattern = parse_glob(args.path)
    files = await conn.list_files(path, pattern, args.directory)
    if args.format != "text":
        print_formatted({"files": [_entry(f) for f in files]}, args.format)
        return
    if not args.long:
        print_table((f.name,) for f in files)
        return
    rows = []
    for f in files:
        size = format_amount(f.size or 0) + "B" if f.type == "file" else "-"
        rows.append((mode_string(f.type, f.permissions), f.user, f.group, f"{size:>6}", when(args, f.last_modified),
                     f.name))
    print_table(rows)


def _mode(text: str) -> str:
    try:
        return f"{int(text, 8):03o}"
    except ValueError:
        raise CommandError(f'invalid mode for directory: "{text}"') from None


OWNER = [arg("--uid", dest="user_id", type=int, default=None, help="use specified user ID"),
         arg("--user", default="", help="use specified username"),
         arg("--gid", dest="group_id", type=int, default=None, help="use specified group ID"),
         arg("--group", default="", help="use specified group name")]
MODE = arg("-m", dest="mode", default="", help="override mode bits (3-digit octal)")


def _owner(args) -> dict:
    return {"user_id": args.user_id, "user": args.user, "group_id": args.group_id, "group": args.group}


@command("mkdir", "Create a directory", arg("path", metavar="<path>"),
         arg("-p", dest="parents", action="store_true",
             help="create parent directories as needed, and don't fail if path already exists"),
         MODE, *OWNER)
async def _mkdir(conn, args):
    await conn.make_dir(args.path, args.parents, _mode(args.mode) if args.mode else "", **_owner(args))


@command("rm", "Remove a file or directory", arg("path", metavar="<path>"),
         arg("-r", dest="recursive", action="store_true",
             help="remove all files and directories recursively in the specified path"))
async def _rm(conn, args):
    await conn.remove_path(args.path, args.recursive)


@command("push", "Transfer a file to the remote system", arg("local", metavar="<local-path>"),
         arg("remote", metavar="<remote-path>"),
         arg("-p", dest="parents", action="store_true", help="create parent directories for the file"),
         MODE, *OWNER)
async def _push(conn, args):
    with open(args.local, "rb") as source:  # noqa: ASYNC230 - one open in a one-shot CLI process
        mode = _mode(args.mode) if args.mode else f"{stat.S_IMODE(os.fstat(source.fileno()).st_mode):03o}"
        await conn.push(args.remote, source, make_dirs=args.parents, permissions=mode, **_owner(args))


@command("pull", "Retrieve a file from the remote system", arg("remote", metavar="<remote-path>"),
         arg("local", metavar="<local-path>"))
async def _pull(conn, args):
    with open(args.local, "wb") as target:  # noqa: ASYNC230 - one open in a one-shot CLI process
        try:
            await conn.pull(args.remote, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.remove(args.local)
            raise
