"""Identities: identities, identity, add-identities, update-identities,
replace-identities, remove-identities."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from shoal.cli import goyaml
from shoal.cli.commands.base import (
    FORMATS,
    CommandError,
    arg,
    command,
    err,
    num_items,
    out,
    print_formatted,
    print_table,
)


def _types(raw: dict) -> str:
    types = sorted(kind for kind in ("local", "basic", "cert") if raw.get(kind) is not None)
    return ",".join(types or ["unknown"])


@command("identities", "List identities", formats=FORMATS)
async def _identities(conn, args):
    identities = await conn.identities()
    raws = {i.name: {k: v for k, v in i.raw.items() if k != "name"} for i in identities}
    if args.format != "text":
        print_formatted({"identities": raws}, args.format)
        return
    if not identities:
        err("No identities.")
        return
    print_table([("Name", "Access", "Types"), *((name, raw.get("access", ""), _types(raw))
                                                for name, raw in sorted(raws.items()))])


@command("identity", "Show a single identity", arg("name", metavar="<name>"), formats=FORMATS)
async def _identity(conn, args):
    for identity in await conn.identities():
        if identity.name == args.name:
            raw = {k: v for k, v in identity.raw.items() if k != "name"}
            if args.format == "text":
                sys.stdout.write(goyaml.dump(raw))
            else:
                print_formatted(raw, args.format)
            return
    raise CommandError(f'cannot find identity "{args.name}"')


def read_identities(path: str) -> dict:
    try:
        document = yaml.safe_load(Path(path).read_text()) or {}
    except yaml.YAMLError as error:
        raise CommandError(f"cannot unmarshal identities: {error}") from None
    identities = document.get("identities", document) if isinstance(document, dict) else None
    if not isinstance(identities, dict) or not identities:
        raise CommandError('no identities to add; did you forget the top-level "identities" key?')
    return identities


FROM = arg("--from", dest="source", required=True, help="path of YAML file to read identities from (required)")


@command("add-identities", "Add new identities", FROM)
async def _add(conn, args):
    identities = read_identities(args.source)
    await conn.identities_action("add", identities)
    out(f"Added {num_items(len(identities), 'new identity', 'new identities')}.")


@command("update-identities", "Update or replace identities", FROM,
         arg("--replace", action="store_true", help="replace (add or update) identities; remove null identities"))
async def _update(conn, args):
    identities = read_identities(args.source)
    action = "replace" if args.replace else "update"
    await conn.identities_action(action, identities)
    out(f"{action.capitalize()}d {num_items(len(identities), 'identity', 'identities')}.")


@command("replace-identities", "Add, update or remove identities (update-identities --replace)", FROM)
async def _replace(conn, args):
    identities = read_identities(args.source)
    await conn.identities_action("replace", identities)
    out(f"Replaced {num_items(len(identities), 'identity', 'identities')}.")


@command("remove-identities", "Remove identities", FROM)
async def _remove(conn, args):
    identities = read_identities(args.source)
    for name, value in identities.items():
        if value is not None:
            raise CommandError(f'identity value for "{name}" must be null for remove operation')
    await conn.identities_action("remove", identities)
    out(f"Removed {num_items(len(identities), 'identity', 'identities')}.")
