"""The plan service's gRPC servicer: thin, converting messages and calling
the node agent (daemon.py)."""

from __future__ import annotations

import re
from pathlib import Path

import grpc
from google.protobuf import json_format

from services.common import errors
from services.common.config import Settings
from services.common.durations import parse_duration
from services.common.interceptor import current_caller
from services.common.server import serve
from services.plan import beacon_agent, files
from services.plan.daemon import PlanDaemon
from services.plan.exec_rpc import ExecRPC
from services.plan.files_rpc import FilesRPC
from services.plan.metrics import metrics_text
from services.plan.notices import NoticeFilter, validate_add
from services.plan.plan.dump import plan_to_yaml
from services.plan.watch import ReadModels, stamp_revisions
from shoal import __version__
from shoal.v1 import plan_pb2, plan_pb2_grpc

_GO_INT = re.compile(r"[+-]?[0-9]+")


def boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _duration(text: str, what: str = "timeout") -> float | None:
    if not text:
        return None
    try:
        return parse_duration(text)
    except ValueError as error:
        raise errors.invalid(f"invalid {what}: {error}") from None


class PlanServicer(FilesRPC, ExecRPC, plan_pb2_grpc.PlanServicer):
    def __init__(self, settings: Settings, daemon: PlanDaemon):
        self.settings = settings
        self.daemon = daemon
        self._boot_id = boot_id()
        self._changes: dict[str, plan_pb2.Change] = {}  # each change's message, until it is saved again
        self._notices_whole = None  # (versions, every notice's message, the messages by version)
        self.read_models = ReadModels(self, listed=self._view_requests, whole=self._view_whole)
        daemon.on_state_changed = self.read_models.mark
        daemon.on_change_modified = self._change_modified
        stamp_revisions(self, self.read_models)

    async def GetSystemInfo(self, request, context):
        info = plan_pb2.SystemInfo(boot_id=self._boot_id, version=__version__)
        if self.settings.http_address:
            info.http_address = self.settings.http_address
        if self.settings.https_address:
            info.https_address = self.settings.https_address
        return info

    async def GetHealth(self, request, context):
        return plan_pb2.Health(healthy=self.daemon.checks.healthy(request.level, list(request.names)))

    async def GetMetrics(self, request, context):
        sup = self.daemon.supervisor
        services = [(n, sup.status(n).current == "active", sup.start_count(n)) for n in sup.started_services()]
        checks = [(n, s.status, s.success_total, s.failure_total) for n, s in self.daemon.checks.metrics()]
        return plan_pb2.Metrics(text=metrics_text(services, checks))

    # -- changes ----------------------------------------------------------------
    def _change(self, change) -> plan_pb2.Change:
        message = self._changes.get(change.id)
        if message is None:
            message = self._changes[change.id] = json_format.ParseDict(change.to_api(), plan_pb2.Change())
        return message

    def _change_modified(self, change) -> None:
        self._changes.pop(change.id, None)

    def _view_requests(self, method) -> list:
        """The GetChange requests the views hold: one per change."""
        if method.name == "GetChange":
            return [plan_pb2.GetChangeRequest(id=c.id) for c in self.daemon.changes.list_changes("all")]
        return []

    def _view_whole(self, method):
        """The entry of a filtered view: every unexpired notice, in order
        (each notice's message made again only after it occurred again)."""
        if method.name != "ListNotices":
            raise ValueError(f"no filtered view of {method.name}")
        notices = self.daemon.notices.query(NoticeFilter(all_users=True))
        versions = tuple((n.id, n.occurrences, n.last_occurred, n.expire_after) for n in notices)
        if self._notices_whole is None or self._notices_whole[0] != versions:
            kept = {} if self._notices_whole is None else self._notices_whole[2]
            messages = {}
            for n, version in zip(notices, versions, strict=True):
                held = kept.get(version)
                messages[version] = held if held is not None else json_format.ParseDict(n.to_api(), plan_pb2.Notice())
            whole = plan_pb2.ListNoticesResponse(notices=list(messages.values()))
            self._notices_whole = (versions, whole, messages)
        return self._notices_whole[1]

    async def ListChanges(self, request, context):
        select = request.select or "in-progress"
        if select not in ("all", "in-progress", "ready"):
            raise errors.invalid("select should be one of: all,in-progress,ready")
        changes = self.daemon.changes.list_changes(select, getattr(request, "for"))
        return plan_pb2.ListChangesResponse(changes=[self._change(c) for c in changes])

    async def GetChange(self, request, context):
        return self._change(self.daemon.changes.get(request.id))

    async def AbortChange(self, request, context):
        self.daemon.changes.get(request.id)
        if request.action != "abort":
            raise errors.invalid(f'invalid action "{request.action}"')
        answer = self._change(self.daemon.changes.abort(request.id))  # as aborted, before handlers react
        await self.daemon.flush()
        return answer

    async def WaitChange(self, request, context):
        self.daemon.changes.get(request.id)
        timeout = _duration(request.timeout)
        change = await self.daemon.changes.wait(request.id, timeout or None)
        return self._change(change)

    # -- services ---------------------------------------------------------------
    async def ListServices(self, request, context):
        infos = self.daemon.service_infos(list(request.names))
        return json_format.ParseDict({"services": infos}, plan_pb2.ListServicesResponse())

    async def ServicesAction(self, request, context):
        change = self.daemon.services_action(request.action, list(request.services))
        await self.daemon.flush()
        return plan_pb2.AsyncChange(change=change.id)

    # -- plan and layers --------------------------------------------------------
    async def GetPlan(self, request, context):
        if request.format != "yaml":
            raise errors.invalid(f'invalid format "{request.format}"')
        return plan_pb2.PlanYAML(yaml=plan_to_yaml(self.daemon.plan))

    async def AddLayer(self, request, context):
        if request.action != "add":
            raise errors.invalid(f'invalid action "{request.action}"')
        if not request.label:
            raise errors.invalid("label must be set")
        if request.format != "yaml":
            raise errors.invalid(f'invalid format "{request.format}"')
        self.daemon.add_layer(request.label, request.layer, request.combine, request.inner)
        return plan_pb2.Done(ok=True)

    # -- checks -----------------------------------------------------------------
    async def ListChecks(self, request, context):
        infos = self.daemon.checks.infos(request.level, list(request.names))
        return json_format.ParseDict({"checks": infos}, plan_pb2.ListChecksResponse())

    async def ChecksAction(self, request, context):
        changed = self.daemon.checks.action(request.action, list(request.checks))
        await self.daemon.flush()
        return plan_pb2.ChecksActionResponse(changed=changed)

    async def RefreshCheck(self, request, context):
        info, failure = await self.daemon.checks.refresh(request.name)
        response = plan_pb2.RefreshCheckResponse(info=json_format.ParseDict(info, plan_pb2.CheckInfo()))
        if failure:
            response.error = failure
        return response

    # -- notices ----------------------------------------------------------------
    @staticmethod
    def _uid_caller(what: str):
        caller = current_caller()
        if caller.uid is None:
            raise errors.denied(f"cannot determine UID of request, so cannot {what}")
        return caller

    async def ListNotices(self, request, context):
        caller = self._uid_caller("retrieve notices")
        filters = NoticeFilter.of_request(request, caller.uid, caller.at_least("admin"))
        if filters.nothing:  # only unknown types asked for: nothing, at once
            return plan_pb2.ListNoticesResponse()
        timeout = _duration(request.timeout)
        if timeout:
            notices = await self.daemon.notices.wait(filters, timeout)
        else:
            notices = self.daemon.notices.query(filters)
        return self._notices_answer(notices)

    @staticmethod
    def _notices_answer(notices) -> plan_pb2.ListNoticesResponse:
        return json_format.ParseDict({"notices": [n.to_api() for n in notices]}, plan_pb2.ListNoticesResponse())

    async def AddNotice(self, request, context):
        caller = self._uid_caller("create notice")
        data = json_format.MessageToDict(request.data) if request.HasField("data") else None
        validated = validate_add(request.action, request.type, request.key, request.repeat_after, data)
        notice = await self.daemon.add_notice(caller.uid, validated.type, validated.key, validated.data,
                                              validated.repeat_after)
        return plan_pb2.AddNoticeResponse(id=notice.id)

    async def GetNotice(self, request, context):
        caller = self._uid_caller("retrieve notice")
        notice = self.daemon.notices.get(request.id, caller.uid, caller.at_least("admin"))
        return json_format.ParseDict(notice.to_api(), plan_pb2.Notice())

    # -- logs -------------------------------------------------------------------
    async def GetLogs(self, request, context):
        if request.follow not in ("", "true", "false"):  # checked first, as Pebble does
            raise errors.invalid('follow parameter must be "true" or "false"')
        if request.n == "":
            n = 0 if request.follow == "true" else 30
        else:
            n = int(request.n) if _GO_INT.fullmatch(request.n) else -2  # Go's strconv.Atoi
            if n < -1:
                raise errors.invalid("n must be -1, 0, or a positive integer")
        names = list(request.services) or sorted(self.daemon.plan.services)
        logs = self.daemon.supervisor.logs
        for entry in logs.last(names, n):
            yield plan_pb2.LogEntry(time=entry.time_text, service=entry.service, message=entry.message)
        if request.follow == "true":
            async for entry in logs.follow(names):
                yield plan_pb2.LogEntry(time=entry.time_text, service=entry.service, message=entry.message)

    # -- the gateway's views ----------------------------------------------------
    async def Watch(self, request, context):
        async for update in self.read_models.watch():
            yield update

    # -- as a beacon ------------------------------------------------------------
    agent_address = ""  # the address this agent listens on (set by run)

    async def ListAgentInstances(self, request, context):
        live = self.daemon.exit_code is None or not self.daemon.exit_code.done()
        return plan_pb2.ListAgentInstancesResponse(instances=[plan_pb2.AgentInstance(
            name=beacon_agent.agent_name(), address=beacon_agent.reported_address(self.agent_address),
            version=__version__, can_access=live,
        )])


async def run(settings: Settings, args) -> None:
    files.temporaries_for(settings.home).clean()  # what a crash mid-upload left behind
    # Whoever stopped us gives us settings.grace before SIGKILL (shoal run does):
    # services get half of it after SIGTERM, so none outlives the plan service.
    daemon = PlanDaemon(settings.home, shutdown_kill_delay=settings.grace / 2)
    address = getattr(args, "listen", "") or None
    token, generated = beacon_agent.load_token(settings.home, getattr(args, "beacon_token", "") or "")
    if generated:
        beacon_agent.announce(generated, settings.home)

    async def register(server: grpc.aio.Server):
        await daemon.start()
        servicer = PlanServicer(settings, daemon)
        servicer.agent_address = address or ""
        plan_pb2_grpc.add_PlanServicer_to_server(servicer, server)
        return daemon.stop

    await serve("plan", settings, register, address=address, authenticators=(beacon_agent.authenticator(token),),
                stopping=daemon.stop_services)
