"""A layer's YAML → `Layer` (spec §3.4), read the way Pebble reads it, with
its messages and line numbers:

1. the text is read (`yaml_load`; syntax errors as go-yaml words them);
2. the top level is decoded as a map of section name → node (a key written
   twice is refused there, `yaml: unmarshal errors:\\n  line 2: mapping key
   "summary" already defined at line 1`);
3. each section is written out again and decoded on its own, strictly, as
   Pebble's SectionDecode does — so an error's line is counted from the
   start of that section (`line 4: field colour not found in type
   plan.Service`);
4. the layer is validated on its own (validate.py).
"""

from __future__ import annotations

from services.common.durations import Duration, parse_duration
from services.common.gojson import go_quote
from services.plan.plan import log_targets
from services.plan.plan.errors import LayerError
from services.plan.plan.model import (
    Check,
    ExecCheck,
    HTTPCheck,
    Layer,
    LogTarget,
    Service,
    TCPCheck,
)
from services.plan.plan.validate import validate_layer
from services.plan.plan.yaml_emit import reencode
from services.plan.plan.yaml_nodes import (
    STRING_MAP,
    STRINGS,
    UNSET,
    DecodeAbort,
    Decoder,
    GoType,
    Struct,
    custom_type,
    int_type,
    map_of,
    string_type,
    struct_type,
)
from services.plan.plan.yaml_scalars import parse_float
from services.plan.plan.yaml_tree import ALIAS, MAPPING, SCALAR, Node


def _duration(node: Node) -> Duration:
    if node.kind != SCALAR:
        raise DecodeAbort("duration must be a YAML string")
    try:
        return parse_duration(node.value)
    except ValueError:
        raise DecodeAbort(f"invalid duration {go_quote(node.value)}") from None


def _float(node: Node) -> float:
    if node.kind != SCALAR:
        raise DecodeAbort("value must be a YAML number")
    try:
        return parse_float(node.value)
    except ValueError:
        raise DecodeAbort(f"invalid floating-point number {go_quote(node.value)}") from None


DURATION = custom_type("plan.OptionalDuration", _duration)
FLOAT = custom_type("plan.OptionalFloat", _float)
OVERRIDE = string_type("plan.Override")
ACTION = string_type("plan.ServiceAction")


def _how_it_runs() -> dict[str, tuple[str, GoType]]:
    """The fields a service and an exec check share."""
    return {
        "environment": ("environment", STRING_MAP),
        "user-id": ("user_id", int_type(pointer=True)),
        "user": ("user", string_type()),
        "group-id": ("group_id", int_type(pointer=True)),
        "group": ("group", string_type()),
        "working-dir": ("working_dir", string_type()),
    }


SERVICE = struct_type("plan.Service", {
    "summary": ("summary", string_type()),
    "description": ("description", string_type()),
    "startup": ("startup", string_type("plan.ServiceStartup")),
    "override": ("override", OVERRIDE),
    "command": ("command", string_type()),
    "after": ("after", STRINGS),
    "before": ("before", STRINGS),
    "requires": ("requires", STRINGS),
    "workload": ("workload", string_type()),
    **_how_it_runs(),
    "on-success": ("on_success", ACTION),
    "on-failure": ("on_failure", ACTION),
    "on-check-failure": ("on_check_failure", map_of(ACTION)),
    "backoff-delay": ("backoff_delay", DURATION),
    "backoff-factor": ("backoff_factor", FLOAT),
    "backoff-limit": ("backoff_limit", DURATION),
    "kill-delay": ("kill_delay", DURATION),
    # Shoal's own fields (README "Supervision beyond Pebble"):
    "kind": ("kind", string_type("plan.ServiceKind")),
    "ready-checks": ("ready_checks", STRINGS),
    "ready-timeout": ("ready_timeout", DURATION),
    "restart-limit": ("restart_limit", int_type(pointer=True)),
    "restart-window": ("restart_window", DURATION),
    "start-retries": ("start_retries", int_type(pointer=True)),
}, pointer=True)

HTTP_CHECK = struct_type("plan.HTTPCheck", {
    "url": ("url", string_type()),
    "headers": ("headers", STRING_MAP),
}, pointer=True)
TCP_CHECK = struct_type("plan.TCPCheck", {
    "port": ("port", int_type()),
    "host": ("host", string_type()),
}, pointer=True)
EXEC_CHECK = struct_type("plan.ExecCheck", {
    "command": ("command", string_type()),
    "service-context": ("service_context", string_type()),
    **_how_it_runs(),
}, pointer=True)
CHECK = struct_type("plan.Check", {
    "override": ("override", OVERRIDE),
    "level": ("level", string_type("plan.CheckLevel")),
    "startup": ("startup", string_type("plan.CheckStartup")),
    "period": ("period", DURATION),
    "timeout": ("timeout", DURATION),
    "threshold": ("threshold", int_type()),
    "http": ("http", HTTP_CHECK),
    "tcp": ("tcp", TCP_CHECK),
    "exec": ("exec", EXEC_CHECK),
}, pointer=True)
LOG_TARGET = struct_type("plan.LogTarget", log_targets.FIELDS, pointer=True)

_SUB_CHECKS = {"http": HTTPCheck, "tcp": TCPCheck, "exec": ExecCheck}


def _values(decoded: Struct) -> dict:
    return {attribute: value for attribute, value in decoded.values.items() if value is not None}


def _service(name: str, decoded: Struct) -> Service:
    return Service(name=name, **_values(decoded))


def _check(name: str, decoded: Struct) -> Check:
    values = _values(decoded)
    for attribute, cls in _SUB_CHECKS.items():
        if attribute in values:
            values[attribute] = cls(**_values(values[attribute]))
    return Check(name=name, **values)


def _log_target(name: str, decoded: Struct) -> LogTarget:
    return LogTarget(name=name, **_values(decoded))


# section name -> (Go type, Layer attribute, how one item becomes a model object)
_SECTIONS = {
    "services": (map_of(SERVICE), "services", _service),
    "checks": (map_of(CHECK), "checks", _check),
    "log-targets": (map_of(LOG_TARGET), "log_targets", _log_target),
    "summary": (string_type(), "summary", None),
    "description": (string_type(), "description", None),
}


def _top_level(root: Node | None, label: str) -> list[tuple[str, Node]]:
    """The layer's sections, as Pebble decodes them into map[string]yaml.Node."""
    if root is None or root.is_null:
        return []
    decoder = Decoder()
    sections: dict[str, Node] = {}
    if root.kind != MAPPING:
        decoder.type_error(root.target if root.kind == ALIAS else root, "map[string]yaml.Node")
    elif decoder._unique_keys(root):
        own, merged = decoder._pairs(root)
        for key, value in own:
            name = decoder.decode(key, string_type())
            if name is not UNSET:
                sections[name] = value
        try:
            for source in decoder._merge_sources(merged):
                for key, value in source.items:
                    name = decoder.decode(key, string_type())
                    if name is not UNSET and name not in sections:
                        sections[name] = value
        except DecodeAbort as error:
            raise LayerError(f'cannot parse layer "{label}": {error.message}') from None
    failure = decoder.failure()
    if failure:
        raise LayerError(f'cannot parse layer "{label}": {failure}')
    return list(sections.items())


def _section(node: Node, goal: GoType):
    """One section written out and decoded again, as Pebble's SectionDecode
    does; DecodeAbort with the message Pebble reports."""
    if node.kind == SCALAR and node.value == "" and not node.style and not node.anchor and not node.tagged:
        raise DecodeAbort("EOF")  # written out, an empty value is no document at all, which Go's decoder calls EOF
    lines, dangling = reencode(node)
    if dangling is not None:
        raise DecodeAbort(f"yaml: unknown anchor '{dangling}' referenced")
    decoder = Decoder(lines)
    value = decoder.decode(node, goal)
    failure = decoder.failure()
    if failure:
        raise DecodeAbort(failure)
    return value


def parse_layer(order: int, label: str, text: str | bytes) -> Layer:
    """Parse and validate one layer (spec §3.4); LayerError on failure."""
    # PyYAML is loaded with the first layer read, not by an idle plan service.
    from services.plan.plan.yaml_load import YAMLSyntaxError, load

    try:
        root = load(text)
    except YAMLSyntaxError as error:
        raise LayerError(f'cannot parse layer "{label}": {error.message}') from None
    layer = Layer(order=order, label=label)
    for name, node in _top_level(root, label):
        known = _SECTIONS.get(name)
        if known is None:
            raise LayerError(f'cannot parse layer "{label}": unknown section {go_quote(name)}')
        goal, attribute, build = known
        try:
            value = _section(node, goal)
        except DecodeAbort as error:
            raise LayerError(f'cannot parse layer "{label}" section {go_quote(name)}: {error.message}') from None
        if value is UNSET or value is None:
            continue
        if build is None:
            setattr(layer, attribute, value)
        else:
            setattr(layer, attribute, {key: None if item is None else build(key, item) for key, item in value.items()})
    validate_layer(layer)
    return layer

