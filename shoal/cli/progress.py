"""Live progress for long work, drawn with rich on a terminal and written
as plain lines elsewhere.

- Changes (start, stop, restart, replan, autostart) are followed as
  Pebble's CLI follows them: polled every 100 ms, the task in progress shown
  with Pebble's spinner (its summary, then `/ - \\ |` at the right edge),
  a task's newest log line printed when it changes, Ctrl-C aborting the
  change. Without a terminal, stdout gets only those log lines (as
  Pebble's), and stderr one plain line per task status reached.
- Application streams show one line per instance that updates in place
  on a terminal; elsewhere each event is one line.
- A command's wait for its first output shows a transient spinner on a
  terminal's stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import Callable
from typing import Self

from rich.console import Console, ConsoleOptions, RenderResult
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from shoal import client

POLL = 0.1
SERVER_GONE = 5.0  # how long a vanished gateway is waited for
FRAMES = ("/", "-", "\\", "|")


def is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class PebbleSpinner:
    """Pebble's spinner line: the label left-aligned across the terminal
    width less two columns, then a space and the next spinner frame."""

    def __init__(self, label: str = ""):
        self.label = label
        self.started = time.monotonic()

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        frame = FRAMES[int((time.monotonic() - self.started) * 10) % len(FRAMES)]
        if width - 2 >= len(self.label):
            yield Text(self.label.ljust(width - 2) + " " + frame, no_wrap=True, end="")
        else:
            yield Text(self.label[: width - 1] + "…", no_wrap=True, end="")


class ChangeView:
    """What a waiting command shows of a change as it moves."""

    def __init__(self, stdout=None, stderr=None):
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.live: Live | None = None
        self.spinner = PebbleSpinner()
        self.last_log: dict[str, str] = {}
        self.seen: dict[str, str] = {}
        if is_terminal(self.stdout):
            self.console = Console(file=self.stdout, highlight=False)
            self.live = Live(self.spinner, console=self.console, refresh_per_second=10, transient=True)

    def __enter__(self) -> Self:
        if self.live is not None:
            self.live.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.live is not None:
            self.live.stop()

    def notify(self, line: str) -> None:
        if self.live is not None:
            self.console.print(Text(line), highlight=False)
        else:
            self.stdout.write(line + "\n")
            self.stdout.flush()

    def waiting_for_server(self) -> None:
        self.spinner.label = "Waiting for server to restart"

    def update(self, change: client.Change) -> None:
        for task in change.tasks:
            if task.status != "Doing":
                continue
            self.spinner.label = task.summary
            log = (task.log or [""])[-1]
            if self.last_log.get(task.id, "") != log:
                self.notify(log)
                self.last_log[task.id] = log
            break
        if self.live is None:
            for task in change.tasks:
                if self.seen.get(task.id) != task.status and task.status not in ("Do", "Wait"):
                    self.seen[task.id] = task.status
                    self.stderr.write(f"{task.summary}: {task.status}\n")
                    self.stderr.flush()


async def wait_change(api, change_id: str, view_factory: Callable[[], ChangeView] = ChangeView) -> client.Change:
    """Follow change `change_id` until it is ready, as Pebble's CLI does:
    Ctrl-C asks the daemon to abort it (and the wait goes on); a gateway
    that stops answering is waited for up to 5 s. The change's error is
    raised as a CommandError."""
    from shoal.cli.commands.base import CommandError, err

    loop = asyncio.get_running_loop()
    aborts: list[asyncio.Task] = []

    def interrupted() -> None:
        async def abort() -> None:
            try:
                await api.abort_change(change_id)
            except client.ShoalError as error:
                err(str(error))
        aborts.append(loop.create_task(abort()))

    loop.add_signal_handler(signal.SIGINT, interrupted)
    gone_since = None
    try:
        with view_factory() as view:
            while True:
                try:
                    change = await api.change(change_id)
                except client.APIError:
                    raise
                except client.ShoalError:
                    gone_since = gone_since or time.monotonic()
                    if time.monotonic() - gone_since > SERVER_GONE:
                        raise
                    view.waiting_for_server()
                    await asyncio.sleep(POLL)
                    continue
                gone_since = None
                view.update(change)
                if change.ready:
                    break
                await asyncio.sleep(POLL)
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        for task in aborts:
            with contextlib.suppress(BaseException):
                await task
    if change.status == "Done":
        return change
    if change.err:
        raise CommandError(change.err)
    raise CommandError(f'change finished in status "{change.status}" with no error message')


class StreamView:
    """An application action's stream: one line per instance."""

    def __init__(self, stdout=None, enabled: bool = True):
        self.stdout = stdout or sys.stdout
        self.enabled = enabled
        self.rows: dict[str, tuple[str, str]] = {}
        self.overall = ""
        self.live: Live | None = None
        if enabled and is_terminal(self.stdout):
            self.console = Console(file=self.stdout, highlight=False)
            self.live = Live(self._render(), console=self.console, refresh_per_second=10)

    def _render(self):
        table = Table.grid(padding=(0, 2))
        for instance, (status, message) in self.rows.items():
            table.add_row(instance, status, message)
        if self.overall:
            table.add_row("", self.overall, "")
        return table

    def __enter__(self) -> Self:
        if self.live is not None:
            self.live.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.live is not None:
            self.live.update(self._render())
            self.live.stop()

    def event(self, event: client.StreamEvent) -> None:
        if not self.enabled:
            return
        if self.live is None:
            where = f" {event.instance}" if event.instance else ""
            self.stdout.write(f"{event.status}{where}: {event.message}".rstrip(": ") + "\n")
            self.stdout.flush()
            return
        if event.instance:
            self.rows[event.instance] = (event.status, event.message)
        else:
            progress = f" ({event.item}/{event.total})" if event.total else ""
            self.overall = f"{event.status}{progress} {event.message}".strip()
        self.live.update(self._render())


class FirstOutput:
    """A transient spinner on a terminal's stderr until `done()` (the first
    output of a command, or its end)."""

    def __init__(self, label: str, enabled: bool):
        self.live = None
        if enabled and is_terminal(sys.stderr):
            self.live = Live(Spinner("line", text=label), console=Console(file=sys.stderr), transient=True,
                             refresh_per_second=10)
            self.live.start()

    def done(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None
