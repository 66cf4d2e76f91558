"""An application's `Command`: one Pebble layer service, validated up front
with the plan's own parser and rules, and the layer pushed to instances.

`Command` may also hold `checks` (Shoal's own): Pebble checks by name (the
application's name, or it and a dot: `web.ready`, since an instance's
checks are shared by its applications), which travel in the same layer; a rolling rollout waits for them. The layer also
sets `SHOAL_DEPLOYMENT` in the service's environment, the deployment id, so
an instance's plan says which deployment it holds."""

from __future__ import annotations

from collections.abc import Mapping

from services.application.model import BAD_PARAMS, ModelError
from services.common.jsonvalues import whole_numbers
from services.plan.plan.errors import LayerError
from services.plan.plan.parse import parse_layer


def label_for(name: str) -> str:
    return f"app-{name}"


CHECKS = "checks"
DEPLOYMENT_VARIABLE = "SHOAL_DEPLOYMENT"


def check_names(command: Mapping) -> list[str]:
    """The names of the application's own checks."""
    return sorted((command.get(CHECKS) or {}).keys())


def layer_text(name: str, command: Mapping, summary: str = "", deployment: int | None = None) -> str:
    """The YAML layer that defines service `name` as `command` (replacing
    whatever the plan held for it) and the application's checks."""
    fields = whole_numbers(dict(command))
    checks = fields.pop(CHECKS, None) or {}
    service = {**fields, "override": "replace"}
    if deployment is not None:
        service["environment"] = {**(service.get("environment") or {}), DEPLOYMENT_VARIABLE: str(deployment)}
    layer: dict = {"services": {name: service}}
    if checks:
        layer[CHECKS] = {check: {**definition, "override": "replace"} for check, definition in checks.items()}
    if summary:
        layer = {"summary": summary, **layer}
    import yaml  # PyYAML: loaded with the first layer pushed, not by an idle service

    return yaml.safe_dump(layer, sort_keys=False, default_flow_style=False)


def disabled_checks_layer(command: Mapping, names: list[str]) -> str:
    """A layer that keeps the checks `names` of `command` but never starts
    them (what a rollback leaves of checks the previous deployment lacks)."""
    checks = (command.get(CHECKS) or {})
    layer = {CHECKS: {n: {**whole_numbers(dict(checks[n])), "override": "replace", "startup": "disabled"}
                      for n in names}}
    import yaml

    return yaml.safe_dump(layer, sort_keys=False, default_flow_style=False)


def check_command(name: str, command: Mapping | None) -> dict:
    """`command` as stored (plain JSON values, no `override`), or ModelError."""
    if not command:
        raise ModelError(f"{BAD_PARAMS}: Command is empty")
    if not isinstance(command, Mapping):
        raise ModelError(f"{BAD_PARAMS}: Command must be an object of Pebble service fields")
    cleaned = {k: v for k, v in whole_numbers(dict(command)).items() if k != "override"}
    checks = cleaned.get(CHECKS)
    if checks is not None:
        if not isinstance(checks, Mapping) or not all(isinstance(c, Mapping) for c in checks.values()):
            raise ModelError(f"{BAD_PARAMS}: Command checks must map each check's name to its Pebble fields")
        for check in checks:
            if check != name and not str(check).startswith(name + "."):
                raise ModelError(
                    f'{BAD_PARAMS}: check "{check}" must be named "{name}" or "{name}.SOMETHING" '
                    "(a plan's check names are shared by every application on an instance)"
                )
        cleaned[CHECKS] = {k: {f: v for f, v in c.items() if f != "override"} for k, c in checks.items()}
        if not cleaned[CHECKS]:
            del cleaned[CHECKS]
    if not isinstance(cleaned.get("command"), str) or not cleaned["command"].strip():
        raise ModelError(f'{BAD_PARAMS}: Command must give "command", the program to run')
    try:
        parse_layer(0, label_for(name), layer_text(name, cleaned))
    except LayerError as error:
        raise ModelError(f"applications: invalid Command: {error.message}") from None
    return cleaned
