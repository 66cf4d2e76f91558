"""Services and the plan: services, plan, add, start, stop, restart,
replan, autostart, logs, signal."""

from __future__ import annotations

import signal as signals
from pathlib import Path

from shoal.cli import progress, times
from shoal.cli.commands.base import (
    FORMATS,
    CommandError,
    arg,
    command,
    err,
    go_json,
    out,
    print_formatted,
    print_table,
    when,
)


def required(values: list[str], name: str) -> list[str]:
    """Pebble's message for a missing required positional argument."""
    if not values:
        raise CommandError(f"the required argument `{name} (at least 1 argument)` was not provided")
    return values


@command("services", "Query the status of configured services", arg("names", nargs="*", metavar="<service>"),
         formats=FORMATS, abs_time=True)
async def _services(conn, args):
    services = await conn.services(args.names)
    if args.format != "text":
        print_formatted({"services": {s.name: s.raw for s in sorted(services, key=lambda s: s.name)}}, args.format)
        return
    if not services:
        err("No matching services." if args.names else "Plan has no services.")
        return
    print_table([("Service", "Startup", "Current", "Since"),
                 *((s.name, s.startup, s.current, when(args, s.current_since)) for s in services)])


@command("plan", "Show the plan with layers combined")
async def _plan(conn, args):
    import sys

    sys.stdout.write(await conn.plan())
    sys.stdout.flush()


@command("add", "Dynamically add a layer to the plan's layers", arg("label", metavar="<label>"),
         arg("file", metavar="<layer-path>"),
         arg("--combine", action="store_true",
             help="combine the new layer with an existing layer that has the given label (default is to append)"),
         arg("--inner", action="store_true", help="allow appending a new layer inside an existing subdirectory"))
async def _add(conn, args):
    await conn.add_layer(args.label, Path(args.file).read_text(), args.combine, args.inner)
    out(f'Layer "{args.label}" added successfully from "{args.file}"')


NO_WAIT = arg("--no-wait", action="store_true",
              help="do not wait for the operation to finish but just print the change id")


async def wait_or_print(conn, args, change_id: str) -> None:
    if args.no_wait:
        out(change_id)
        return
    await progress.wait_change(conn, change_id)


def _service_action(action: str, help: str, takes_names: bool):
    async def run(conn, args):
        names = required(args.names, "<service>") if takes_names else []
        await wait_or_print(conn, args, await conn.services_action(action, names))

    arguments = [arg("names", nargs="*", metavar="<service>")] if takes_names else []
    command(action, help, *arguments, NO_WAIT)(run)


_service_action("start", "Start a service and its dependencies", True)
_service_action("stop", "Stop a service and its dependents", True)
_service_action("restart", "Restart a service", True)
_service_action("replan", "Ensure running services and checks match the current plan", False)
_service_action("autostart", "Start services set to start by default", False)


def log_time(text: str) -> str:
    """Pebble's log time: milliseconds and the offset as sent (Z for UTC)."""
    then = times.parse(text)
    if then is None:
        return text
    zone = times.rfc3339(then)[19:]
    return f"{then:%Y-%m-%dT%H:%M:%S}.{then.microsecond // 1000:03d}{zone}"


@command("logs", "Fetch service logs", arg("services", nargs="*", metavar="<service>"),
         arg("-f", "--follow", action="store_true",
             help="follow (tail) logs for given services until Ctrl-C is pressed"),
         arg("-n", dest="n", default="", help="number of logs to show (before following); defaults to 30; "
                                              "'all' shows all buffered logs"),
         formats=("text", "json"))
async def _logs(conn, args):
    if args.n == "":
        n = 30
    elif args.n == "all":
        n = -1
    else:
        try:
            n = int(args.n)
        except ValueError:
            n = -1
        if n < 0 or not args.n.isdigit():
            raise CommandError(f'expected n to be a non-negative integer or "all", not "{args.n}"')
    import asyncio

    async def follow() -> None:
        async for entry in conn.logs(args.services, n, args.follow):
            if args.format == "json":
                out(go_json(entry).replace("\\u003c", "<").replace("\\u003e", ">").replace("\\u0026", "&"))
            else:
                out(f"{log_time(entry.get('time', ''))} [{entry.get('service', '')}] {entry.get('message', '')}")

    if not args.follow:
        await follow()
        return
    task = asyncio.ensure_future(follow())
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signals.SIGINT, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        pass
    finally:
        loop.remove_signal_handler(signals.SIGINT)


@command("signal", "Send a signal to one or more running services", arg("signal", nargs="?", default="",
                                                                           metavar="<SIGNAL>"),
         arg("names", nargs="*", metavar="<service>"))
async def _signal(conn, args):
    if not args.signal:
        raise CommandError("the required argument `<SIGNAL>` was not provided")
    name = args.signal
    if name.upper() != name:
        raise CommandError("signal name must be uppercase, for example HUP")
    if not name.startswith("SIG"):
        name = "SIG" + name
    await conn.send_signal(name, args.names)
