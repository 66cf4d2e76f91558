"""The node agent: layers and the plan, supervised services, changes and
tasks, checks, notices and logs, held together. The servicer (server.py) is a
thin translation of RPCs into calls on this object."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from services.common.durations import format_duration
from services.common.errors import DomainError, Failure
from services.common.storage import StorageError
from services.common.times import format_time
from services.plan.changes.manager import NOTIFY, ChangeManager, TaskSpec
from services.plan.changes.model import Change
from services.plan.checks import CheckManager
from services.plan.childsetup import daemon_environment
from services.plan.execution import ExecFailed, ExecManager, ExecSpec, prepare
from services.plan.gating import (
    CheckView,
    DependencyError,
    Observation,
    dependencies_to_wait_for,
    wait_for_dependencies,
)
from services.plan.logforward.manager import LogManager
from services.plan.notices import CUSTOM, Notice, NoticeBook
from services.plan.plan.errors import PlanError
from services.plan.plan.order import start_order, stop_order
from services.plan.planstate import PlanState
from services.plan.store import PlanStore
from services.plan.supervisor import DONE, StartError, Supervisor

# The notice recorded when a service uses up its restart-limit: a custom notice
# under Shoal's own key prefix, so Pebble's types filter as they do in Pebble.
RESTART_LIMIT_KEY = "shoal.dev/restart-limit/"

log = logging.getLogger("shoal.plan")


def _nothing() -> None:
    pass


def _nothing_of(change: Change) -> None:
    pass


class ActionError(DomainError):
    """A refused services action; `kind` is Pebble's error kind, if any."""

    def __init__(self, message: str, kind: str = ""):
        super().__init__(message, kind=kind)


def _summary(action: str, first: str, count: int) -> str:
    text = f'{action.capitalize()} service "{first}"'
    return text + (f" and {count - 1} more" if count > 1 else "")


class PlanDaemon:
    def __init__(self, home: Path, shutdown_kill_delay: float | None = None):
        """`shutdown_kill_delay` bounds how long a service may take to go after
        SIGTERM when the node agent stops (None: its own kill-delay)."""
        self.home = home
        self.shutdown_kill_delay = shutdown_kill_delay
        self.store: PlanStore | None = None
        self.on_state_changed: Callable[[], None] = _nothing  # the read models may be stale (watch.py)
        self.on_change_modified: Callable[[Change], None] = _nothing_of  # a change was saved or removed
        self.plan_state = PlanState(home / "layers", home / "plan-layers.json")
        self.child_env = daemon_environment()  # what services and execs inherit
        self.supervisor = Supervisor(pids_file=home / "run" / "plan-processes.json", on_shutdown=self._shutdown,
                                     base_env=self.child_env, on_restart_limit=self._restart_limit_reached,
                                     on_status_change=lambda name, status: self.on_state_changed())
        self.log_forwarding = LogManager(self.supervisor.logs)  # hook: log forwarding
        self.supervisor.logs.on_write = self.log_forwarding.on_write
        self.changes = ChangeManager(
            on_change_saved=self._change_saved,
            on_status_change=self._status_changed,
            on_change_removed=self._change_removed,
        )
        self.notices = NoticeBook(on_saved=self._notice_saved, on_removed=self._notice_removed)
        self.checks = CheckManager(self.changes, on_failure=self._check_failed, base_environment=self.child_env,
                                   on_attempt=lambda: self.on_state_changed())
        # An aborted start kills its process; an aborted stop goes on (its signals are sent).
        self.changes.register("start", self._start_task, on_abort=NOTIFY)
        self.changes.register("stop", self._stop_task, on_abort=NOTIFY)
        self.changes.register("exec", self._exec_task)
        self.execs = ExecManager()
        self.exit_code: asyncio.Future | None = None
        self._notice_writes = asyncio.Lock()  # one client notice written at a time
        self._pruner: asyncio.Task | None = None

    # -- lifecycle ------------------------------------------------------------
    async def start(self) -> None:
        self.exit_code = asyncio.get_running_loop().create_future()
        self.store = await PlanStore.open(str(self.home / "plan.db"))
        counters = await self.store.counters()
        self.changes.load(
            [Change.from_dict(d) for d in await self.store.load("changes")],
            {k[len("change-"):]: v for k, v in counters.items() if k.startswith("change-")},
        )
        self.notices.load([Notice.from_dict(d) for d in await self.store.load("notices")], counters.get("notice", 0))
        await self.supervisor.reap_orphans()
        self.checks.plan_changed(self.plan)
        self.log_forwarding.plan_changed(self.plan)  # hook: log forwarding
        if any(s.enabled for s in self.plan.services.values()):
            try:
                self.services_action("autostart", [])
            except ActionError as error:
                log.warning("autostart at start-up: %s", error.message)
        self._pruner = asyncio.get_running_loop().create_task(self._prune_forever())

    async def stop_services(self) -> None:
        """The first step of stopping: changes stop running (so no task starts
        a service any more), then every service is stopped, within the bound."""
        if self._pruner is not None:
            self._pruner.cancel()
        await self.changes.close()
        await self.supervisor.stop_all(within=self.shutdown_kill_delay)

    async def stop(self) -> None:
        await self.stop_services()  # (done already when the server began stopping)
        await self.log_forwarding.stop()  # hook: log forwarding (bounded: a few seconds)
        if self.store is not None:
            await self.store.close()

    def _shutdown(self, code: int) -> None:
        log.warning("a service asked the daemon to exit with %d", code)
        if self.exit_code is not None and not self.exit_code.done():
            self.exit_code.set_result(code)

    async def _prune_forever(self) -> None:
        while True:
            await asyncio.sleep(600)
            self.changes.prune()
            self.notices.prune()

    # -- persistence hooks ----------------------------------------------------
    def _change_saved(self, change: Change) -> None:
        self.on_change_modified(change)
        self.on_state_changed()
        if self.store is not None:
            self.store.put("changes", change.id, change.to_dict())
            self.store.set_counters({f"change-{k}": v for k, v in self.changes.last_ids.items()})

    def _change_removed(self, change: Change) -> None:
        self.on_change_modified(change)
        self.on_state_changed()
        if self.store is not None:
            self.store.delete("changes", change.id)

    def _status_changed(self, change: Change, old: str, new: str) -> None:
        self.notices.add_change_update(change.id, change.kind, change.notice_data)

    def _notice_saved(self, notice: Notice) -> None:
        self.on_state_changed()
        if self.store is not None:
            self.store.put("notices", notice.id, notice.to_dict())
            self.store.set_counters({"notice": self.notices.last_id})

    def _notice_removed(self, notice: Notice) -> None:
        self.on_state_changed()
        if self.store is not None:
            self.store.delete("notices", notice.id)

    async def add_notice(self, user_id: int | None, type: str, key: str, data, repeat_after) -> Notice:
        """A client's notice, written before anyone can see it: a write that
        fails (a full disk) leaves the book and waiters as they were."""
        async with self._notice_writes:
            staged = self.notices.stage(user_id, type, key, data, repeat_after)
            if self.store is None:
                return self.notices.commit(staged)
            self.store.put("notices", staged.id, staged.to_dict())
            self.store.set_counters({"notice": self.notices.last_id})
            try:
                await self.store.flush()
            except StorageError as error:
                before = self.notices.current(staged)  # the retried batch must not write it later
                if before is None:
                    self.store.delete("notices", staged.id)
                else:
                    self.store.put("notices", before.id, before.to_dict())
                raise DomainError(f"cannot add notice: {error}", Failure.INTERNAL) from None
            return self.notices.commit(staged)

    async def flush(self) -> None:
        if self.store is not None:
            await self.store.flush()

    # -- plan -------------------------------------------------------------------
    @property
    def plan(self):
        return self.plan_state.plan

    def add_layer(self, label: str, text: str, combine: bool, inner: bool) -> None:
        self.plan_state.add_layer(label, text, combine, inner)
        self.checks.plan_changed(self.plan)
        self.log_forwarding.plan_changed(self.plan)  # hook: log forwarding

    # -- services ---------------------------------------------------------------
    def services_action(self, action: str, names: list[str]) -> Change:
        plan = self.plan
        if action in ("replan", "autostart"):
            if names:
                raise ActionError(f"{action} accepts no service names")
        elif not names:  # as Pebble: names are required before the action is known
            raise ActionError(f"must specify services for {action} action")
        elif action not in ("start", "stop", "restart"):
            raise ActionError(f'invalid action "{action}"')
        try:
            if action == "autostart":
                defaults = sorted(n for n, s in plan.services.items() if s.enabled)
                if not defaults:
                    raise ActionError("no default services", kind="no-default-services")
                lanes = start_order(plan, defaults)
                return self._create("autostart", defaults, defaults, start=lanes)
            if action == "start":
                lanes = start_order(plan, names)
                return self._create("start", names, names, start=lanes)
            if action == "stop":
                lanes = stop_order(plan, names)
                return self._create("stop", names, names, stop=lanes)
            if action == "restart":
                requested = set(names)
                stops = [[n for n in lane if n in requested] for lane in stop_order(plan, names)]
                lanes = start_order(plan, names)
                return self._create("restart", names, names, stop=[l for l in stops if l], start=lanes)
            return self._replan()
        except PlanError as error:
            raise ActionError(f"cannot {action} services: {error}") from None

    def _replan(self) -> Change:
        """As Pebble: every service ever started whose config differs from the
        plan's takes the plan's config and is stopped (with what requires it) and
        started again, and every startup-enabled service is started."""
        plan = self.plan
        changed = []
        for name in self.supervisor.known_services():
            current = plan.services.get(name)
            if current is not None and self.supervisor.config_at_start(name) != current:
                self.supervisor.set_config(current)
                changed.append(name)
        enabled = [n for n, s in plan.services.items() if s.enabled]
        to_start = sorted(set(changed) | set(enabled))
        self.checks.replan()
        stop_lanes = stop_order(plan, changed) if changed else []
        start_lanes = start_order(plan, to_start) if to_start else []
        replanned = sorted({n for lane in (*stop_lanes, *start_lanes) for n in lane})
        if not replanned:
            return self.changes.create("replan", "Replan - no services", status="Done",
                                       data={"service-names": []})
        return self._create("replan", replanned, replanned, stop=stop_lanes, start=start_lanes,
                            count=len(replanned))

    def _create(self, action: str, requested: list[str], service_names: list[str],
                start: list[list[str]] | None = None, stop: list[list[str]] | None = None,
                count: int | None = None) -> Change:
        """The change: its stops, then its starts; the summary names the first service
        requested and counts those of the last lanes (or `count`), as Pebble does."""
        stop_specs = [[TaskSpec("stop", f'Stop service "{n}"', {"service": n}) for n in lane] for lane in stop or []]
        start_specs = [[TaskSpec("start", f'Start service "{n}"', {"service": n}) for n in lane] for lane in start or []]
        if count is None:
            count = sum(len(l) for l in start or []) if start else sum(len(l) for l in stop or [])
        if not stop_specs and not start_specs:
            return self.changes.create(action, f"{action.capitalize()} - no services", status="Done",
                                       data={"service-names": service_names})
        first, then = (stop_specs, start_specs) if stop_specs else (start_specs, [])
        return self.changes.create(
            action,
            _summary(action, requested[0], count),
            first,
            then=then,
            data={"service-names": list(service_names)},
        )

    def _restart_limit_reached(self, name: str, limit: int, window: float) -> None:
        self.notices.add(None, CUSTOM, RESTART_LIMIT_KEY + name, {
            "service": name, "restart-limit": str(limit), "restart-window": format_duration(window),
        })

    def _observe(self, name: str) -> Observation:
        states = self.checks.states
        return Observation(
            state=self.supervisor.state(name),
            exit_code=self.supervisor.exit_code(name),
            checks={c: CheckView(s.status, s.successes, s.last_error) for c, s in states.items()},
        )

    async def _start_task(self, task, change) -> None:
        name = task.data["service"]
        plan = self.plan
        service = plan.services.get(name)
        if service is None:
            raise RuntimeError(f'cannot find service "{name}" in plan')
        if change.kind in ("replan", "autostart") and self.supervisor.state(name) == DONE:
            task.log_info(f'Service "{name}" is one-shot and already done.')
            return
        aborted = self.changes.aborted(task)
        dependencies = dependencies_to_wait_for(plan, name, change.data.get("service-names", []),
                                                self.supervisor.started_services())
        if dependencies:
            try:
                await wait_for_dependencies(plan, name, dependencies, self._observe,
                                            task_log=task.log_info, aborted=aborted)
            except DependencyError as error:
                raise StartError(f"cannot start service: {error.message}") from None
        try:
            started = await self.supervisor.start(service, aborted=aborted, task_log=task.log_info)
        except StartError as error:
            if error.output is not None:
                task.log_info("Most recent service output:\n" + error.output)
            raise
        if started is False:
            task.log_info(f'Service "{name}" already started.')
        elif self.supervisor.state(name) == DONE:
            task.log_info(f'Service "{name}" exited with code 0: done.')

    async def _stop_task(self, task, change) -> None:
        message = await self.supervisor.stop(task.data["service"])
        if message:
            task.log_info(message)

    # -- exec -------------------------------------------------------------------
    def exec(self, command: list[str], **options) -> tuple[Change, str, ExecSpec]:
        """Start an exec change for `command` (see execution.prepare for the
        options); its task waits for the client's websockets."""
        spec = prepare(command, plan=self.plan, base_environment=self.child_env, **options)
        summary = f'Execute command "{spec.argv[0]}"'
        change = self.changes.create("exec", summary, [[TaskSpec("exec", summary, {})]])
        task_id = change.tasks[0].id
        self.execs.add(task_id, spec)
        return change, task_id, spec

    async def _exec_task(self, task, change) -> None:
        try:
            code = await self.execs.run(task.id)
        except ExecFailed as failure:
            if failure.exit_code is not None:  # it ran (or was to): Pebble's -1
                task.set_api_data({"exit-code": failure.exit_code})
            raise
        task.set_api_data({"exit-code": code})

    async def _check_failed(self, check_name: str) -> None:
        for name, service in self.plan.services.items():
            action = service.on_check_failure.get(check_name)
            if action and action != "ignore":
                await self.supervisor.check_failed(name, action)

    def service_infos(self, names: list[str]) -> list[dict]:
        wanted = set(names)
        out = []
        for name in sorted(self.plan.services):
            if wanted and name not in wanted:
                continue
            service = self.plan.services[name]
            status = self.supervisor.status(name)
            info = {"name": name, "startup": "enabled" if service.enabled else "disabled",
                    "current": status.current}
            if status.since is not None:
                info["current-since"] = format_time(status.since, local=True)
            out.append(info)
        return out
