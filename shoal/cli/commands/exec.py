"""exec: run a command on the remote system and wait for it, as Pebble's
CLI does. Local stdin goes to the command, its stdout and stderr come back
(combined when ours are the same file); with a terminal (-t, the default
when stdout is one) the local terminal is put in raw mode, resizes are
sent on SIGWINCH, and SIGINT, SIGTERM, SIGQUIT, SIGABRT, SIGTSTP, SIGTTIN,
SIGTTOU, SIGUSR1, SIGUSR2 and SIGCONT are forwarded to the command over the
control websocket; SIGHUP is forwarded and ends the wait (exit code 0, as
ssh). The exit code is the command's."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import termios
import threading
import tty
from collections.abc import AsyncIterator

from shoal.cli.commands.base import CommandError, Exit, arg, command
from shoal.cli.progress import FirstOutput

FORWARDED = ("SIGTERM", "SIGINT", "SIGQUIT", "SIGABRT", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGUSR1", "SIGUSR2",
             "SIGCONT")
READ_SIZE = 32 * 1024


def read_fd(fd: int) -> AsyncIterator[bytes]:
    """What arrives on `fd`, read by a daemon thread (a terminal's read
    never blocks the command's end or the process's exit)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes] = asyncio.Queue()

    def reader() -> None:
        while True:
            try:
                chunk = os.read(fd, READ_SIZE)
            except OSError:
                chunk = b""
            loop.call_soon_threadsafe(queue.put_nowait, chunk)
            if not chunk:
                return

    threading.Thread(target=reader, name="shoal-exec-stdin", daemon=True).start()

    async def chunks() -> AsyncIterator[bytes]:
        while chunk := await queue.get():
            yield chunk

    return chunks()


def write_fd(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def same_file(a: int, b: int) -> bool:
    try:
        return os.readlink(f"/proc/self/fd/{a}") == os.readlink(f"/proc/self/fd/{b}")
    except OSError:
        return False


def terminal_size() -> tuple[int, int]:
    size = os.get_terminal_size(1)
    return size.columns, size.lines


@command("exec", "Execute a remote command and wait for it to finish",
         arg("-w", dest="working_dir", default="", help="working directory to run command in"),
         arg("--env", action="append", default=[], help="environment variable to set (in 'FOO=bar' format)"),
         arg("--uid", dest="user_id", type=int, default=None, help="user ID to run command as"),
         arg("--user", default="", help="username to run command as (user's UID must match uid if both present)"),
         arg("--gid", dest="group_id", type=int, default=None, help="group ID to run command as"),
         arg("--group", default="",
             help="group name to run command as (group's GID must match gid if both present)"),
         arg("--timeout", default="", help="timeout after which to terminate command"),
         arg("--context", default="",
             help="inherit the context of the named service (overridden by -w, --env, --uid/user, --gid/group)"),
         arg("-t", dest="terminal", action="store_true",
             help="allocate remote pseudo-terminal and connect stdout to it (default if stdout is a TTY)"),
         arg("-T", dest="no_terminal", action="store_true", help="disable remote pseudo-terminal allocation"),
         arg("-i", dest="interactive", action="store_true",
             help="interactive mode: connect stdin to the pseudo-terminal (default if stdin and stdout are TTYs)"),
         arg("-I", dest="non_interactive", action="store_true",
             help="disable interactive mode and use a pipe for stdin"),
         arg("command", nargs=argparse.REMAINDER, metavar="<command>",
             help="the command and its arguments (options may be separated from it by --)"),
         description="Run a remote command and wait for it to finish: local stdin is its input, its stdout "
                     "and stderr are output locally. Separate exec's options from the command with --, "
                     "for example: shoal exec --timeout 10s -- echo -n foo bar")
async def _exec(conn, args):
    if args.terminal and args.no_terminal:
        raise CommandError("cannot use -t and -T at the same time")
    if args.interactive and args.non_interactive:
        raise CommandError("cannot use -i and -I at the same time")
    argv = list(args.command)
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        raise CommandError("the required argument `<command>` was not provided")
    environment = {"TERM": os.environ["TERM"]} if "TERM" in os.environ else {}
    for item in args.env:
        key, _, value = item.partition("=")
        environment[key] = value
    timeout = 0.0
    if args.timeout:
        from services.common.durations import parse_duration

        try:
            timeout = parse_duration(args.timeout)
        except ValueError as error:
            raise CommandError(str(error)) from None
    stdout_tty, stdin_tty = os.isatty(1), os.isatty(0)
    terminal = True if args.terminal else False if args.no_terminal else stdout_tty
    interactive = True if args.interactive else False if args.non_interactive else stdin_tty and stdout_tty
    width, height = terminal_size() if stdout_tty else (0, 0)
    split = not same_file(1, 2)

    waiting = FirstOutput(f'Running "{argv[0]}"', enabled=not terminal)

    def output(fd: int):
        def write(data: bytes) -> None:
            waiting.done()
            write_fd(fd, data)
        return write

    saved = None
    if terminal and stdin_tty:
        try:
            saved = termios.tcgetattr(0)
            tty.setraw(0)
        except termios.error as error:
            raise CommandError(f"cannot change terminal to raw mode: {error}") from None
    loop = asyncio.get_running_loop()
    hangup = asyncio.Event()
    handled: list[int] = []
    try:
        process = await conn.exec(
            argv, stdin=read_fd(0), stdout=output(1), stderr=output(2) if split else None, split_stderr=split,
            timeout=timeout, service_context=args.context, environment=environment, working_dir=args.working_dir,
            user_id=args.user_id, user=args.user, group_id=args.group_id, group=args.group, terminal=terminal,
            interactive=interactive, width=width, height=height)
        sending: set[asyncio.Task] = set()

        def send(coroutine) -> None:
            task = loop.create_task(coroutine)
            sending.add(task)
            task.add_done_callback(sending.discard)

        def forward(name: str) -> None:
            send(_quietly(process.send_signal(name)))

        def resize() -> None:
            if terminal and stdout_tty:
                send(_quietly(process.send_resize(*terminal_size())))

        def hung_up() -> None:
            async def go() -> None:
                await _quietly(process.send_signal("SIGHUP"))
                hangup.set()
            send(go())

        for name in FORWARDED:
            number = getattr(signal, name)
            loop.add_signal_handler(number, forward, name)
            handled.append(number)
        loop.add_signal_handler(signal.SIGWINCH, resize)
        loop.add_signal_handler(signal.SIGHUP, hung_up)
        handled += [signal.SIGWINCH, signal.SIGHUP]

        waiter = asyncio.ensure_future(process.wait())
        hup = asyncio.ensure_future(hangup.wait())
        try:
            await asyncio.wait({waiter, hup}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiting.done()
        if not waiter.done():
            waiter.cancel()
            with contextlib.suppress(BaseException):
                await waiter
            await process.close()
            sys.stderr.write("SIGHUP received, exiting\r\n")
            sys.stderr.flush()
            return 0
        hup.cancel()
        code = waiter.result()
    finally:
        waiting.done()
        for number in handled:
            loop.remove_signal_handler(number)
        if saved is not None:
            termios.tcsetattr(0, termios.TCSADRAIN, saved)
    if code:
        raise Exit(code)
    return 0


async def _quietly(coroutine) -> None:
    with contextlib.suppress(Exception):
        await coroutine
