"""The plan (or one layer) as YAML: what `GET /v1/plan?format=yaml` shows
and what an API layer is persisted as — written as Pebble writes it
(go-yaml v3: fields in Pebble's order, map keys in go-yaml's order, strings
quoted by its rules; see yaml_emit.py)."""

from __future__ import annotations

from services.common.durations import format_duration
from services.plan.plan import log_targets
from services.plan.plan.model import Check, ExecCheck, Layer, Plan, Service
from services.plan.plan.yaml_emit import emit, go_sorted, value_node


def _put(out: dict, key: str, value, show_empty: bool = False) -> None:
    if value is None or (not show_empty and value in ("", [], {})):
        return
    out[key] = value


def _duration(value: float | None) -> str | None:
    return None if value is None else format_duration(value)


def _sorted(mapping: dict) -> dict:
    return {key: mapping[key] for key in go_sorted(mapping)}


def _put_how_it_runs(out: dict, process: Service | ExecCheck) -> None:
    """The fields a service and an exec check share: environment, user, group, working-dir."""
    _put(out, "environment", _sorted(process.environment))
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
    _put(out, "on-check-failure", _sorted(service.on_check_failure))
    _put(out, "backoff-delay", _duration(service.backoff_delay))
    _put(out, "backoff-factor", None if service.backoff_factor is None else float(service.backoff_factor))
    _put(out, "backoff-limit", _duration(service.backoff_limit))
    _put(out, "kill-delay", _duration(service.kill_delay))
    _put(out, "kind", service.kind)
    _put(out, "ready-checks", list(service.ready_checks))
    _put(out, "ready-timeout", _duration(service.ready_timeout))
    _put(out, "restart-limit", service.restart_limit)
    _put(out, "restart-window", _duration(service.restart_window))
    _put(out, "start-retries", service.start_retries)
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
        _put(http, "headers", _sorted(check.http.headers))
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
        out["services"] = {n: service_to_dict(plan.services[n]) for n in go_sorted(plan.services)}
    if plan.checks:
        out["checks"] = {n: check_to_dict(plan.checks[n]) for n in go_sorted(plan.checks)}
    if plan.log_targets:
        out["log-targets"] = {n: log_targets.to_dict(plan.log_targets[n]) for n in go_sorted(plan.log_targets)}
    return out


def plan_to_yaml(plan: Plan) -> str:
    """The combined plan as `GET /v1/plan?format=yaml` shows it."""
    return emit(value_node(plan_to_dict(plan)))[0]


def layer_to_yaml(layer: Layer) -> str:
    """One layer as YAML (how an API layer is persisted)."""
    data: dict = {}
    if layer.summary:
        data["summary"] = layer.summary
    if layer.description:
        data["description"] = layer.description
    plan_like = Plan(services=layer.services, checks=layer.checks, log_targets=layer.log_targets)
    data.update(plan_to_dict(plan_like))
    for service in data.get("services", {}).values():
        if service.get("backoff-factor") == float("inf"):
            service["backoff-factor"] = "+Inf"  # what a layer reads back (go-yaml's .inf is not a Go float)
    return emit(value_node(data))[0]
