"""The plan (or one layer) as YAML: what `GET /v1/plan?format=yaml` shows
and what an API layer is persisted as."""

from __future__ import annotations

import yaml

from services.common.durations import format_duration
from services.plan.plan import log_targets
from services.plan.plan.model import Check, ExecCheck, Layer, Plan, Service


def _put(out: dict, key: str, value, show_empty: bool = False) -> None:
    if value is None or (not show_empty and value in ("", [], {})):
        return
    out[key] = value


def _duration(value: float | None) -> str | None:
    return None if value is None else format_duration(value)


def _factor(value: float | None):
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def _put_how_it_runs(out: dict, process: Service | ExecCheck) -> None:
    """The fields a service and an exec check share: environment, user, group, working-dir."""
    _put(out, "environment", dict(sorted(process.environment.items())))
    _put(out, "user-id", process.user_id)
    _put(out, "user", process.user)
    _put(out, "group-id", process.group_id)
    _put(out, "group", process.group)
    _put(out, "working-dir", process.working_dir)


def service_to_dict(service: Service) -> dict:
    out: dict = {}
    _put(out, "summary", service.summary)
    _put(out, "description", service.description)
    _put(out, "startup", service.startup)
    _put(out, "override", service.override)
    _put(out, "command", service.command)
    _put(out, "after", list(service.after))
    _put(out, "before", list(service.before))
    _put(out, "requires", list(service.requires))
    _put(out, "workload", service.workload)
    _put_how_it_runs(out, service)
    _put(out, "on-success", service.on_success)
    _put(out, "on-failure", service.on_failure)
    _put(out, "on-check-failure", dict(sorted(service.on_check_failure.items())))
    _put(out, "backoff-delay", _duration(service.backoff_delay))
    _put(out, "backoff-factor", _factor(service.backoff_factor))
    _put(out, "backoff-limit", _duration(service.backoff_limit))
    _put(out, "kill-delay", _duration(service.kill_delay))
    return out


def check_to_dict(check: Check) -> dict:
    out: dict = {}
    _put(out, "override", check.override)
    _put(out, "level", check.level)
    _put(out, "startup", check.startup)
    _put(out, "period", _duration(check.period))
    _put(out, "timeout", _duration(check.timeout))
    _put(out, "threshold", check.threshold or None)
    if check.http is not None:
        http: dict = {}
        _put(http, "url", check.http.url)
        _put(http, "headers", dict(sorted(check.http.headers.items())))
        out["http"] = http
    if check.tcp is not None:
        tcp: dict = {}
        _put(tcp, "port", check.tcp.port)
        _put(tcp, "host", check.tcp.host)
        out["tcp"] = tcp
    if check.exec is not None:
        spec = check.exec
        exec_: dict = {}
        _put(exec_, "command", spec.command)
        _put(exec_, "service-context", spec.service_context)
        _put_how_it_runs(exec_, spec)
        out["exec"] = exec_
    return out


def plan_to_dict(plan: Plan) -> dict:
    out: dict = {}
    if plan.services:
        out["services"] = {n: service_to_dict(plan.services[n]) for n in sorted(plan.services)}
    if plan.checks:
        out["checks"] = {n: check_to_dict(plan.checks[n]) for n in sorted(plan.checks)}
    if plan.log_targets:
        out["log-targets"] = {n: log_targets.to_dict(plan.log_targets[n]) for n in sorted(plan.log_targets)}
    return out


class _Dumper(yaml.SafeDumper):
    """Indents block sequences under their key, as Go's yaml does."""

    def increase_indent(self, flow: bool = False, indentless: bool = False):
        return super().increase_indent(flow, False)


def plan_to_yaml(plan: Plan) -> str:
    """The combined plan as `GET /v1/plan?format=yaml` shows it."""
    data = plan_to_dict(plan)
    if not data:
        return "{}\n"
    return yaml.dump(data, Dumper=_Dumper, indent=4, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=1 << 30)


def layer_to_yaml(layer: Layer) -> str:
    """One layer as YAML (how an API layer is persisted)."""
    data: dict = {}
    if layer.summary:
        data["summary"] = layer.summary
    if layer.description:
        data["description"] = layer.description
    plan_like = Plan(services=layer.services, checks=layer.checks, log_targets=layer.log_targets)
    data.update(plan_to_dict(plan_like))
    return yaml.safe_dump(data, sort_keys=False) if data else "{}\n"
