"""What every client command shares: the registry, the connecting options,
printing as Pebble's CLI prints (tables, JSON, YAML, one-line errors) and
running a command on a connection.

Exit codes: 0 ok, 1 error (as Pebble), 2 usage; a command may exit with
its own code (`exec` with the command's, `health` 1 when unhealthy)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import yaml

from shoal import client
from shoal.cli import goyaml, tabwriter, times, wrap

PROGRAM = "shoal"
ERROR_PREFIX = "error: "
FORMATS = ("text", "json", "yaml")


@dataclass
class Command:
    name: str
    help: str
    run: Callable[..., Awaitable[int | None]]
    arguments: list[tuple[tuple, dict]] = field(default_factory=list)
    formats: tuple[str, ...] | None = None  # --format choices; None: no --format
    pebble: bool = False  # a /v1 command: --instance reaches one instance through the gateway
    abs_time: bool = False  # has --abs-time
    connect: bool = True  # False: runs without a connection (conn is None)
    description: str = ""


COMMANDS: dict[str, Command] = {}


def command(name: str, help: str, *arguments: tuple[tuple, dict], formats: tuple[str, ...] | None = None,
            pebble: bool = True, abs_time: bool = False, connect: bool = True, description: str = ""):
    """Register `function(conn, args)` as client command `name`."""
    def register(function):
        COMMANDS[name] = Command(name, help, function, list(arguments), formats, pebble, abs_time, connect,
                                 description)
        return function
    return register


def arg(*names, **options) -> tuple[tuple, dict]:
    return names, options


class UsageError(Exception):
    """Wrong use of a command (exit code 2)."""


class CommandError(Exception):
    """A failure the command itself reports (printed after "error: ")."""


class Exit(Exception):
    """Leave with this exit code (the command has said what it had to)."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


# -- printing --------------------------------------------------------------------
def out(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def err(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def print_table(rows: Iterable[Sequence[object]]) -> None:
    sys.stdout.write(tabwriter.table(rows))
    sys.stdout.flush()


def go_json(value) -> str:
    """Compact JSON as Go's encoder writes it (<, > and & escaped)."""
    text = orjson.dumps(value).decode()
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def print_formatted(value, fmt: str) -> None:
    """`--format json|yaml` as Pebble's CLI prints it."""
    if fmt == "json":
        out(go_json(goyaml.sort_maps(value)))
    else:
        sys.stdout.write(goyaml.dump(value))
        sys.stdout.flush()


def when(args, text: str | None, placeholder: str = "-") -> str:
    return times.fmt(text, getattr(args, "abs_time", False), placeholder)


def num_items(n: int, singular: str, plural: str) -> str:
    return f"1 {singular}" if n == 1 else f"{n} {plural}"


def error_text(error: BaseException) -> str:
    """The line(s) after "error: ", as Pebble words them."""
    if isinstance(error, client.APIError):
        message = error.message
        if error.kind == "login-required" and os.geteuid() != 0:
            message += " (try with sudo)"
        elif error.kind == "no-default-services":
            message = "no default services"
        return wrap.fill(message, len(ERROR_PREFIX))
    if isinstance(error, client.PathError):
        return wrap.fill(error.message, len(ERROR_PREFIX))
    return str(error)


# -- the parser ---------------------------------------------------------------------
def add_client_options(parser: argparse.ArgumentParser, spec: Command) -> None:
    group = parser.add_argument_group("connecting")
    group.add_argument("--socket", action="append", default=[],
                       help="gateway unix socket (default $SHOAL_SOCKET or $SHOAL_HOME/.shoal.socket)")
    group.add_argument("--url", action="append", default=[], help="gateway http(s) URL (several: raced)")
    group.add_argument("--cacert", default="", help="PEM file trusted for https URLs")
    group.add_argument("--token", default=os.environ.get("SHOAL_TOKEN", ""), help="API token ($SHOAL_TOKEN)")
    group.add_argument("--basic", default="", metavar="NAME[:PASSWORD]",
                       help="log in as a basic identity (the password is asked for when left out)")
    if spec.pebble:
        group.add_argument("--instance", default=os.environ.get("SHOAL_INSTANCE", ""), metavar="HOST",
                           help="run against this instance (address or alias) through the gateway's "
                                "instance proxy ($SHOAL_INSTANCE)")


def add_commands(sub) -> None:
    from shoal.cli.commands import load_all

    load_all()
    for spec in COMMANDS.values():
        p = sub.add_parser(spec.name, help=spec.help, description=spec.description or spec.help)
        for names, options in spec.arguments:
            p.add_argument(*names, **options)
        if spec.formats:
            p.add_argument("--format", default="text", choices=spec.formats, help="output format")
        if spec.abs_time:
            p.add_argument("--abs-time", action="store_true",
                           help="display absolute times (in RFC 3339 format); otherwise relative times up to "
                                "60 days, then YYYY-MM-DD")
        if spec.connect:
            add_client_options(p, spec)
        p.set_defaults(func=run_client_command, client_command=spec)


# -- connecting and running -----------------------------------------------------------
def password() -> str:
    if os.environ.get("SHOAL_PASSWORD"):
        return os.environ["SHOAL_PASSWORD"]
    return getpass.getpass("Password: ")


def addresses(args) -> list[str]:
    from services.common.config import default_home

    home = Path(args.home) if getattr(args, "home", None) else default_home()
    socket = os.environ.get("SHOAL_SOCKET", "") or str(home / ".shoal.socket")
    return [*args.socket, *args.url] or [socket]


def info_and_login(args) -> tuple[client.Info, client.LoginProvider]:
    info = client.Info(addresses(args), ca_cert=Path(args.cacert).read_text() if args.cacert else "")
    if args.token:
        return info, client.TokenLogin(args.token)
    if args.basic:
        name, _, secret = args.basic.partition(":")
        return info, client.BasicLogin(name, secret or password())
    return info, client.LoginProvider()  # the socket's peer credentials, or nothing


def target_key(args) -> str:
    """Where the command went (for the CLI's notices/warnings state)."""
    key = addresses(args)[0]
    instance = getattr(args, "instance", "")
    return f"{key}#{instance}" if instance else key


def run_client_command(args) -> int:
    spec: Command = args.client_command

    async def go():
        if not spec.connect:
            return await spec.run(None, args)
        info, login = info_and_login(args)
        conn = await client.open(info, client.DialOpts(dial_timeout=10, timeout=30), login)
        try:
            api = conn.instance(args.instance) if getattr(args, "instance", "") else conn
            code = await spec.run(api, args)
            if spec.pebble:
                from shoal.cli.commands.notices import present_warnings

                present_warnings(args, api.latest_warning)
            return code
        finally:
            await conn.close()

    try:
        return asyncio.run(go()) or 0
    except Exit as done:
        return done.code
    except UsageError as error:
        err(ERROR_PREFIX + str(error))
        return 2
    except (CommandError, client.ShoalError, OSError, ValueError, yaml.YAMLError) as error:
        err(ERROR_PREFIX + error_text(error))
        return 1
    except KeyboardInterrupt:
        return 130


def show(args, data, rows: list[Sequence[object]] | None = None, text: str | None = None) -> None:
    """Shoal's own commands (tokens, users, audit, beacons, apps): a table or
    a line by default, or the API's objects with --format json|yaml."""
    fmt = getattr(args, "format", "text")
    if fmt == "json":
        out(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode())
    elif fmt == "yaml":
        out(yaml.safe_dump(data, sort_keys=True).rstrip())
    elif rows is not None:
        if len(rows) <= 1:
            err("(none)")
        else:
            print_table(rows)
    elif text:
        out(text)
