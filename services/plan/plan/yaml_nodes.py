"""Decoding YAML nodes into the plan's fields as Pebble's YAML library
(go-yaml v3, strict: `KnownFields(true)`) decodes them into Pebble's Go
types, with its messages:

- wrong types are collected, `line N: cannot unmarshal !!seq into string`
  (a long value cut to `9999999...`), and decoding goes on;
- unknown fields: `line N: field colour not found in type plan.Service`;
- a key written twice: `line 2: mapping key "summary" already defined at
  line 1` (that mapping is then not decoded at all);
- null items of a list are left out, a null map value is an empty string;
- numbers as Go reads them (`0x10`, `0777`, `1_000`, `1e3` and `1.9` into
  an int); durations and floats by their own readers, which stop the whole
  decode with `invalid duration "soon"`.

Types are described by `GoType`s; `Decoder.decode(node, type)` returns the
value, or `UNSET` when go-yaml would leave the field as it was.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from services.common.gojson import go_quote
from services.plan.plan.yaml_scalars import BINARY, INT64_MAX, resolve, short_tag
from services.plan.plan.yaml_tree import ALIAS, MAPPING, SCALAR, SEQUENCE, Node

UNSET = object()

STRING, INT, LIST, MAP, STRUCT, CUSTOM = "string", "int", "list", "map", "struct", "custom"


class DecodeAbort(Exception):
    """An error that ends the decode at once (go-yaml's `fail`): the message
    is reported alone, without the collected type errors."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class GoType:
    """A Go type as go-yaml decodes into it. `name` is how Go prints it."""

    kind: str
    name: str
    elem: GoType | None = None  # list and map values
    fields: dict[str, tuple[str, GoType]] = field(default_factory=dict)  # struct: yaml key -> (attribute, type)
    pointer: bool = False  # a null leaves it nil (and decoding "succeeds")
    read: Callable[[Node], object] | None = None  # custom: an UnmarshalYAML of its own


def string_type(name: str = "string") -> GoType:
    return GoType(STRING, name)


def int_type(pointer: bool = False) -> GoType:
    return GoType(INT, "int", pointer=pointer)


def list_of(elem: GoType) -> GoType:
    return GoType(LIST, f"[]{elem.name}", elem=elem, pointer=True)


def map_of(elem: GoType) -> GoType:
    return GoType(MAP, f"map[string]{'*' if elem.kind == STRUCT and elem.pointer else ''}{elem.name}",
                  elem=elem, pointer=True)


def struct_type(name: str, fields: dict[str, tuple[str, GoType]], pointer: bool = False) -> GoType:
    return GoType(STRUCT, name, fields=fields, pointer=pointer)


def custom_type(name: str, read: Callable[[Node], object]) -> GoType:
    return GoType(CUSTOM, name, read=read)


STRINGS = list_of(string_type())
STRING_MAP = map_of(string_type())


@dataclass
class Struct:
    """A decoded struct: the attributes whose fields were decoded."""

    type: GoType
    values: dict[str, object] = field(default_factory=dict)


class Decoder:
    """One go-yaml decode: collects its type errors in `errors`; `lines`
    gives each node's line where the text Pebble decodes is not the text the
    node was read from (a section written out again)."""

    def __init__(self, lines: dict[int, int] | None = None):
        self.errors: list[str] = []
        self.lines = lines or {}
        self._aliases: set[int] = set()

    def line(self, node: Node) -> int:
        return self.lines.get(id(node), node.line)

    def type_error(self, node: Node, into: str) -> None:
        tag = node.short_tag
        shown = ""
        if tag not in ("!!seq", "!!map"):
            raw = node.value.encode()
            shown = f" `{raw[:7].decode(errors='replace')}...`" if len(raw) > 10 else f" `{node.value}`"
        self.errors.append(f"line {self.line(node)}: cannot unmarshal {tag}{shown} into {into}")

    def decode(self, node: Node, goal: GoType):
        if node.kind == ALIAS:
            if id(node) in self._aliases:
                raise DecodeAbort(f"yaml: anchor '{node.value}' value contains itself")
            self._aliases.add(id(node))
            try:
                return self.decode(node.target, goal)
            finally:
                self._aliases.discard(id(node))
        if node.is_null:
            return None if goal.pointer else UNSET
        if goal.kind == CUSTOM:
            return goal.read(node)
        if node.kind == MAPPING:
            if not self._unique_keys(node):
                return UNSET
            if goal.kind == MAP:
                return self._map(node, goal)
            if goal.kind == STRUCT:
                return self._struct(node, goal)
            self.type_error(node, goal.name)
            return UNSET
        if node.kind == SEQUENCE:
            if goal.kind == LIST:
                return self._list(node, goal)
            self.type_error(node, goal.name)
            return UNSET
        return self._scalar(node, goal)

    # -- scalars -------------------------------------------------------------------
    def _resolved(self, node: Node) -> tuple[str, object]:
        if node.indicated_string:
            return "!!str", node.value
        if node.tagged and node.tag != BINARY:
            tag = short_tag(node.tag)
            found, value = resolve(node.value)
            found = short_tag(found)
            if tag in ("!!bool", "!!int", "!!float", "!!null", "!!timestamp") and found != tag:
                if tag == "!!float" and found == "!!int":
                    return tag, float(value)
                raise DecodeAbort(f"yaml: cannot decode {found} `{node.value}` as a {tag}")
            return tag, value
        if node.tag == BINARY:
            try:
                return "!!str", base64.b64decode(node.value, validate=False).decode(errors="replace")
            except ValueError:
                raise DecodeAbort("yaml: !!binary value contains invalid base64 data") from None
        tag, value = resolve(node.value)
        return short_tag(tag), value

    def _scalar(self, node: Node, goal: GoType):
        tag, value = self._resolved(node)
        if goal.kind == STRING:
            return value if node.tag == BINARY else node.value
        if goal.kind == INT:
            if tag == "!!int" and isinstance(value, int) and value <= INT64_MAX:
                return value
            if tag == "!!float" and isinstance(value, float) and not math.isnan(value) and value <= INT64_MAX:
                return max(int(value), -(1 << 63)) if not math.isinf(value) else -(1 << 63)
        self.type_error(node, goal.name)
        return UNSET

    # -- collections ---------------------------------------------------------------
    def _unique_keys(self, node: Node) -> bool:
        before = len(self.errors)
        keys = [key for key, _ in node.items]
        for i, first in enumerate(keys):
            for later in keys[i + 1:]:
                if first.kind == later.kind and first.value == later.value:
                    self.errors.append(f"line {self.line(later)}: mapping key {go_quote(later.value)} "
                                       f"already defined at line {self.line(first)}")
        return len(self.errors) == before

    def _list(self, node: Node, goal: GoType) -> list:
        out = []
        for item in node.items:
            value = self.decode(item, goal.elem)
            if value is not UNSET:
                out.append(value)
        return out

    def _pairs(self, node: Node) -> tuple[list[tuple[Node, Node]], list[Node]]:
        """The mapping's own pairs, and the nodes its `<<` keys merge in."""
        own, merged = [], []
        for key, value in node.items:
            if key.kind == SCALAR and key.short_tag == "!!merge":
                merged.append(value)
            else:
                own.append((key, value))
        return own, merged

    def _merge_sources(self, values: list[Node]) -> list[Node]:
        sources = []
        for value in values:
            target = value.target if value.kind == ALIAS else value
            items = value.items if value.kind == SEQUENCE else [value]
            if value.kind == SEQUENCE:
                for item in items:
                    inner = item.target if item.kind == ALIAS else item
                    if inner is None or inner.kind != MAPPING:
                        raise DecodeAbort("yaml: map merge requires map or sequence of maps as the value")
                    sources.append(inner)
            elif target is None or target.kind != MAPPING:
                raise DecodeAbort("yaml: map merge requires map or sequence of maps as the value")
            else:
                sources.append(target)
        return sources

    def _key(self, key: Node):
        return self.decode(key, string_type())

    def _map(self, node: Node, goal: GoType, out: dict | None = None, skip: set | None = None) -> dict:
        out = {} if out is None else out
        own, merged = self._pairs(node)
        for key, value in own:
            name = self._key(key)
            if name is UNSET or (skip is not None and name in skip):
                continue
            if skip is not None:
                skip.add(name)
            decoded = self.decode(value, goal.elem)
            if decoded is not UNSET:
                out[name] = decoded
            elif value.is_null and name not in out:
                out[name] = None if goal.elem.pointer else ""
        if merged:
            seen = skip if skip is not None else {self._key(k) for k, _ in own}
            for source in self._merge_sources(merged):
                if self._unique_keys(source):
                    self._map(source, goal, out, seen)
        return out

    def _struct(self, node: Node, goal: GoType, out: Struct | None = None, skip: set | None = None) -> Struct:
        out = Struct(goal) if out is None else out
        own, merged = self._pairs(node)
        for key, value in own:
            name = self._key(key)
            if name is UNSET or (skip is not None and name in skip):
                continue
            if skip is not None:
                skip.add(name)
            found = goal.fields.get(name)
            if found is None:
                self.errors.append(f"line {self.line(key)}: field {name} not found in type {goal.name}")
                continue
            attribute, field_type = found
            decoded = self.decode(value, field_type)
            if decoded is not UNSET:
                out.values[attribute] = decoded
        if merged:
            seen = skip if skip is not None else {self._key(k) for k, _ in own}
            for source in self._merge_sources(merged):
                if self._unique_keys(source):
                    self._struct(source, goal, out, seen)
        return out

    def failure(self) -> str | None:
        """go-yaml's error for the collected type errors, if any."""
        return "yaml: unmarshal errors:\n  " + "\n  ".join(self.errors) if self.errors else None
