"""The `shoal` client commands, in Pebble's style, over the SDK.

Human tables by default, `--format json|yaml` for the API's own objects;
exit codes 0 ok, 1 error, 2 usage; errors are one line on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from shoal import client

COMMANDS: dict[str, tuple[Callable, str, list]] = {}


@dataclass
class Output:
    data: object  # what --format json/yaml prints (the API's JSON)
    headers: tuple[str, ...] = ()
    rows: list[tuple] | None = None
    text: str | None = None


def command(name: str, help: str, *arguments: tuple[tuple, dict]):
    def register(function):
        COMMANDS[name] = (function, help, list(arguments))
        return function
    return register


def arg(*names, **options) -> tuple[tuple, dict]:
    return names, options


# -- Pebble -------------------------------------------------------------------------
@command("version", "the gateway's version")
async def _version(conn, args):
    info = await conn.system_info()
    return Output(info.raw, text=f"client  {_client_version()}\nserver  {info.version}")


def _client_version() -> str:
    from shoal import __version__

    return __version__


@command("services", "list services", arg("names", nargs="*"))
async def _services(conn, args):
    services = await conn.services(args.names)
    return Output([s.raw for s in services], ("Service", "Startup", "Current", "Since"),
                  [(s.name, s.startup, s.current, s.current_since or "-") for s in services])


@command("plan", "show the plan (YAML)")
async def _plan(conn, args):
    text = await conn.plan()
    return Output(yaml.safe_load(text) or {}, text=text.rstrip())


@command("add", "add a layer", arg("label"), arg("file"), arg("--combine", action="store_true"))
async def _add(conn, args):
    await conn.add_layer(args.label, Path(args.file).read_text(), args.combine)
    return Output({"label": args.label}, text=f'Layer "{args.label}" added successfully from "{args.file}"')


def _progress(change) -> None:
    if sys.stderr.isatty():
        done = sum(t.status == "Done" for t in change.tasks)
        sys.stderr.write(f"\r{change.summary} ({done}/{len(change.tasks)}) {change.status}\x1b[K")
        sys.stderr.flush()


async def _wait(conn, change_id: str, args) -> Output:
    change = await conn.wait_change(change_id, progress=_progress)
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    return Output(change.raw, text=f"{change.summary}: {change.status}")


for _action in ("start", "stop", "restart", "replan", "autostart"):
    def _make(action):
        async def run(conn, args):
            return await _wait(conn, await conn.services_action(action, args.names), args)
        return run
    command(_action, f"{_action} services", arg("names", nargs="*"))(_make(_action))


@command("changes", "list changes", arg("service", nargs="?", default=""),
         arg("--select", default="all", choices=["all", "in-progress", "ready"]))
async def _changes(conn, args):
    changes = await conn.changes(args.select, args.service)
    return Output([c.raw for c in changes], ("ID", "Status", "Spawn", "Ready", "Summary"),
                  [(c.id, c.status, c.raw.get("spawn-time", ""), c.raw.get("ready-time", "-"), c.summary)
                   for c in changes])


@command("tasks", "list a change's tasks", arg("change"))
async def _tasks(conn, args):
    change = await conn.change(args.change)
    return Output(change.raw, ("Status", "Spawn", "Ready", "Summary"),
                  [(t.status, t.raw.get("spawn-time", ""), t.raw.get("ready-time", "-"), t.summary)
                   for t in change.tasks])


@command("logs", "show service logs", arg("services", nargs="*"), arg("-f", "--follow", action="store_true"),
         arg("-n", type=int, default=30))
async def _logs(conn, args):
    entries = []
    async for entry in conn.logs(args.services, args.n, args.follow):
        if args.format == "text":
            print(f"{entry['time']} [{entry['service']}] {entry['message']}", flush=True)
        entries.append(entry)
    return Output(entries, text="") if args.format != "text" else None


@command("checks", "list health checks", arg("names", nargs="*"), arg("--level", default=""))
async def _checks(conn, args):
    checks = await conn.checks(args.level, args.names)
    return Output([c.raw for c in checks], ("Check", "Level", "Status", "Failures", "Change"),
                  [(c.name, c.level or "-", c.status, f"{c.failures}/{c.threshold}", c.change_id or "-")
                   for c in checks])


for _action in ("start", "stop"):
    def _make_checks(action):
        async def run(conn, args):
            changed = await conn.checks_action(action, args.names)
            return Output({"changed": changed}, text=f"Checks {action}ed: {', '.join(changed) or 'none'}")
        return run
    command(f"{_action}-checks", f"{_action} health checks", arg("names", nargs="+"))(_make_checks(_action))


@command("health", "whether checks are healthy", arg("--level", default=""))
async def _health(conn, args):
    healthy = await conn.health(args.level)
    return Output({"healthy": healthy}, text="healthy" if healthy else "unhealthy")


@command("notices", "list notices", arg("--type", dest="types", action="append"), arg("--key", dest="keys",
                                                                                       action="append"))
async def _notices(conn, args):
    notices = await conn.notices(args.types, args.keys)
    return Output([n.raw for n in notices], ("ID", "Type", "Key", "Last", "Occurrences"),
                  [(n.id, n.type, n.key, n.last_occurred, n.occurrences) for n in notices])


@command("notify", "record a custom notice", arg("key"), arg("data", nargs="*", help="key=value"))
async def _notify(conn, args):
    data = dict(item.split("=", 1) for item in args.data) if args.data else None
    notice_id = await conn.notify(args.key, data)
    return Output({"id": notice_id}, text=f"Recorded notice {notice_id}")


@command("identities", "list identities")
async def _identities(conn, args):
    identities = await conn.identities()
    return Output({i.name: {k: v for k, v in i.raw.items() if k != "name"} for i in identities},
                  ("Name", "Access", "Types"),
                  [(i.name, i.access, ",".join(t for t in ("local", "basic", "cert") if i.raw.get(t)))
                   for i in identities])


for _action in ("add", "update", "replace", "remove"):
    def _make_identities(action):
        async def run(conn, args):
            document = yaml.safe_load(Path(args.source).read_text()) or {}
            identities = document.get("identities", document)
            await conn.identities_action(action, identities)
            return Output({"action": action, "identities": sorted(identities)},
                          text=f"{action.capitalize()}d {len(identities)} identit{'y' if len(identities) == 1 else 'ies'}")
        return run
    command(f"{_action}-identities", f"{_action} identities from a YAML/JSON file",
            arg("--from", dest="source", required=True))(_make_identities(_action))


# -- tokens, users, audit -------------------------------------------------------------
@command("tokens", "API tokens: list, create NAME [--scope S], revoke ID, rotate ID",
         arg("action", nargs="?", default="list", choices=["list", "create", "revoke", "rotate"]),
         arg("target", nargs="?", default=""), arg("--scope", dest="scopes", action="append"),
         arg("--expires-in", default=""))
async def _tokens(conn, args):
    if args.action == "list":
        tokens = await conn.tokens()
        return Output([t.raw for t in tokens], ("ID", "Name", "Scopes", "Token", "Last used"),
                      [(t.id, t.name, ",".join(t.scopes or []), f"{t.prefix}…{t.suffix}", t.last_used_at or "-")
                       for t in tokens])
    if not args.target:
        raise UsageError(f"tokens {args.action} needs a {'name' if args.action == 'create' else 'token id'}")
    if args.action == "revoke":
        await conn.revoke_token(args.target)
        return Output({"id": args.target, "revoked": True}, text=f"Revoked {args.target}")
    if args.action == "create":
        raw, record = await conn.create_token(args.target, args.scopes, args.expires_in)
    else:
        raw, record = await conn.rotate_token(args.target)
    return Output({"token": raw, "record": record.raw},
                  text=f"{record.id}\n{raw}\n(shown once: keep it now)")


@command("users", "Lighthouse users: list, show EMAIL, create EMAIL PASSWORD",
         arg("action", nargs="?", default="list", choices=["list", "show", "create"]),
         arg("email", nargs="?", default=""), arg("password", nargs="?", default=""))
async def _users(conn, args):
    if args.action == "list":
        emails = await conn.users()
        return Output(emails, ("Email",), [(e,) for e in emails])
    if not args.email:
        raise UsageError(f"users {args.action} needs an email")
    if args.action == "create":
        await conn.create_user(args.email, args.password or _password())
        return Output({"Email": args.email}, text=f"Created {args.email}")
    user = await conn.user(args.email)
    return Output(user.raw, ("Email", "AuthLevel", "Beacons", "Applications"),
                  [(user.email, user.auth_level, json.dumps((user.permissions or {}).get("Beacons", {})),
                    json.dumps((user.permissions or {}).get("Applications", {})))])


def _password() -> str:
    if os.environ.get("SHOAL_PASSWORD"):
        return os.environ["SHOAL_PASSWORD"]
    import getpass

    return getpass.getpass("Password: ")


@command("login", "log in with a session (a basic identity's name, or --lighthouse EMAIL)",
         arg("username"), arg("--lighthouse", action="store_true"))
async def _login(conn, args):
    provider = client.SessionLogin(args.username, _password(), args.lighthouse)
    await provider.login(conn)
    return Output({"username": args.username, "logged_in": True}, text=f"Logged in as {args.username}")


@command("audit", "the signed audit log", arg("--limit", type=int, default=50), arg("--event", default=""),
         arg("--by", dest="audit_user", default="", help="only events of this user"))
async def _audit(conn, args):
    events = await conn.audit(args.limit, args.event, args.audit_user)
    return Output([e.raw for e in events], ("Time", "Event", "User", "IP", "OK", "Details"),
                  [(e.timestamp, e.event, e.user or "-", e.ip or "-", "yes" if e.success else "no", e.details)
                   for e in events])


# -- Lighthouse ------------------------------------------------------------------------
@command("beacons", "beacons: list, create ADDRESS ALIAS, instances BEACON, token BEACON, refresh BEACON",
         arg("action", nargs="?", default="list", choices=["list", "create", "instances", "token", "refresh"]),
         arg("target", nargs="?", default=""), arg("alias", nargs="?", default=""),
         arg("--beacon-token", default=""), arg("--refresh", action="store_true"))
async def _beacons(conn, args):
    if args.action == "list":
        beacons = await conn.beacons()
        return Output([b.raw for b in beacons], ("Alias", "Address"), [(b.alias, b.address) for b in beacons])
    if not args.target:
        raise UsageError(f"beacons {args.action} needs a beacon")
    if args.action == "create":
        await conn.create_beacon(args.target, args.beacon_token, args.alias)
        return Output({"Address": args.target, "Alias": args.alias}, text=f"Beacon {args.alias} added")
    if args.action == "instances":
        instances = await conn.beacon_instances(args.target, args.refresh)
        return Output([i.raw for i in instances], ("Alias", "Name", "Address", "Reachable"),
                      [(i.alias, i.name, i.instance_address, "yes" if i.can_access else "no") for i in instances])
    if args.action == "token":
        await conn.set_beacon_token(args.target, args.beacon_token)
        return Output({"Beacon": args.target}, text="Token updated")
    await conn.refresh_beacon(args.target)
    return Output({"Beacon": args.target}, text="Refreshed")


@command("alias", "set the alias of an address", arg("address"), arg("alias"))
async def _alias(conn, args):
    await conn.set_alias(args.address, args.alias)
    return Output({"Address": args.address, "Alias": args.alias}, text=f"{args.address} is {args.alias}")


@command("apps", "applications: list, deployments APP, create APP --command FILE --instance I…, "
                 "start APP, stop APP, update APP [--command FILE] [--add I] [--remove I], revert APP",
         arg("action", nargs="?", default="list",
             choices=["list", "deployments", "create", "start", "stop", "update", "revert"]),
         arg("app", nargs="?", default=""), arg("--command", dest="command_file", default=""),
         arg("--instance", dest="instances", action="append", default=[]),
         arg("--add", action="append", default=[]), arg("--remove", action="append", default=[]),
         arg("--start", action="store_true"), arg("--restart", action="store_true"),
         arg("--target", type=int, default=None))
async def _apps(conn, args):
    if args.action == "list":
        apps = await conn.applications()
        return Output([a.raw for a in apps], ("ID", "Name", "Deployment", "Instances"),
                      [(a.id, a.name, a.current_deployment, ",".join(a.instances or [])) for a in apps])
    if not args.app:
        raise UsageError(f"apps {args.action} needs an application")
    if args.action == "deployments":
        deployments = await conn.deployments(args.app)
        return Output([d.raw for d in deployments], ("ID", "Version", "Creator", "Date"),
                      [(d.id, d.version, d.creator, d.date) for d in deployments])
    command_doc = yaml.safe_load(Path(args.command_file).read_text()) if args.command_file else None
    params, body = {}, None
    if args.action == "create":
        body = {"Name": args.app, "Command": command_doc, "Instances": args.instances}
        params = {"start": args.start}
        stream = conn.app_action("create", body=body, **params)
    elif args.action == "update":
        body = {k: v for k, v in (("Command", command_doc), ("Add", args.add), ("Remove", args.remove)) if v}
        stream = conn.app_action("update", args.app, body, restart=args.restart)
    elif args.action == "revert":
        stream = conn.app_action("revert", args.app, **({"target": args.target} if args.target is not None else {}))
    else:
        stream = conn.app_action(args.action, args.app)
    events = []
    async for event in stream:
        events.append(event)
        if args.format == "text":
            where = f" {event.instance}" if event.instance else ""
            print(f"{event.status}{where}: {event.message}".rstrip(": "), flush=True)
    failed = [e for e in events if e.status == "Error"]
    if failed:
        raise client.ShoalError(f"{len(failed)} instance(s) failed: {failed[0].instance}: {failed[0].message}")
    return Output([e.raw for e in events], text="") if args.format != "text" else None


class UsageError(Exception):
    pass


# -- running ---------------------------------------------------------------------------
def add_client_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("connecting")
    group.add_argument("--socket", action="append", default=[], help="gateway unix socket (default $SHOAL_HOME/.shoal.socket)")
    group.add_argument("--url", action="append", default=[], help="gateway http(s) URL (several: raced)")
    group.add_argument("--cacert", default="", help="PEM file trusted for https URLs")
    group.add_argument("--token", default=os.environ.get("SHOAL_TOKEN", ""), help="API token ($SHOAL_TOKEN)")
    group.add_argument("--user", default="", help="NAME:PASSWORD of a basic identity")
    group.add_argument("--format", default="text", choices=["text", "json", "yaml"])


def add_commands(sub) -> None:
    for name, (function, help, arguments) in COMMANDS.items():
        p = sub.add_parser(name, help=help)
        for names, options in arguments:
            p.add_argument(*names, **options)
        add_client_options(p)
        p.set_defaults(func=run_client_command, client_command=function)


def _info_and_login(args) -> tuple[client.Info, client.LoginProvider]:
    from services.common.config import default_home

    home = Path(args.home) if getattr(args, "home", None) else default_home()
    addresses = [*args.socket, *args.url] or [str(home / ".shoal.socket")]
    cacert = Path(args.cacert).read_text() if args.cacert else ""
    info = client.Info(addresses, ca_cert=cacert)
    if args.token:
        return info, client.TokenLogin(args.token)
    if args.user:
        name, _, password = args.user.partition(":")
        return info, client.BasicLogin(name, password or _password())
    return info, client.LoginProvider()  # the socket's peer credentials, or nothing


def _print(output: Output, fmt: str) -> None:
    if fmt == "json":
        print(json.dumps(output.data, indent=2, sort_keys=True))
    elif fmt == "yaml":
        print(yaml.safe_dump(output.data, sort_keys=True).rstrip())
    elif output.rows is not None:
        rows = [tuple(str(c) for c in row) for row in output.rows]
        if not rows:
            print("(none)")
            return
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(output.headers)]
        for row in [output.headers, *rows]:
            print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    elif output.text:
        print(output.text)


def run_client_command(args) -> int:
    async def go():
        info, login = _info_and_login(args)
        conn = await client.open(info, client.DialOpts(dial_timeout=10, timeout=30), login)
        try:
            return await args.client_command(conn, args)
        finally:
            await conn.close()

    try:
        output = asyncio.run(go())
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (client.ShoalError, OSError, ValueError, yaml.YAMLError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    if output is not None:
        _print(output, args.format)
    return 0
