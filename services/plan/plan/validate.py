"""The rules for one layer on its own (spec §3.4) and for the combined plan
(spec §3.5), with Pebble's messages."""

from __future__ import annotations

import math

from services.common.durations import format_duration
from services.common.gojson import go_quote
from services.plan.plan import log_targets
from services.plan.plan.commands import parse_command, split
from services.plan.plan.errors import LayerError, PlanError
from services.plan.plan.model import LONG_RUNNING, ONE_SHOT, Layer, Plan, Service
from services.plan.plan.order import check_order
from services.plan.plan.owners import normalize_uid_gid
from services.plan.plan.yaml_emit import float_text

ACTIONS = ("", "restart", "shutdown", "ignore")
ID_RANGE = (0, (1 << 32) - 1)
PORT_RANGE = (1, 65535)
KINDS = ("", LONG_RUNNING, ONE_SHOT)
RESTART_LIMIT_RANGE = (0, 1_000_000)
START_RETRIES_RANGE = (0, 100)


def _not_negative(owner: str, field: str, value, rule: str = "must be 0s or greater") -> None:
    """Stricter than Pebble, which takes a negative duration here (a restart
    loop with no delay, or a crash of its check ticker)."""
    if value is not None and value < 0:
        raise LayerError(f"{owner} {field} {rule}, not {format_duration(value)}")


def _in_range(owner: str, field: str, value: int | None, bounds: tuple[int, int]) -> None:
    """Stricter than Pebble, which takes any integer and fails later."""
    if value is not None and not bounds[0] <= value <= bounds[1]:
        raise LayerError(f"{owner} {field} must be between {bounds[0]} and {bounds[1]}, not {value}")


def _check_ranges(name: str, check) -> None:
    owner = f'plan check "{name}"'
    _not_negative(owner, "period", check.period, "must be greater than zero")
    _not_negative(owner, "timeout", check.timeout, "must be greater than zero")
    if check.tcp is not None and check.tcp.port:
        _in_range(owner, "tcp port", check.tcp.port, PORT_RANGE)
    if check.exec is not None:
        _in_range(owner, "user-id", check.exec.user_id, ID_RANGE)
        _in_range(owner, "group-id", check.exec.group_id, ID_RANGE)


def validate_layer(layer: Layer) -> None:
    """Rules that hold for each layer on its own (spec §3.4)."""
    if layer.label.startswith("pebble-"):
        raise LayerError('cannot use reserved label prefix "pebble-"')
    for name in sorted(layer.services):
        service = layer.services[name]
        if name == "":
            raise LayerError("cannot use empty string as service name")
        if name == "pebble":
            raise LayerError(f'cannot use reserved service name "{name}"')
        if name.startswith("-"):
            raise LayerError(f'cannot use service name "{name}": starting with "-" not allowed')
        if service is None:
            raise LayerError(f'service object cannot be null for service "{name}"')
        try:
            parse_command(service.command)
        except ValueError as error:
            raise LayerError(
                f'plan service "{name}" command invalid: cannot parse service "{name}" command: {error}'
            ) from None
        if service.on_success not in ACTIONS + ("failure-shutdown",):
            raise LayerError(f'plan service "{name}" on-success action "{service.on_success}" invalid')
        if service.on_failure not in ACTIONS + ("success-shutdown",):
            raise LayerError(f'plan service "{name}" on-failure action "{service.on_failure}" invalid')
        for action in service.on_check_failure.values():
            if action not in ACTIONS + ("success-shutdown",):
                raise LayerError(f'plan service "{name}" on-check-failure action "{action}" invalid')
        factor = service.backoff_factor
        if factor is not None and (factor < 1 or math.isnan(factor)):  # NaN: stricter than Pebble
            raise LayerError(f'plan service "{name}" backoff-factor must be 1.0 or greater, not {_go_float(factor)}')
        owner = f'plan service "{name}"'
        for field in ("backoff-delay", "backoff-limit", "kill-delay"):
            _not_negative(owner, field, getattr(service, field.replace("-", "_")))
        _in_range(owner, "user-id", service.user_id, ID_RANGE)
        _in_range(owner, "group-id", service.group_id, ID_RANGE)
        _validate_supervision(owner, service)
    for name in sorted(layer.checks):
        check = layer.checks[name]
        if name == "":
            raise LayerError("cannot use empty string as check name")
        if check is None:
            raise LayerError(f'check object cannot be null for check "{name}"')
        if check.level not in ("", "alive", "ready"):
            raise LayerError(f'plan check "{name}" level must be "alive" or "ready"')
        if check.startup not in ("", "enabled", "disabled"):
            raise LayerError(f'plan check "{name}" startup must be "enabled" or "disabled"')
        if check.period == 0:
            raise LayerError(f'plan check "{name}" period must not be zero')
        if check.timeout == 0:
            raise LayerError(f'plan check "{name}" timeout must not be zero')
        if check.exec is not None:
            try:
                split(check.exec.command)
            except ValueError as error:
                raise LayerError(f'plan check "{name}" command invalid: {error}') from None
            spec = check.exec
            try:
                normalize_uid_gid(spec.user_id, spec.group_id, spec.user, spec.group)
            except ValueError as error:
                raise LayerError(f'plan check "{name}" has invalid user/group: {error}') from None
        _check_ranges(name, check)
    log_targets.validate_layer(layer)


def _validate_supervision(owner: str, service: Service) -> None:
    """Shoal's own service fields, on their own (README "Supervision beyond Pebble")."""
    if service.kind not in KINDS:
        raise LayerError(f'{owner} kind must be "{LONG_RUNNING}" or "{ONE_SHOT}", not {go_quote(service.kind)}')
    for field in ("ready-timeout", "restart-window"):
        value = getattr(service, field.replace("-", "_"))
        if value is not None and value <= 0:
            raise LayerError(f"{owner} {field} must be greater than zero, not {format_duration(value)}")
    _in_range(owner, "restart-limit", service.restart_limit, RESTART_LIMIT_RANGE)
    _in_range(owner, "start-retries", service.start_retries, START_RETRIES_RANGE)
    for check in service.ready_checks:
        if not check:
            raise LayerError(f"{owner} ready-checks cannot name an empty check")


def _validate_supervision_plan(plan: Plan) -> None:
    """Shoal's own service fields in the combined plan: what they name exists
    and they make sense together."""
    for name in sorted(plan.services):
        service = plan.services[name]
        owner = f'plan service "{name}"'
        if service.ready_checks and service.one_shot:
            raise PlanError(f"{owner} is one-shot: its dependents wait for it to exit with 0, "
                            "it cannot have ready-checks")
        for check_name in service.ready_checks:
            check = plan.checks.get(check_name)
            if check is None:
                raise PlanError(f'{owner} ready-checks names non-existent check "{check_name}"')
            if check.level != "ready":
                raise PlanError(f'{owner} ready-checks names check "{check_name}", '
                                'which is not level "ready"')
        if service.ready_timeout is not None and not service.gates_dependents:
            raise PlanError(f"{owner} ready-timeout needs ready-checks or kind {ONE_SHOT}")
        if service.restart_window is not None and service.restart_limit is None:
            raise PlanError(f"{owner} restart-window needs restart-limit")


def _go_float(value: float) -> str:
    """Go's %g."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return float_text(value)


def validate_plan(plan: Plan) -> None:
    """Rules for the combined plan (spec §3.5); PlanError."""
    for name in sorted(plan.services):
        if not plan.services[name].command:
            raise PlanError(f'plan must define "command" for service "{name}"')
    for name in sorted(plan.checks):
        check = plan.checks[name]
        kinds = 0
        if check.http is not None:
            if not check.http.url:
                raise PlanError(f'plan must set "url" for http check "{name}"')
            kinds += 1
        if check.tcp is not None:
            if not check.tcp.port:
                raise PlanError(f'plan must set "port" for tcp check "{name}"')
            kinds += 1
        if check.exec is not None:
            if not check.exec.command:
                raise PlanError(f'plan must set "command" for exec check "{name}"')
            context = check.exec.service_context
            if context and context not in plan.services:
                raise PlanError(
                    f'plan check "{name}" service context specifies non-existent service "{context}"'
                )
            kinds += 1
        if kinds != 1:
            raise PlanError(f'plan must specify one of "http", "tcp", or "exec" for check "{name}"')
    log_targets.validate_plan(plan)
    _validate_supervision_plan(plan)
    check_order(plan)
    for name in sorted(plan.services):
        workload = plan.services[name].workload
        if workload:  # Shoal has no workloads section, so none is defined (Pebble's are immutable too)
            raise PlanError(f"workload {go_quote(workload)}: not defined for service {go_quote(name)}")
