"""Typed, strict reads of YAML nodes, failing as Go's yaml does: wrong types
are collected as `line N: cannot unmarshal ...` errors, unknown fields as
`field X not found in type T`."""

from __future__ import annotations

from collections.abc import Callable

import yaml

from services.common.durations import parse_duration
from services.plan.plan.errors import LayerError


class FieldTypeError(Exception):
    """One field of the wrong type (collected like Go's yaml unmarshal errors)."""


def line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def short_tag(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "!!map"
    if isinstance(node, yaml.SequenceNode):
        return "!!seq"
    return "!!" + node.tag.rsplit(":", 1)[-1]


def cannot(node: yaml.Node, into: str) -> FieldTypeError:
    if isinstance(node, yaml.ScalarNode):
        return FieldTypeError(f"line {line(node)}: cannot unmarshal {short_tag(node)} `{node.value}` into {into}")
    return FieldTypeError(f"line {line(node)}: cannot unmarshal {short_tag(node)} into {into}")


class Decoder:
    """Typed reads of YAML nodes, collecting type errors as Go's yaml does."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def string(self, node: yaml.Node) -> str:
        if is_null(node):
            return ""
        if not isinstance(node, yaml.ScalarNode):
            self.errors.append(str(cannot(node, "string")))
            return ""
        return node.value

    def integer(self, node: yaml.Node) -> int | None:
        if is_null(node):
            return None
        if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:int":
            try:
                return int(node.value, 0) if not node.value.lstrip("+-").isdigit() else int(node.value)
            except ValueError:
                pass
        self.errors.append(str(cannot(node, "int")))
        return None

    def strings(self, node: yaml.Node) -> list[str]:
        if is_null(node):
            return []
        if not isinstance(node, yaml.SequenceNode):
            self.errors.append(str(cannot(node, "[]string")))
            return []
        return [self.string(item) for item in node.value]

    def string_map(self, node: yaml.Node) -> dict[str, str]:
        if is_null(node):
            return {}
        if not isinstance(node, yaml.MappingNode):
            self.errors.append(str(cannot(node, "map[string]string")))
            return {}
        return {self.string(key): self.string(value) for key, value in node.value}

    @staticmethod
    def duration(node: yaml.Node) -> float | None:
        return _scalar(node, "duration", parse_duration, 'invalid duration "{}"')

    @staticmethod
    def number(node: yaml.Node) -> float | None:
        return _scalar(node, "factor", float, 'invalid floating-point number "{}"')

    def fields(self, node: yaml.Node, type_name: str, readers: dict, target) -> None:
        """Set `target`'s attributes from a mapping node, strictly."""
        if not isinstance(node, yaml.MappingNode):
            self.errors.append(str(cannot(node, type_name)))
            return
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else ""
            reader = readers.get(name)
            if reader is None:
                self.errors.append(f"line {line(key)}: field {name} not found in type {type_name}")
                continue
            attribute, read = reader
            result = read(value)
            setattr(target, attribute, result)


def _scalar(node: yaml.Node, what: str, convert: Callable[[str], float], invalid: str) -> float | None:
    """A scalar converted from its text; a LayerError (not collected) otherwise."""
    if is_null(node):
        return None
    if not isinstance(node, yaml.ScalarNode):
        raise LayerError(f"{what} must be a YAML string")
    try:
        return convert(node.value)
    except ValueError:
        raise LayerError(invalid.format(node.value)) from None
