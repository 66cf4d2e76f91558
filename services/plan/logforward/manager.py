"""The log targets of the current plan, each with its gatherer, fed with every
line the services write (Pebble's log manager).

The daemon calls `plan_changed` whenever the plan changes and `stop` when it
stops; the log store calls `on_write` for every line a service writes.

- A target new to the plan gets a gatherer (and a client for its type); one
  gone from it is stopped in the background, sending what it held.
- For each target, every service of the plan that logs to it (`services`,
  `all`, `-name`) gets its labels — the target's, with `$VAR` expanded from
  that service's environment — and, once the service has been started, the
  target takes its lines from what its buffer holds on.
- A service's first line is when the manager learns that it was started
  (its buffer exists): the targets it logs to take its buffer from the start.
- Each target reads each service's own output buffer from its own place
  (`Cursor`); a line written only wakes the gatherers reading that service.

Two deliberate differences from Pebble v1.32.1, both of which lose or repeat
logs there: a plan change does not make targets take a running service's
buffer again from the start (Pebble sends it all again on every layer
added), and a target whose `type` or `location` changed gets a new client
(Pebble keeps sending to the old location until it restarts).
"""

from __future__ import annotations

import asyncio
import logging
import socket

from services.plan.logbuffer import LogEntry, LogStore
from services.plan.logforward import labels as label_rules
from services.plan.logforward.client import BufferedClient
from services.plan.logforward.gatherer import Gatherer
from services.plan.plan import log_targets as target_rules
from services.plan.plan.model import LogTarget, Plan
from shoal import __version__

log = logging.getLogger("shoal.plan.logforward")

USER_AGENT = f"shoal/{__version__}"


def new_client(target: LogTarget, user_agent: str = USER_AGENT, hostname: str = "") -> BufferedClient:
    """The client for `target`'s type; ValueError for a location it cannot use."""
    if target.type == target_rules.LOKI:
        from services.plan.logforward.loki import LokiClient

        return LokiClient(target.name, target.location, user_agent)
    if target.type == target_rules.OPENTELEMETRY:
        from services.plan.logforward.opentelemetry import OpenTelemetryClient

        return OpenTelemetryClient(target.name, target.location, user_agent)
    if target.type == target_rules.SYSLOG:
        from services.plan.logforward.syslog import SyslogClient

        return SyslogClient(target.location, hostname)
    raise ValueError(f'unknown type "{target.type}" for log target "{target.name}"')


class LogManager:
    def __init__(self, store: LogStore, *, new_client=new_client, gatherer_options: dict | None = None,
                 hostname: str | None = None):
        self._store = store
        self._new_client = new_client
        self._gatherer_options = gatherer_options or {}
        self._hostname = socket.gethostname() if hostname is None else hostname
        self._plan = Plan()
        self._gatherers: dict[str, Gatherer] = {}
        self._kinds: dict[str, tuple[str, str]] = {}  # target name → (type, location) of its client
        self._started: set[str] = set()  # services known to have a buffer (Pebble's ServiceStarted)
        self._readers: dict[str, list[Gatherer]] = {}  # service → the gatherers taking its lines
        self._stopping: set[asyncio.Task] = set()

    def gatherer(self, name: str) -> Gatherer | None:
        return self._gatherers.get(name)

    # -- the plan -------------------------------------------------------------------
    def plan_changed(self, plan: Plan) -> None:
        gatherers: dict[str, Gatherer] = {}
        for name in sorted(plan.log_targets):
            target = plan.log_targets[name]
            kind = (target.type, target.location)
            gatherer = self._gatherers.pop(name, None)
            if gatherer is not None and self._kinds.get(name) != kind:
                self._stop_later(gatherer)
                gatherer = None
            if gatherer is None:
                gatherer = self._new_gatherer(target)
                if gatherer is None:
                    continue
            gatherers[name] = gatherer
            self._kinds[name] = kind
            self._update(gatherer, target, plan)
        for gatherer in self._gatherers.values():
            self._stop_later(gatherer)
        self._gatherers = gatherers
        self._kinds = {name: self._kinds[name] for name in gatherers}
        self._started &= set(plan.services)
        self._plan = plan
        self._route()

    def _route(self) -> None:
        readers: dict[str, list[Gatherer]] = {}
        for gatherer in self._gatherers.values():
            for service in gatherer.services():
                readers.setdefault(service, []).append(gatherer)
        self._readers = readers

    def _new_gatherer(self, target: LogTarget) -> Gatherer | None:
        try:
            client = self._new_client(target, hostname=self._hostname)
        except ValueError as error:
            log.warning('Internal error: cannot create gatherer for target "%s": cannot create log client: %s',
                        target.name, error)
            return None
        return Gatherer(target.name, client, **self._gatherer_options)

    def _update(self, gatherer: Gatherer, target: LogTarget, plan: Plan) -> None:
        for name in gatherer.services():
            if name not in plan.services or not target_rules.logs_to(target, name):
                gatherer.remove_service(name)
        for name in sorted(plan.services):
            if not target_rules.logs_to(target, name):
                continue
            gatherer.set_labels(name, label_rules.evaluate(target.labels, plan.services[name].environment))
            buffer = self._store.get(name)
            if name in self._started and buffer is not None:
                gatherer.add_service(buffer)

    def _stop_later(self, gatherer: Gatherer) -> None:
        task = asyncio.get_running_loop().create_task(gatherer.stop(), name=f"stop-log-target:{gatherer.name}")
        self._stopping.add(task)
        task.add_done_callback(self._stopping.discard)

    # -- services' output -----------------------------------------------------------
    def on_write(self, line: LogEntry) -> None:
        """A service wrote `line` (called by the log store, for every line)."""
        try:
            if line.service not in self._started:
                self._service_started(line.service)
            for gatherer in self._readers.get(line.service, ()):
                gatherer.notify()
        except Exception:  # never let forwarding break a service's output
            log.exception("log forwarding: cannot take a line of %s", line.service)

    def _service_started(self, service: str) -> None:
        self._started.add(service)
        buffer = self._store.get(service)
        if buffer is None:
            return
        for name, gatherer in self._gatherers.items():
            if target_rules.logs_to(self._plan.log_targets[name], service):
                gatherer.add_service(buffer)
        self._route()

    # -- stopping -------------------------------------------------------------------
    async def stop(self) -> None:
        """Stop every gatherer, each sending what it holds (bounded in time)."""
        gatherers, self._gatherers = list(self._gatherers.values()), {}
        stops = [g.stop() for g in gatherers] + list(self._stopping)
        if stops:
            await asyncio.gather(*stops, return_exceptions=True)
