"""An application's `Command`: one Pebble layer service, validated up front
with the plan's own parser and rules, and the layer pushed to instances."""

from __future__ import annotations

from collections.abc import Mapping

import yaml

from services.application.model import BAD_PARAMS, ModelError
from services.common.jsonvalues import whole_numbers
from services.plan.plan.errors import LayerError
from services.plan.plan.parse import parse_layer


def label_for(name: str) -> str:
    return f"app-{name}"


def layer_text(name: str, command: Mapping, summary: str = "") -> str:
    """The YAML layer that defines service `name` as `command` (replacing
    whatever the plan held for it)."""
    service = {**whole_numbers(dict(command)), "override": "replace"}
    layer: dict = {"services": {name: service}}
    if summary:
        layer = {"summary": summary, **layer}
    return yaml.safe_dump(layer, sort_keys=False, default_flow_style=False)


def check_command(name: str, command: Mapping | None) -> dict:
    """`command` as stored (plain JSON values, no `override`), or ModelError."""
    if not command:
        raise ModelError(f"{BAD_PARAMS}: Command is empty")
    if not isinstance(command, Mapping):
        raise ModelError(f"{BAD_PARAMS}: Command must be an object of Pebble service fields")
    cleaned = {k: v for k, v in whole_numbers(dict(command)).items() if k != "override"}
    if not isinstance(cleaned.get("command"), str) or not cleaned["command"].strip():
        raise ModelError(f'{BAD_PARAMS}: Command must give "command", the program to run')
    try:
        parse_layer(0, label_for(name), layer_text(name, cleaned))
    except LayerError as error:
        raise ModelError(f"applications: invalid Command: {error.message}") from None
    return cleaned
