"""Health checks: checks, check, start-checks, stop-checks, health."""

from __future__ import annotations

from shoal import client
from shoal.cli import goyaml
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
)
from shoal.cli.commands.services import required

MAX_ERROR = 70
# Pebble's CheckInfo, field by field (its JSON and YAML keep this order).
CHECK_FIELDS = ("name", "level", "startup", "status", "successes", "failures", "threshold", "change-id",
                "prev-change-id")


def pebble_check(raw: dict) -> dict:
    ordered = {key: raw[key] for key in CHECK_FIELDS if key in raw}
    return {**ordered, **{k: v for k, v in raw.items() if k not in ordered}}
LEVEL = arg("--level", default="", choices=["", "alive", "ready"], help="check level to filter for")


async def _last_log(conn, change_id: str) -> str:
    change = await conn.change(change_id)
    if not change.tasks or not change.tasks[0].log:
        return ""
    last = change.tasks[0].log[-1]
    fields = last.split(" ", 2)
    if len(fields) > 2:
        last = fields[2]
    return last.replace("\n", "\\n")


async def _change_info(conn, check: client.Check) -> str:
    if not check.change_id:
        return "-"
    if not check.failures:
        return check.change_id
    log_change = check.change_id
    try:
        log = await _last_log(conn, log_change)
        if not log and check.prev_change_id:
            log_change = check.prev_change_id
            log = await _last_log(conn, log_change)
    except client.ShoalError as error:
        return f"{check.change_id} ({error})"
    if not log:
        return check.change_id
    if len(log) > MAX_ERROR:
        more = f'... run "{PROGRAM} tasks {log_change}" for more'
        log = log[: MAX_ERROR - len(more)] + more
    return f"{check.change_id} ({log})"


@command("checks", "Query the status of configured health checks", arg("names", nargs="*", metavar="<check>"),
         LEVEL, formats=FORMATS)
async def _checks(conn, args):
    checks = await conn.checks(args.level, args.names)
    if args.format != "text":
        print_formatted({"checks": {c.name: pebble_check(c.raw) for c in sorted(checks, key=lambda c: c.name)}}, args.format)
        return
    if not checks:
        err("No matching health checks." if args.names or args.level else "Plan has no health checks.")
        return
    rows = [("Check", "Level", "Startup", "Status", "Successes", "Failures", "Change")]
    for check in checks:
        inactive = check.status == "inactive"
        failures = "-" if inactive else f"{check.failures}/{check.threshold}"
        successes = "?" if "successes" not in check.raw else "-" if inactive else str(check.successes)
        rows.append((check.name, check.level or "-", check.startup, check.status, successes, failures,
                     await _change_info(conn, check)))
    print_table(rows)


async def _task_logs(conn, change_id: str) -> str:
    change = await conn.change(change_id)
    if not change.tasks or not change.tasks[0].log:
        return ""
    return "".join(line + "\n" for line in change.tasks[0].log)


@command("check", "Query the details of a configured health check", arg("name", metavar="<check>"),
         arg("--refresh", action="store_true", help="run the check immediately"), formats=FORMATS)
async def _check(conn, args):
    if args.refresh:
        result = await conn.refresh_check(args.name)
        info = pebble_check(result.get("info") or {})
        if result.get("error"):
            info["error"] = result["error"]
    else:
        checks = await conn.checks("", [args.name])
        if not checks:
            raise CommandError(f'cannot find check "{args.name}"')
        info = pebble_check(checks[0].raw)
    if (info.get("failures") or info.get("error")) and info.get("change-id"):
        for change_id in (info["change-id"], info.get("prev-change-id")):
            if not change_id:
                continue
            try:
                logs = await _task_logs(conn, change_id)
            except client.ShoalError as error:
                raise CommandError(f"cannot get task logs for change {change_id}: {error}") from None
            if logs:
                info["logs"] = logs
                break
    if args.format == "text":
        import sys

        sys.stdout.write(goyaml.dump(info))
        return
    print_formatted(info, args.format)


def _checks_action(action: str, help: str):
    async def run(conn, args):
        changed = await conn.checks_action(action, required(args.names, "<check>"))
        done = {"start": "started", "stop": "stopped"}[action]
        out(f"Checks {done}: {', '.join(changed)}" if changed else f"Checks already {done}.")
    command(f"{action}-checks", help, arg("names", nargs="*", metavar="<check>"))(run)


_checks_action("start", "Start one or more checks")
_checks_action("stop", "Stop one or more checks")


@command("health", "Query health of checks", arg("names", nargs="*", metavar="<check>"), LEVEL, formats=FORMATS)
async def _health(conn, args):
    healthy = await conn.health(args.level, args.names)
    if args.format != "text":
        print_formatted({"healthy": healthy}, args.format)
        return
    out("healthy" if healthy else "unhealthy")
    if not healthy:
        raise Exit(1)
