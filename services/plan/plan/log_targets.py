"""The plan's `log-targets` section, with Pebble's rules and messages: how a
log target is read from a layer, checked in its layer, merged over layers,
checked in the combined plan, chosen for a service's logs and shown again.

- `FIELDS`: a log target's YAML fields and the Go types they decode as.
- `validate_layer(layer)`: rules each layer must meet on its own.
- `merge(old, new)`: `override: merge` (scalars replaced when set, `services`
  appended, `labels` merged key by key).
- `validate_plan(plan)`: rules for the combined plan.
- `logs_to(target, service)`: whether a service's logs go to a target.
- `to_dict(target)`: the target as `GET /v1/plan` shows it.
"""

from __future__ import annotations

from collections.abc import Mapping

from services.plan.plan.errors import LayerError, PlanError
from services.plan.plan.model import Layer, LogTarget, Plan
from services.plan.plan.yaml_emit import go_sorted
from services.plan.plan.yaml_nodes import STRING_MAP, STRINGS, GoType, string_type

LOKI = "loki"
OPENTELEMETRY = "opentelemetry"
SYSLOG = "syslog"
TYPES = (LOKI, OPENTELEMETRY, SYSLOG)
RESERVED_LABEL_PREFIX = "pebble_"

_TYPE_LIST = '"loki", "opentelemetry" or "syslog"'


# -- YAML -------------------------------------------------------------------------

# YAML key -> (LogTarget attribute, Go type), as Pebble's plan.LogTarget declares them.
FIELDS: dict[str, tuple[str, GoType]] = {
    "type": ("type", string_type("plan.LogTargetType")),
    "location": ("location", string_type()),
    "services": ("services", STRINGS),
    "override": ("override", string_type("plan.Override")),
    "labels": ("labels", STRING_MAP),
}


# -- rules ------------------------------------------------------------------------


def validate_layer(layer: Layer) -> None:
    """Rules each layer meets on its own (LayerError). Pebble visits targets
    and labels in Go's random map order; Shoal visits them sorted, so the
    first error is stable."""
    targets: Mapping[str, LogTarget | None] = layer.log_targets
    for name in sorted(targets):
        target = targets[name]
        if target is None:
            raise LayerError(f'log target object cannot be null for log target "{name}"')
        for label in sorted(target.labels):
            if label.startswith(RESERVED_LABEL_PREFIX):
                raise LayerError(
                    f'log target "{name}": label "{label}" uses reserved prefix "{RESERVED_LABEL_PREFIX}"'
                )
        if target.type and target.type not in TYPES:
            raise LayerError(f'log target "{name}" has unsupported type "{target.type}", must be {_TYPE_LIST}')


def merge(old: LogTarget, new: LogTarget) -> None:
    """Merge `new` (an `override: merge` definition) into `old` in place."""
    if new.type:
        old.type = new.type
    if new.location:
        old.location = new.location
    old.services = old.services + new.services
    old.labels = {**old.labels, **new.labels}


def validate_plan(plan: Plan) -> None:
    """Rules for the combined plan (PlanError): a type, known services (`all`
    and `-name` allowed), a location — checked in that order for each target."""
    targets, services = plan.log_targets, plan.services
    for name in sorted(targets):
        target = targets[name]
        if not target.type:
            raise PlanError(f'plan must define "type" ({_TYPE_LIST}) for log target "{name}"')
        for entry in target.services:
            service = entry.removeprefix("-")
            if service != "all" and service not in services:
                raise PlanError(f'log target "{name}" specifies unknown service "{service}"')
        if not target.location:
            raise PlanError(f'plan must define "location" for log target "{name}"')


def logs_to(target: LogTarget, service: str) -> bool:
    """Whether `service`'s logs go to `target`: the last entry of `services`
    that names it (`svc`, `-svc`, `all`, `-all`) decides; none means no."""
    for entry in reversed(target.services):
        if entry in (service, "all"):
            return True
        if entry in ("-" + service, "-all"):
            return False
    return False


def to_dict(target: LogTarget) -> dict:
    """The target as the plan's YAML shows it: type, location and services
    always (services as [] when empty), then override and labels when set."""
    out: dict = {"type": target.type, "location": target.location, "services": list(target.services)}
    if target.override:
        out["override"] = target.override
    if target.labels:
        out["labels"] = {key: target.labels[key] for key in go_sorted(target.labels)}
    return out
