"""The plan's `log-targets` section: how a log target is read from a layer,
checked in its layer, merged over layers, checked in the combined plan and
shown again, with Pebble's messages. (Log targets are kept in the plan as
Pebble does; nothing here forwards logs to them.)"""

from __future__ import annotations

from services.plan.plan.errors import LayerError, PlanError
from services.plan.plan.model import Layer, LogTarget, Plan

TYPES = ("loki", "opentelemetry", "syslog")


def readers(d) -> dict:
    """The YAML fields of a log target: key → (attribute, read), for a
    yaml_nodes.Decoder `d`."""
    return {
        "type": ("type", d.string),
        "location": ("location", d.string),
        "services": ("services", d.strings),
        "override": ("override", d.string),
        "labels": ("labels", d.string_map),
    }


def validate_layer(layer: Layer) -> None:
    """The rules for the log targets of one layer; LayerError."""
    for name in sorted(layer.log_targets):
        target = layer.log_targets[name]
        if target is None:
            raise LayerError(f'log target object cannot be null for log target "{name}"')
        for label in sorted(target.labels):
            if label.startswith("pebble_"):
                raise LayerError(f'log target "{name}": label "{label}" uses reserved prefix "pebble_"')
        if target.type not in ("", *TYPES):
            raise LayerError(
                f'log target "{name}" has unsupported type "{target.type}", '
                'must be "loki", "opentelemetry" or "syslog"'
            )


def merge(old: LogTarget, new: LogTarget) -> None:
    """`new` (override: merge) over `old`, in place."""
    for attribute in ("type", "location"):
        if getattr(new, attribute):
            setattr(old, attribute, getattr(new, attribute))
    old.labels = {**old.labels, **new.labels}
    old.services = old.services + new.services


def validate_plan(plan: Plan) -> None:
    """The rules for the log targets of the combined plan; PlanError."""
    for name in sorted(plan.log_targets):
        target = plan.log_targets[name]
        if not target.type:
            raise PlanError(
                f'plan must define "type" ("loki", "opentelemetry" or "syslog") for log target "{name}"'
            )
        for service in target.services:
            service = service.removeprefix("-")
            if service != "all" and service not in plan.services:
                raise PlanError(f'log target "{name}" specifies unknown service "{service}"')
        if not target.location:
            raise PlanError(f'plan must define "location" for log target "{name}"')


def to_dict(target: LogTarget) -> dict:
    """The log target as the plan YAML shows it."""
    out: dict = {"type": target.type, "location": target.location, "services": list(target.services)}
    if target.override:
        out["override"] = target.override
    if target.labels:
        out["labels"] = dict(sorted(target.labels.items()))
    return out
