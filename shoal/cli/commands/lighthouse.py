"""Lighthouse beacons and applications: beacons, alias, apps."""

from __future__ import annotations

from pathlib import Path

import yaml

from shoal import client
from shoal.cli.commands.base import FORMATS, UsageError, arg, command, show
from shoal.cli.progress import StreamView


@command("beacons", "beacons: list, create ADDRESS ALIAS, instances BEACON, token BEACON, refresh BEACON",
         arg("action", nargs="?", default="list", choices=["list", "create", "instances", "token", "refresh"]),
         arg("target", nargs="?", default=""), arg("alias", nargs="?", default=""),
         arg("--beacon-token", default=""), arg("--refresh", action="store_true"), formats=FORMATS, pebble=False)
async def _beacons(conn, args):
    if args.action == "list":
        beacons = await conn.beacons()
        show(args, [b.raw for b in beacons], [("Alias", "Address"), *((b.alias, b.address) for b in beacons)])
        return
    if not args.target:
        raise UsageError(f"beacons {args.action} needs a beacon")
    if args.action == "create":
        await conn.create_beacon(args.target, args.beacon_token, args.alias)
        show(args, {"Address": args.target, "Alias": args.alias}, text=f"Beacon {args.alias} added")
    elif args.action == "instances":
        instances = await conn.beacon_instances(args.target, args.refresh)
        show(args, [i.raw for i in instances], [("Alias", "Name", "Address", "Reachable"),
             *((i.alias, i.name, i.instance_address, "yes" if i.can_access else "no") for i in instances)])
    elif args.action == "token":
        await conn.set_beacon_token(args.target, args.beacon_token)
        show(args, {"Beacon": args.target}, text="Token updated")
    else:
        await conn.refresh_beacon(args.target)
        show(args, {"Beacon": args.target}, text="Refreshed")


@command("alias", "set the alias of an address", arg("address"), arg("alias"), formats=FORMATS, pebble=False)
async def _alias(conn, args):
    await conn.set_alias(args.address, args.alias)
    show(args, {"Address": args.address, "Alias": args.alias}, text=f"{args.address} is {args.alias}")


@command("apps", "applications: list, deployments APP, create APP --command FILE --instance I…, "
                 "start APP, stop APP, update APP [--command FILE] [--add I] [--remove I], revert APP, status APP; "
                 "create/update/revert take --strategy rolling [--batch N | --max-unavailable N] [--deadline D]",
         arg("action", nargs="?", default="list",
             choices=["list", "deployments", "status", "create", "start", "stop", "update", "revert"]),
         arg("app", nargs="?", default=""), arg("--command", dest="command_file", default=""),
         arg("--instance", dest="instances", action="append", default=[]),
         arg("--add", action="append", default=[]), arg("--remove", action="append", default=[]),
         arg("--start", action="store_true"), arg("--restart", action="store_true"),
         arg("--target", type=int, default=None),
         arg("--strategy", choices=["all", "rolling"], default=""), arg("--batch", type=int, default=None),
         arg("--max-unavailable", type=int, default=None), arg("--deadline", default=""),
         formats=FORMATS, pebble=False)
async def _apps(conn, args):
    if args.action == "list":
        apps = await conn.applications()
        show(args, [a.raw for a in apps], [("ID", "Name", "Deployment", "Instances"),
             *((a.id, a.name, a.current_deployment, ",".join(a.instances or [])) for a in apps)])
        return
    if not args.app:
        raise UsageError(f"apps {args.action} needs an application")
    if args.action == "deployments":
        deployments = await conn.deployments(args.app)
        show(args, [d.raw for d in deployments], [("ID", "Version", "Creator", "Date", "Outcome"),
             *((d.id, d.version, d.creator, d.date, d.outcome or "-") for d in deployments)])
        return
    if args.action == "status":
        fleet = await conn.app_status(args.app)
        show(args, [i.raw for i in fleet], [("Instance", "State", "Current", "Deployment", "Checks"),
             *((i.instance, i.state if i.state == "ok" else f"{i.state}: {i.message}", i.current or "-",
                i.deployment if i.deployment >= 0 else "-",
                ",".join(f"{c['Name']}={c['Status']}" for c in i.checks or []) or "-") for i in fleet)])
        return
    strategy = _strategy(args)
    command_doc = yaml.safe_load(Path(args.command_file).read_text()) if args.command_file else None
    if args.action == "create":
        body = {"Name": args.app, "Command": command_doc, "Instances": args.instances}
        stream = conn.app_action("create", body=body, start=args.start, **strategy)
    elif args.action == "update":
        body = {k: v for k, v in (("Command", command_doc), ("Add", args.add), ("Remove", args.remove)) if v}
        stream = conn.app_action("update", args.app, body, restart=args.restart, **strategy)
    elif args.action == "revert":
        target = {"target": args.target} if args.target is not None else {}
        stream = conn.app_action("revert", args.app, **target, **strategy)
    else:
        stream = conn.app_action(args.action, args.app)
    events = []
    with StreamView(enabled=args.format == "text") as view:
        async for event in stream:
            events.append(event)
            view.event(event)
    if args.format != "text":
        show(args, [e.raw for e in events])
    failed = [e for e in events if e.status == "Error"]
    if failed:
        raise client.ShoalError(f"{len(failed)} instance(s) failed: {failed[0].instance}: {failed[0].message}")


def _strategy(args) -> dict:
    """The strategy's query parameters, as given (the service checks them)."""
    given = {"strategy": args.strategy, "batch": args.batch, "maxUnavailable": args.max_unavailable,
             "deadline": args.deadline}
    return {k: v for k, v in given.items() if v not in ("", None)}
