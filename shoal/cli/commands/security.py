"""Shoal's own security commands: tokens, users, login, audit."""

from __future__ import annotations

import json

from shoal import client
from shoal.cli.commands.base import FORMATS, UsageError, arg, command, password, show


@command("tokens", "API tokens: list, create NAME [--scope S], revoke ID, rotate ID",
         arg("action", nargs="?", default="list", choices=["list", "create", "revoke", "rotate"]),
         arg("target", nargs="?", default=""), arg("--scope", dest="scopes", action="append"),
         arg("--expires-in", default=""), formats=FORMATS, pebble=False)
async def _tokens(conn, args):
    if args.action == "list":
        tokens = await conn.tokens()
        show(args, [t.raw for t in tokens], [("ID", "Name", "Scopes", "Token", "Last used"),
             *((t.id, t.name, ",".join(t.scopes or []), f"{t.prefix}…{t.suffix}", t.last_used_at or "-")
               for t in tokens)])
        return
    if not args.target:
        raise UsageError(f"tokens {args.action} needs a {'name' if args.action == 'create' else 'token id'}")
    if args.action == "revoke":
        await conn.revoke_token(args.target)
        show(args, {"id": args.target, "revoked": True}, text=f"Revoked {args.target}")
        return
    if args.action == "create":
        raw, record = await conn.create_token(args.target, args.scopes, args.expires_in)
    else:
        raw, record = await conn.rotate_token(args.target)
    show(args, {"token": raw, "record": record.raw}, text=f"{record.id}\n{raw}\n(shown once: keep it now)")


@command("users", "Lighthouse users: list, show EMAIL, create EMAIL PASSWORD",
         arg("action", nargs="?", default="list", choices=["list", "show", "create"]),
         arg("email", nargs="?", default=""), arg("password", nargs="?", default=""), formats=FORMATS, pebble=False)
async def _users(conn, args):
    if args.action == "list":
        emails = await conn.users()
        show(args, emails, [("Email",), *((e,) for e in emails)])
        return
    if not args.email:
        raise UsageError(f"users {args.action} needs an email")
    if args.action == "create":
        await conn.create_user(args.email, args.password or password())
        show(args, {"Email": args.email}, text=f"Created {args.email}")
        return
    user = await conn.user(args.email)
    permissions = user.permissions or {}
    show(args, user.raw, [("Email", "AuthLevel", "Beacons", "Applications"),
                          (user.email, user.auth_level, json.dumps(permissions.get("Beacons", {})),
                           json.dumps(permissions.get("Applications", {})))])


@command("login", "log in with a session (a basic identity's name, or --lighthouse EMAIL)",
         arg("username"), arg("--lighthouse", action="store_true"), formats=FORMATS, pebble=False)
async def _login(conn, args):
    provider = client.SessionLogin(args.username, password(), args.lighthouse)
    await provider.login(conn)
    show(args, {"username": args.username, "logged_in": True}, text=f"Logged in as {args.username}")


@command("audit", "the signed audit log", arg("--limit", type=int, default=50), arg("--event", default=""),
         arg("--by", dest="audit_user", default="", help="only events of this user"), formats=FORMATS,
         pebble=False)
async def _audit(conn, args):
    events = await conn.audit(args.limit, args.event, args.audit_user)
    show(args, [e.raw for e in events], [("Time", "Event", "User", "IP", "OK", "Details"),
         *((e.timestamp, e.event, e.user or "-", e.ip or "-", "yes" if e.success else "no", e.details)
           for e in events)])
