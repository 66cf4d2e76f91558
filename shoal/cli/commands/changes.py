"""Changes and their tasks: changes, tasks."""

from __future__ import annotations

from shoal.cli import times
from shoal.cli.commands.base import (
    FORMATS,
    PROGRAM,
    CommandError,
    Exit,
    arg,
    command,
    err,
    out,
    print_formatted,
    print_table,
    when,
)

LOG_RULE = "." * 70


def _spawned(change) -> float:
    then = times.parse(change.spawn_time)
    return then.timestamp() if then else 0.0


@command("changes", "List system changes", arg("service", nargs="?", default="", metavar="<service>"),
         arg("--select", default="all", choices=["all", "in-progress", "ready"],
             help="which changes (Shoal's addition; Pebble lists all)"),
         formats=FORMATS, abs_time=True)
async def _changes(conn, args):
    if args.service.isdigit():
        raise CommandError(f"'{PROGRAM} changes' command expects a service name, "
                           f"try '{PROGRAM} tasks {args.service}'")
    if args.service == "everything":
        out("Yes, yes it does.")
        return
    changes = sorted(await conn.changes(args.select, args.service), key=_spawned)
    if args.format != "text":
        print_formatted({"changes": [c.raw for c in changes]}, args.format)
        return
    if not changes:
        err("no changes found")
        return
    print_table([("ID", "Status", "Spawn", "Ready", "Summary"),
                 *((c.id, c.status, when(args, c.spawn_time), when(args, c.ready_time), c.summary)
                   for c in changes)])
    out()


async def _change_id(conn, args) -> str:
    if not args.change and not args.last:
        raise CommandError("please provide change ID or type with --last=<type>")
    if args.change:
        if args.last:
            raise CommandError("cannot use change ID and type together")
        return args.change
    kind, optional = args.last, args.last.endswith("?")
    kind = kind.rstrip("?") if optional else kind
    changes = await conn.changes("all")
    matching = [c for c in changes if c.kind == kind]
    if not matching:
        if optional:
            raise Exit(0)
        raise CommandError("no changes found" if not changes else f'no changes of type "{args.last}" found')
    return max(matching, key=_spawned).id


@command("tasks", "List a change's tasks", arg("change", nargs="?", default="", metavar="<change-id>"),
         arg("--last", default="", help="select the last change of the given type (a trailing ? means no "
                                        "error when there is none)"),
         formats=FORMATS, abs_time=True)
async def _tasks(conn, args):
    change = await conn.change(await _change_id(conn, args))
    if args.format != "text":
        print_formatted(change.raw, args.format)
        return
    rows = [("Status", "Spawn", "Ready", "Summary")]
    for task in change.tasks:
        summary = task.summary
        total = (task.progress or {}).get("total", 0)
        if task.status == "Doing" and total > 1:
            summary = f"{summary} ({(task.progress or {}).get('done', 0) / total * 100:.2f}%)"
        rows.append((task.status, when(args, task.spawn_time), when(args, task.ready_time), summary))
    print_table(rows)
    for task in change.tasks:
        if not task.log:
            continue
        out()
        out(LOG_RULE)
        out(task.summary)
        out()
        for line in task.log:
            out(line)
    out()
