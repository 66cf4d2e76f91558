"""Notices and warnings: notices, notice, notify, okay, warnings, and the
"there are new warnings" line after any /v1 command.

As Pebble's CLI, what `notices` and `warnings` last listed is remembered per
gateway (and instance) in $XDG_CONFIG_HOME/shoal/cli.json, so that `okay`
can acknowledge it and later listings leave it out."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal as signals
import sys
from pathlib import Path

from shoal import client
from shoal.cli import goyaml, tabwriter, times, wrap
from shoal.cli.commands.base import (
    FORMATS,
    PROGRAM,
    CommandError,
    arg,
    command,
    err,
    out,
    print_formatted,
    print_table,
    target_key,
    when,
)

NOTICE_ID = re.compile(r"^[a-z0-9]+$")
STATE_KEYS = ("notices-last-listed", "notices-last-okayed", "warnings-last-listed", "warnings-last-okayed")


# -- the CLI's state ----------------------------------------------------------------
def state_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    return Path(base) / "shoal" / "cli.json"


def _load_all() -> dict:
    try:
        document = json.loads(state_path().read_text())
    except FileNotFoundError:
        return {"shoal": {}}
    except (OSError, ValueError) as error:
        raise CommandError(f"cannot load CLI state: {error}") from None
    document.setdefault("shoal", {})
    return document


def load_state(args) -> dict:
    return dict(_load_all()["shoal"].get(target_key(args), {}))


def save_state(args, state: dict) -> None:
    document = _load_all()
    document["shoal"][target_key(args)] = state
    path = state_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(document))
        temporary.chmod(0o600)
        temporary.replace(path)
    except OSError as error:
        raise CommandError(f"cannot save CLI state: {error}") from None


def _later(a: str, b: str) -> bool:
    """Whether time `a` is after time `b` (unset is the earliest)."""
    ta, tb = times.parse(a), times.parse(b)
    return ta is not None and (tb is None or ta > tb)


def present_warnings(args, latest: str) -> None:
    """Pebble's reminder when a warning newer than the last listed exists."""
    if not latest:
        return
    with contextlib.suppress(CommandError):
        if _later(latest, load_state(args).get("warnings-last-listed", "")):
            err(f"WARNING: There are new warnings. See '{PROGRAM} warnings'.")


# -- notices -------------------------------------------------------------------------
def _duration(text: str) -> float:
    from services.common.durations import parse_duration

    try:
        return parse_duration(text)
    except ValueError as error:
        raise CommandError(str(error)) from None


def _go_duration(seconds: float) -> str:
    from services.common.durations import format_duration

    return format_duration(seconds)


def _short_key(key: str) -> str:
    return key[:14] + "..." + key[-15:] if len(key) > 32 else key


async def _interruptible(coroutine):
    """`coroutine`, ended quietly (None) by Ctrl-C."""
    task = asyncio.ensure_future(coroutine)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signals.SIGINT, task.cancel)
    try:
        return await task
    except asyncio.CancelledError:
        return None
    finally:
        loop.remove_signal_handler(signals.SIGINT)


@command("notices", "List notices",
         arg("--users", default="", choices=["", "all"],
             help="the only valid value is 'all', which lists notices with any user ID (admin only)"),
         arg("--uid", type=int, default=None, help="only list notices with this user ID (admin only)"),
         arg("--type", dest="types", action="append", default=[], help="only list notices of this type "
                                                                       "(multiple allowed)"),
         arg("--key", dest="keys", action="append", default=[], help="only list notices with this key "
                                                                     "(multiple allowed)"),
         arg("--timeout", default="", help="wait up to this duration for matching notices to arrive"),
         formats=FORMATS, abs_time=True)
async def _notices(conn, args):
    state = load_state(args)
    timeout = _duration(args.timeout) if args.timeout else 0
    request = conn.notices(args.types, args.keys, user_id=args.uid, users=args.users,
                           after=state.get("notices-last-okayed", ""), timeout=timeout)
    notices = (await _interruptible(request) if timeout else await request) or []
    if notices:
        state["notices-last-listed"] = notices[-1].last_repeated
        save_state(args, state)
    if args.format != "text":
        print_formatted({"notices": [n.raw for n in notices]}, args.format)
        return
    if not notices:
        err(f"No matching notices after waiting {_go_duration(timeout)}." if timeout else "No matching notices.")
        return
    print_table([("ID", "User", "Type", "Key", "First", "Repeated", "Occurrences"),
                 *((n.id, "public" if n.user_id is None else n.user_id, n.type, _short_key(n.key),
                    when(args, n.first_occurred), when(args, n.last_repeated), n.occurrences) for n in notices)])


@command("notice", "Fetch a single notice", arg("id_or_type", metavar="<id-or-type>"),
         arg("key", nargs="?", default="", metavar="<key>"),
         arg("--uid", type=int, default=None,
             help="look up notice from user with this UID (admin only; 2-arg variant only)"),
         formats=FORMATS)
async def _notice(conn, args):
    if args.key:
        notices = await conn.notices([args.id_or_type], [args.key], user_id=args.uid)
        if not notices:
            raise CommandError(f'cannot find {args.id_or_type} notice with key "{args.key}"')
        notice = next((n for n in notices[1:] if n.user_id is not None), notices[0])
    else:
        if args.uid is not None:
            raise CommandError("cannot use --uid option when looking up notice by key")
        if not NOTICE_ID.match(args.id_or_type):
            raise CommandError(f'invalid notice ID "{args.id_or_type}"')
        notice = await conn.notice(args.id_or_type)
    if args.format == "text":
        sys.stdout.write(goyaml.dump(notice.raw))
        return
    print_formatted(notice.raw, args.format)


@command("notify", "Record a custom notice", arg("key", metavar="<key>"),
         arg("data", nargs="*", metavar="<name=value>"),
         arg("--repeat-after", default="",
             help="prevent notice with same type and key from reoccurring within this duration"))
async def _notify(conn, args):
    data = {}
    for item in args.data:
        name, sep, value = item.partition("=")
        if not sep:
            raise CommandError(f'data args must be in "name=value" format, not "{item}"')
        data[name] = value
    repeat = _go_duration(_duration(args.repeat_after)) if args.repeat_after else ""
    out(f"Recorded notice {await conn.notify(args.key, data or None, repeat)}")


@command("okay", "Acknowledge notices and warnings",
         arg("--warnings", action="store_true", help="only acknowledge warnings, not other notices"))
async def _okay(conn, args):
    state = load_state(args)
    okayed_warnings = bool(state.get("warnings-last-listed"))
    if okayed_warnings:
        state["warnings-last-okayed"] = state["warnings-last-listed"]
    okayed_notices = False
    if not args.warnings and state.get("notices-last-listed"):
        okayed_notices = True
        state["notices-last-okayed"] = state["notices-last-listed"]
    save_state(args, state)
    if args.warnings and not okayed_warnings:
        raise CommandError(f"no warnings have been listed; try '{PROGRAM} warnings'")
    if not args.warnings and not okayed_notices and not okayed_warnings:
        raise CommandError(f"no notices or warnings have been listed; try '{PROGRAM} notices' or "
                           f"'{PROGRAM} warnings'")


def format_seconds(dt: float) -> str:
    """x-go's quantity.FormatDuration (warnings --verbose)."""
    if dt < 60:
        if dt >= 9.995:
            return f"{dt:.1f}s"
        if dt >= 0.9995:
            return f"{dt:.2f}s"
        prefix = "m"
        for prefix in "mµn":
            dt *= 1000
            if dt >= 0.9995:
                break
        return f"{dt:3.0f}{prefix}s" if dt > 9.5 else f"{dt:.1f}{prefix}s"
    if dt < 600:
        m, s = divmod(dt, 60)
        return f"{m:.0f}m{s:02.0f}s"
    dt /= 60
    if dt < 99.95:
        return f"{dt:3.1f}m"
    if dt < 600:
        h, m = divmod(dt, 60)
        return f"{h:.0f}h{m:02.0f}m"
    if dt < 24 * 60:
        h, m = divmod(dt, 60)
        return f"{h:.0f}h{m:1.0f}m" if m < 10 else f"{dt / 60:3.1f}h"
    dt /= 60
    if dt < 240:
        d, h = divmod(dt, 24)
        return f"{d:.0f}d{h:02.0f}h"
    if dt < 99.95 * 24:
        d, h = divmod(dt, 24)
        return f"{d:.0f}d{h:.0f}h" if h < 10 else f"{dt / 24:4.1f}d"
    dt /= 24
    if dt < 2 * 365.25:
        return f"{dt:4.0f}d"
    dt /= 365.25
    return f"{dt:4.2f}y" if dt < 9.995 else f"{dt:4.1f}y" if dt < 99.95 else f"{dt:4.0f}y"


@command("warnings", "List warnings", arg("--all", action="store_true", help="show all warnings"),
         arg("--verbose", action="store_true", help="show more information (text format only)"),
         arg("--unicode", default="auto", choices=["auto", "never", "always"],
             help="use a little bit of Unicode to improve legibility"),
         formats=FORMATS, abs_time=True)
async def _warnings(conn, args):
    state = {} if args.all else load_state(args)
    try:
        warnings = await conn.notices(["warning"], after="" if args.all else state.get("warnings-last-okayed", ""))
    except client.ShoalError as error:
        raise CommandError(f"cannot get notices: {error}") from None
    if not args.all and warnings:
        state["warnings-last-listed"] = warnings[-1].last_repeated
        save_state(args, state)
    if args.format != "text":
        print_formatted({"warnings": [w.raw for w in warnings]}, args.format)
        return
    if not warnings:
        err("No warnings." if args.all or not state.get("warnings-last-okayed") else "No further warnings.")
        return
    width = min(wrap.terminal_width(), 100)
    for i, warning in enumerate(warnings):
        lines = ["---"] if i else []
        if args.verbose:
            lines.append(f"first-occurrence:\t{when(args, warning.first_occurred)}")
        lines.append(f"last-occurrence:\t{when(args, warning.last_occurred)}")
        if args.verbose:
            lines.append(f"last-repeated:\t{when(args, warning.last_repeated)}")
            lines.append(f"repeats-after:\t{format_seconds(_duration(warning.repeat_after or '0s'))}")
            lines.append(f"expires-after:\t{format_seconds(_duration(warning.expire_after or '0s'))}")
        sys.stdout.write(tabwriter.layout("\n".join(lines) + "\n"))
        out("warning: |")
        for line in warning.key.rstrip().split("\n"):
            out(_wrap_line(line, "  ", width))


def _wrap_line(text: str, pad: str, width: int) -> str:
    """A warning's line indented by `pad` plus its own indent, wrapped greedily at `width`."""
    text = text.rstrip()
    stripped = text.lstrip()
    indent = pad + text[: len(text) - len(stripped)]
    if len(indent) > width // 2:
        indent = pad + "  "
    lines, room = [], width - len(indent)
    while len(stripped) > room:
        cut = stripped.rfind(" ", 0, room + 1)
        cut = room if cut < 0 else cut
        lines.append(indent + stripped[:cut])
        stripped = stripped[cut:].lstrip()
    lines.append(indent + stripped)
    return "\n".join(lines)
