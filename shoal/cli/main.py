"""The `shoal` command: run the suite or one of its processes, or act as a client."""

from __future__ import annotations

import argparse
import os
import sys

# gRPC's fork handlers run in every child the plan service forks for a
# service while other threads are inside gRPC, and the child can die before
# exec ("exited quickly with code -1"). Shoal never forks a gRPC user, so
# they are off for every process started from here (before grpc is imported).
if "GRPC_ENABLE_FORK_SUPPORT" not in os.environ:
    os.environ["GRPC_ENABLE_FORK_SUPPORT"] = "false"
    # Named so that the node agent leaves it out of what its services and execs
    # inherit (services.plan.childsetup.daemon_environment).
    os.environ["SHOAL_LAUNCHER_ENV"] = "GRPC_ENABLE_FORK_SUPPORT"


def _event_loop() -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is a dependency
        pass


def _settings(args):
    from dataclasses import replace

    from services.common.config import load_settings

    settings = load_settings(
        home=getattr(args, "home", None),
        http_address=getattr(args, "http", None) or None,
        https_address=getattr(args, "https", None) or None,
        log_format=getattr(args, "log_format", None) or None,
    )
    metrics = getattr(args, "metrics_listen", "")
    if metrics:
        settings = replace(settings, metrics_addresses={**settings.metrics_addresses, args.name: metrics})
    return settings


def _exit_now() -> None:
    """End a service or gateway that has stopped cleanly (its RPCs finished,
    its store closed, its last line logged) without the interpreter's
    teardown: gRPC's threads and objects take a few hundred milliseconds to
    unwind, and nothing is left to save."""
    import logging

    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def cmd_run(args) -> int:
    from shoal.cli.suite import run_suite

    return run_suite(_settings(args), args)


def keep_metrics_only_if_read(settings, name: str) -> None:
    """A service whose metrics nobody can read keeps none (services.common.metrics);
    called before any of its modules defines its metrics."""
    from services.common import metrics

    if not metrics.readable(settings.metrics_address(name)):
        metrics.keep_none()


def cmd_service(args) -> int:
    import asyncio

    settings = _settings(args)
    keep_metrics_only_if_read(settings, args.name)

    from services.common import telemetry
    from services.common.errors import EXIT_STARTUP, StartupError
    from services.registry import run_service

    telemetry.setup(args.name, settings.log_level, settings.log_format)
    _event_loop()
    try:
        asyncio.run(run_service(args.name, settings, args))
    except StartupError as error:
        print(f"shoal {args.name}: cannot start: {error}", file=sys.stderr, flush=True)
        return EXIT_STARTUP
    _exit_now()
    return 0


def cmd_gateway(args) -> int:
    import asyncio

    from gateway.main import run_gateway
    from services.common import telemetry

    settings = _settings(args)
    telemetry.setup("gateway", settings.log_level, settings.log_format)
    _event_loop()
    asyncio.run(run_gateway(settings, args.http, args.https, args.tls_cert, args.tls_key,
                            listen_fds=args.listen_fds))
    _exit_now()
    return 0


def cmd_recovery_token(args) -> int:
    from shoal.cli.recovery import cmd_recovery_token as run

    return run(args, _settings(args))


MAX_GATEWAY_WORKERS = 64


def gateway_workers(value: str) -> int:
    """--gateway-workers: a number from 1 to MAX_GATEWAY_WORKERS, or auto (the cores this process may use)."""
    if value == "auto":
        return max(1, min(len(os.sched_getaffinity(0)), MAX_GATEWAY_WORKERS))
    if not value.isdigit() or not 1 <= int(value) <= MAX_GATEWAY_WORKERS:
        raise argparse.ArgumentTypeError(f"must be auto or a number from 1 to {MAX_GATEWAY_WORKERS}, not {value!r}")
    return int(value)


# The commands that run Shoal's own processes. Each loads only what it runs:
# its parser leaves out the client commands (and so the SDK, aiohttp, rich).
DAEMON_COMMANDS = ("run", "service", "gateway", "recovery-token")


def build_parser(client_commands: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shoal", description="Shoal: a control plane for running services.")
    parser.add_argument("--home", help="state directory (default $SHOAL_HOME or ~/.shoal)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def listeners(p):
        p.add_argument("--http", default="", metavar="ADDR", help="also listen on plain HTTP (open routes and metrics only)")
        p.add_argument("--https", default="", metavar="ADDR", help="also listen on HTTPS")
        p.add_argument("--tls-cert", default="", help="certificate for --https (default: self-signed in $SHOAL_HOME/tls)")
        p.add_argument("--tls-key", default="", help="key for --tls-cert")
        log_format(p)

    def log_format(p):
        p.add_argument("--log-format", choices=["text", "json"], default=None,
                       help="log lines as text (the default, or $SHOAL_LOG_FORMAT) or one JSON object each, "
                            "with the request id the gateway and the services share")

    run = sub.add_parser("run", help="run the whole suite on this machine")
    listeners(run)
    run.add_argument("--gateway-workers", default="1", type=gateway_workers, metavar="N",
                     help="gateway processes sharing the listeners: a number, or auto (one per core); default 1")
    run.set_defaults(func=cmd_run)

    service = sub.add_parser("service", help="run one service (as Kubernetes does)")
    service.add_argument("name", choices=["identity", "plan", "beacon", "application"])
    service.add_argument("--listen", default="", metavar="ADDR", help="gRPC listen address (default $SHOAL_LISTEN or a unix socket in $SHOAL_HOME/run)")
    service.add_argument("--beacon-token", default="", help="plan: the token that lets a beacon registry reach this agent")
    service.add_argument("--metrics-listen", default="", metavar="ADDR",
                         help="answer Prometheus's GET /metrics on ADDR (HOST:PORT or unix:PATH; "
                              "default $SHOAL_<NAME>_METRICS_ADDR, else nowhere)")
    log_format(service)
    service.set_defaults(func=cmd_service)

    gateway = sub.add_parser("gateway", help="run the HTTP gateway")
    listeners(gateway)
    gateway.add_argument("--listen-fds", default="", help=argparse.SUPPRESS)  # from `shoal run`: unix=FD,http=FD,...
    gateway.set_defaults(func=cmd_gateway)

    recovery = sub.add_parser("recovery-token",
                              help="write a one-time recovery token (clears lockouts) to $SHOAL_HOME/recovery-token")
    recovery.add_argument("--minutes", type=int, default=15, help="how long it stays valid, 1 to 60 (default 15)")
    recovery.set_defaults(func=cmd_recovery_token)

    if client_commands:
        from shoal.cli.commands.base import add_commands

        add_commands(sub)
    return parser


def command_word(argv: list[str]) -> str:
    """The command `argv` names (the first word that is neither an option nor
    the value of --home), or ""."""
    words = iter(argv)
    for word in words:
        if word == "--home":
            next(words, None)
        elif not word.startswith("-"):
            return word
    return ""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(client_commands=command_word(argv) not in DAEMON_COMMANDS)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
