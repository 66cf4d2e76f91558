"""version, and shell completion generated from this same parser."""

from __future__ import annotations

import sys

from shoal import client
from shoal.cli.commands.base import FORMATS, arg, command, print_formatted, print_table


def client_version() -> str:
    from shoal import __version__

    return __version__


@command("version", "Show version details",
         arg("--client", dest="client_only", action="store_true", help="only display the client version"),
         formats=FORMATS)
async def _version(conn, args):
    if args.client_only:
        if args.format == "text":
            print(client_version())
        else:
            print_formatted({"client": client_version()}, args.format)
        return
    try:
        server, failure = (await conn.system_info()).version, None
    except client.ShoalError as error:
        server, failure = "-" if args.format == "text" else "", error
    if args.format == "text":
        print_table([("client", client_version()), ("server", server)])
    else:
        print_formatted({"client": client_version(), **({"server": server} if server else {})}, args.format)
    if failure is not None:
        raise failure


@command("completion", "Print a shell completion script (bash or zsh)",
         arg("shell", choices=["bash", "zsh"], help="the shell: source the script from its startup file"),
         connect=False, pebble=False,
         description="Print a completion script for bash or zsh, made from the same parser the commands use. "
                     "bash: shoal completion bash > /etc/bash_completion.d/shoal; "
                     "zsh: shoal completion zsh > \"${fpath[1]}/_shoal\"")
async def _completion(conn, args):
    import shtab

    from shoal.cli.main import build_parser

    sys.stdout.write(shtab.complete(build_parser(), shell=args.shell))
    sys.stdout.flush()
