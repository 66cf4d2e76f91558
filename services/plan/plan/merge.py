"""Layers merged in order with the override rules, into the combined plan."""

from __future__ import annotations

import copy
from collections.abc import Iterable

from services.plan.plan import log_targets
from services.plan.plan.errors import PlanError
from services.plan.plan.model import (
    DEFAULT_CHECK_THRESHOLD,
    Check,
    ExecCheck,
    HTTPCheck,
    Layer,
    Plan,
    Service,
    TCPCheck,
)
from services.plan.plan.validate import validate_plan


def _merge_service(old: Service, new: Service) -> None:
    for attribute in ("summary", "description", "startup", "command", "user", "group",
                      "working_dir", "workload", "on_success", "on_failure", "kind"):
        if getattr(new, attribute):
            setattr(old, attribute, getattr(new, attribute))
    for attribute in ("user_id", "group_id", "backoff_delay", "backoff_factor", "backoff_limit", "kill_delay",
                      "ready_timeout", "restart_limit", "restart_window", "start_retries"):
        if getattr(new, attribute) is not None:
            setattr(old, attribute, getattr(new, attribute))
    old.after = old.after + new.after
    old.before = old.before + new.before
    old.requires = old.requires + new.requires
    old.ready_checks = old.ready_checks + new.ready_checks
    old.environment = {**old.environment, **new.environment}
    old.on_check_failure = {**old.on_check_failure, **new.on_check_failure}


def _merge_fields(old, new, scalars: Iterable[str], maps: Iterable[str] = ()) -> None:
    for attribute in scalars:
        value = getattr(new, attribute)
        if value not in ("", None):
            setattr(old, attribute, value)
    for attribute in maps:
        setattr(old, attribute, {**getattr(old, attribute), **getattr(new, attribute)})


def _merge_check(old: Check, new: Check) -> None:
    _merge_fields(old, new, ("level", "startup", "period", "timeout"))
    if new.threshold:
        old.threshold = new.threshold
    if new.http is not None:
        old.http = old.http or HTTPCheck()
        _merge_fields(old.http, new.http, ("url",), ("headers",))
    if new.tcp is not None:
        old.tcp = old.tcp or TCPCheck()
        _merge_fields(old.tcp, new.tcp, ("port", "host"))
    if new.exec is not None:
        old.exec = old.exec or ExecCheck()
        _merge_fields(old.exec, new.exec,
                      ("command", "service_context", "user", "user_id", "group", "group_id", "working_dir"),
                      ("environment",))


def combine_layers(layers: list[Layer]) -> Layer:
    """Merge `layers` in order with the override rules; PlanError."""
    combined = Layer(order=0, label="")
    if not layers:
        return combined
    combined.summary = layers[-1].summary
    combined.description = layers[-1].description
    kinds = (
        ("services", "service", _merge_service),
        ("checks", "check", _merge_check),
        ("log_targets", "log target", log_targets.merge),
    )
    for layer in layers:
        for attribute, noun, merge in kinds:
            into = getattr(combined, attribute)
            for name, item in getattr(layer, attribute).items():
                if item is None:
                    continue
                if item.override == "merge":
                    if name in into:
                        merge(into[name], item)
                    else:
                        into[name] = copy.deepcopy(item)
                elif item.override == "replace":
                    into[name] = copy.deepcopy(item)
                elif item.override == "":
                    raise PlanError(f'layer "{layer.label}" must define "override" for {noun} "{name}"')
                else:
                    raise PlanError(f'layer "{layer.label}" has invalid "override" value for {noun} "{name}"')
    for check in combined.checks.values():
        if not check.threshold:
            check.threshold = DEFAULT_CHECK_THRESHOLD
    return combined


def build_plan(layers: list[Layer]) -> Plan:
    """Combine and validate `layers` into a plan; PlanError."""
    combined = combine_layers(layers)
    plan = Plan(
        layers=list(layers),
        services=combined.services,
        checks=combined.checks,
        log_targets=combined.log_targets,
    )
    validate_plan(plan)
    return plan
