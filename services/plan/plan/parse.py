"""A layer's YAML → `Layer` (spec §3.4), with Pebble's messages; the layer
is validated on its own too (validate.py)."""

from __future__ import annotations

import yaml

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
from services.plan.plan.yaml_nodes import Decoder, FieldTypeError, cannot, is_null, line, short_tag


def _how_it_runs_readers(d: Decoder) -> dict:
    """The fields a service and an exec check share: environment, user, group, working-dir."""
    return {
        "environment": ("environment", d.string_map),
        "user-id": ("user_id", d.integer),
        "user": ("user", d.string),
        "group-id": ("group_id", d.integer),
        "group": ("group", d.string),
        "working-dir": ("working_dir", d.string),
    }


def _service_readers(d: Decoder) -> dict:
    return {
        "summary": ("summary", d.string),
        "description": ("description", d.string),
        "startup": ("startup", d.string),
        "override": ("override", d.string),
        "command": ("command", d.string),
        "after": ("after", d.strings),
        "before": ("before", d.strings),
        "requires": ("requires", d.strings),
        "workload": ("workload", d.string),
        **_how_it_runs_readers(d),
        "on-success": ("on_success", d.string),
        "on-failure": ("on_failure", d.string),
        "on-check-failure": ("on_check_failure", d.string_map),
        "backoff-delay": ("backoff_delay", d.duration),
        "backoff-factor": ("backoff_factor", d.number),
        "backoff-limit": ("backoff_limit", d.duration),
        "kill-delay": ("kill_delay", d.duration),
    }


def _check_readers(d: Decoder) -> dict:
    def sub(cls, type_name, readers):
        def read(node):
            if is_null(node):
                return None
            value = cls()
            d.fields(node, type_name, readers, value)
            return value

        return read

    http = sub(HTTPCheck, "plan.HTTPCheck", {"url": ("url", d.string), "headers": ("headers", d.string_map)})
    tcp = sub(TCPCheck, "plan.TCPCheck", {"port": ("port", d.integer), "host": ("host", d.string)})
    exec_ = sub(
        ExecCheck,
        "plan.ExecCheck",
        {
            "command": ("command", d.string),
            "service-context": ("service_context", d.string),
            **_how_it_runs_readers(d),
        },
    )
    return {
        "override": ("override", d.string),
        "level": ("level", d.string),
        "startup": ("startup", d.string),
        "period": ("period", d.duration),
        "timeout": ("timeout", d.duration),
        "threshold": ("threshold", d.integer),
        "http": ("http", http),
        "tcp": ("tcp", tcp),
        "exec": ("exec", exec_),
    }


def _decode_section(node: yaml.Node, cls, type_name: str, readers) -> dict:
    """A section mapping name → object (None for a null body)."""
    decoder = Decoder()
    out: dict = {}
    if is_null(node):
        return out
    if not isinstance(node, yaml.MappingNode):
        raise FieldTypeError(f"line {line(node)}: cannot unmarshal {short_tag(node)} into map[string]*{type_name}")
    for key, value in node.value:
        name = decoder.string(key)
        if is_null(value):
            out[name] = None
            continue
        item = cls(name=name)
        decoder.fields(value, type_name, readers(decoder), item)
        out[name] = item
    if decoder.errors:
        raise FieldTypeError("\n  ".join(decoder.errors))
    return out


def parse_layer(order: int, label: str, text: str | bytes) -> Layer:
    """Parse and validate one layer (spec §3.4); LayerError on failure."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        raise LayerError(f'cannot parse layer "{label}": yaml: {_yaml_reason(error)}') from None
    layer = Layer(order=order, label=label)
    if root is None or is_null(root):
        validate_layer(layer)
        return layer
    if not isinstance(root, yaml.MappingNode):
        raise LayerError(
            f'cannot parse layer "{label}": yaml: unmarshal errors:\n  '
            f"{cannot(root, 'map[string]yaml.Node')}"
        )
    sections = {
        "services": (Service, "plan.Service", _service_readers, "services"),
        "checks": (Check, "plan.Check", _check_readers, "checks"),
        "log-targets": (LogTarget, "plan.LogTarget", log_targets.readers, "log_targets"),
    }
    for key, value in root.value:
        field = key.value if isinstance(key, yaml.ScalarNode) else ""
        try:
            if field in ("summary", "description"):
                decoder = Decoder()
                setattr(layer, field, decoder.string(value))
                if decoder.errors:
                    raise FieldTypeError(decoder.errors[0])
            elif field in sections:
                cls, type_name, readers, attribute = sections[field]
                setattr(layer, attribute, _decode_section(value, cls, type_name, readers))
            else:
                raise LayerError(f'cannot parse layer "{label}": unknown section "{field}"')
        except FieldTypeError as error:
            raise LayerError(
                f'cannot parse layer "{label}" section "{field}": yaml: unmarshal errors:\n  {error}'
            ) from None
        except LayerError as error:
            if error.message.startswith("cannot parse layer"):
                raise
            raise LayerError(f'cannot parse layer "{label}" section "{field}": {error.message}') from None
    validate_layer(layer)
    return layer


def _yaml_reason(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    return f"line {mark.line + 1}: {problem}" if mark is not None else problem
