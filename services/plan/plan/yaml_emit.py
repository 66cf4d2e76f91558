"""Writing YAML as Pebble's YAML library (go-yaml v3) writes it: 4-space
indentation, no line wrapping, block sequences indented under their key,
and the same choice of scalar style — plain where the text reads back as
the same string, double quotes where it would read as something else
(`"yes"`, `"1"`, `""`), single quotes where only an indicator or a space
is in the way (`'key: value'`, `' x'`), and `|` blocks for multi-line text.

`emit(node)` writes a tree of `yaml_tree.Node`s and returns the text with
the line each node starts on in it. Two uses:
- the plan (and layers) as `GET /v1/plan` shows them (`dump.py` builds the
  nodes from values with `value_node`, as go-yaml's encoder does);
- a layer section written out again, as Pebble does before decoding it on
  its own, so errors inside it carry the line numbers Pebble gives
  (`reencode=True`: each node keeps the style it was read with).

The emitter never recurses in Python: nested nodes are walked with an
explicit stack, so a deeply nested section cannot exhaust the stack.
"""

from __future__ import annotations

import functools
import math
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from services.plan.plan.yaml_scalars import LONG_PREFIX, plain_is_safe, resolve, short_tag
from services.plan.plan.yaml_tree import (
    ALIAS,
    DOUBLE,
    FLOW,
    FOLDED,
    LITERAL,
    MAPPING,
    SCALAR,
    SEQUENCE,
    SINGLE,
    Node,
    mapping,
    scalar,
    sequence,
)

BEST_INDENT = 4
SIMPLE_KEY_LIMIT = 128

_BREAKS = "\r\n\x85\u2028\u2029"
_ESCAPES = {"\0": "0", "\a": "a", "\b": "b", "\t": "t", "\n": "n", "\v": "v", "\f": "f", "\r": "r",
            "\x1b": "e", '"': '"', "\\": "\\", "\x85": "N", "\xa0": "_", "\u2028": "L", "\u2029": "P"}

# Contexts a node is written in.
_ROOT, _ITEM, _KEY, _VALUE, _COMPLEX_KEY, _FLOW = range(6)


def _printable(c: str) -> bool:
    """go-yaml's set of printable characters (it leaves out every character
    beyond the Basic Multilingual Plane, and NEL)."""
    o = ord(c)
    return (o == 0x0A or 0x20 <= o <= 0x7E or 0xA0 <= o <= 0xD7FF
            or 0xE000 <= o <= 0xFFFD and o != 0xFEFF)


@dataclass
class _Analysis:
    multiline: bool
    flow_plain: bool
    block_plain: bool
    single_quoted: bool
    block: bool


def _analyse(value: str) -> _Analysis:
    """What go-yaml's emitter allows for the scalar text `value`."""
    if not value:
        return _Analysis(False, False, True, True, False)
    block_ind = flow_ind = value.startswith(("---", "..."))
    line_breaks = special = tabs = False
    leading_space = leading_break = trailing_space = trailing_break = False
    break_space = space_break = previous_space = previous_break = False
    preceded_by_ws = True
    last = len(value) - 1
    for i, c in enumerate(value):
        followed_by_ws = i == last or value[i + 1] in " \t"
        if i == 0:
            if c in "#,[]{}&*!|>'\"%@`":
                flow_ind = block_ind = True
            elif c in "?:":
                flow_ind = True
                block_ind = block_ind or followed_by_ws
            elif c == "-" and followed_by_ws:
                flow_ind = block_ind = True
        else:
            if c in ",?[]{}":
                flow_ind = True
            elif c == ":":
                flow_ind = True
                block_ind = block_ind or followed_by_ws
            elif c == "#" and preceded_by_ws:
                flow_ind = block_ind = True
        if c == "\t":
            tabs = True
        elif not _printable(c):
            special = True
        if c == " ":
            leading_space = leading_space or i == 0
            trailing_space = trailing_space or i == last
            break_space = break_space or previous_break
            previous_space, previous_break = True, False
        elif c in _BREAKS:
            line_breaks = True
            leading_break = leading_break or i == 0
            trailing_break = trailing_break or i == last
            space_break = space_break or previous_space
            previous_space, previous_break = False, True
        else:
            previous_space = previous_break = False
        preceded_by_ws = c in " \t\0" or c in _BREAKS
    flow_plain = block_plain = single = block = True
    if leading_space or leading_break or trailing_space or trailing_break:
        flow_plain = block_plain = False
    if trailing_space:
        block = False
    if break_space:
        flow_plain = block_plain = single = False
    if space_break or tabs or special:
        flow_plain = block_plain = single = False
    if space_break or special:
        block = False
    if line_breaks:
        flow_plain = block_plain = False
    if flow_ind:
        flow_plain = False
    if block_ind:
        block_plain = False
    return _Analysis(line_breaks, flow_plain, block_plain, single, block)


def _tag_text(tag: str) -> str:
    if tag.startswith(LONG_PREFIX):
        return "!!" + tag[len(LONG_PREFIX):]
    if tag.startswith("!"):
        return tag
    return f"!<{tag}>"


def _presentation(node: Node) -> tuple[str, str]:
    """The tag and style go-yaml's encoder gives a node read from text: a
    tag only where dropping it would change what the text reads as."""
    tag = node.tag
    style = node.style
    force_quotes = False
    if tag and not node.tagged:
        if node.kind == SCALAR:
            if short_tag(tag) == "!!str" and style or resolve(node.value)[0] == tag:
                tag = ""
            elif short_tag(tag) == "!!str":
                tag, force_quotes = "", True
        elif short_tag(tag) == {MAPPING: "!!map", SEQUENCE: "!!seq"}.get(node.kind):
            tag = ""
    if node.kind == SCALAR and not style:
        if "\n" in node.value:
            style = LITERAL
        elif force_quotes:
            style = DOUBLE
    return tag, style


class _Emitter:
    def __init__(self, reencode: bool):
        self.reencode = reencode
        self.out: list[str] = []
        self.column = 0
        self.line = 0
        self.indent = -1
        self.indents: list[int] = []
        self.flow_level = 0
        self.whitespace = True
        self.indention = True
        self.lines: dict[int, int] = {}
        self.anchors: set[str] = set()
        self.dangling: str | None = None  # the first alias to an anchor not written before it

    # -- low level -----------------------------------------------------------------
    def put(self, text: str) -> None:
        self.out.append(text)
        self.column += len(text)

    def put_break(self) -> None:
        self.out.append("\n")
        self.column = 0
        self.line += 1
        self.indention = True

    def write_break(self, c: str) -> None:
        if c == "\n":
            self.put_break()
        else:
            self.out.append(c)
            self.column = 0
            self.line += 1
            self.indention = True

    def write_indent(self) -> None:
        indent = max(self.indent, 0)
        if not self.indention or self.column > indent or (self.column == indent and not self.whitespace):
            self.put_break()
        if self.column < indent:
            self.put(" " * (indent - self.column))
        self.whitespace = True

    def indicator(self, text: str, need_whitespace: bool, is_whitespace: bool, is_indention: bool) -> None:
        if need_whitespace and not self.whitespace:
            self.put(" ")
        self.put(text)
        self.whitespace = is_whitespace
        self.indention = self.indention and is_indention

    def increase_indent(self, flow: bool, in_item: bool) -> None:
        self.indents.append(self.indent)
        if self.indent < 0:
            self.indent = BEST_INDENT if flow else 0
        elif in_item:
            self.indent += 2  # just past the "- " of the sequence item
        else:
            self.indent = BEST_INDENT * ((self.indent + BEST_INDENT) // BEST_INDENT)

    def decrease_indent(self) -> None:
        self.indent = self.indents.pop()

    def head_comments(self, node: Node) -> None:
        for text in node.head:
            if text:
                self.write_indent()
                self.put(text)
                self.whitespace = False
                self.indention = False
            else:
                if self.column:
                    self.put_break()
                self.put_break()
                self.whitespace = True

    def mark(self, node: Node) -> None:
        self.lines.setdefault(id(node), self.line + 1)

    # -- nodes ---------------------------------------------------------------------
    def properties(self, node: Node, tag: str) -> None:
        if node.anchor:
            self.mark(node)
            self.anchors.add(node.anchor)
            self.indicator("&" + node.anchor, True, False, False)
        if tag:
            self.mark(node)
            self.indicator(_tag_text(tag), True, False, False)

    def node(self, node: Node, context: int, in_item: bool) -> Iterator:
        """Write `node`; yields the writers of its children, which the driver runs."""
        if node.kind == ALIAS:
            self.mark(node)
            if node.value not in self.anchors and self.dangling is None:
                self.dangling = node.value
            self.indicator("*" + node.value, True, False, False)
            return
        tag, style = _presentation(node) if self.reencode else (node.tag, node.style)
        if node.kind == SCALAR:
            self.scalar(node, tag, style, context, in_item)
            return
        self.properties(node, tag)
        flow = self.flow_level > 0 or style == FLOW or not node.items
        if node.kind == SEQUENCE:
            yield from (self.flow_sequence(node) if flow else self.block_sequence(node, in_item))
        else:
            yield from (self.flow_mapping(node) if flow else self.block_mapping(node, in_item))

    def block_sequence(self, node: Node, in_item: bool) -> Iterator:
        self.increase_indent(False, in_item)
        for item in node.items:
            self.head_comments(item)
            self.write_indent()
            self.mark(node)
            self.indicator("-", True, False, True)
            if item.dash_comment:
                self.put(" " + item.dash_comment)
                self.put_break()
            yield item, _ITEM, True
        self.decrease_indent()

    def block_mapping(self, node: Node, in_item: bool) -> Iterator:
        self.increase_indent(False, in_item)
        for key, value in node.items:
            self.head_comments(key)
            self.write_indent()
            self.mark(node)
            if self._simple_key(key):
                yield key, _KEY, False
                self.indicator(":", False, False, False)
            else:
                self.indicator("?", True, False, True)
                yield key, _COMPLEX_KEY, False
                self.write_indent()
                self.indicator(":", True, False, True)
            yield value, _VALUE, False
        self.decrease_indent()

    def flow_item_start(self, index: int, item: Node, comma: bool) -> None:
        if index and comma:
            self.indicator(",", False, False, False)
        for text in item.head:  # a comment on its own line, before this item
            self.put_break()
            self.write_indent()
            self.put(text)
            self.put_break()
            self.whitespace = True
        if self.column == 0:
            self.write_indent()

    def flow_item_end(self, item: Node) -> bool:
        """After an item with a comment: its comma, the comment, a new line.
        Whether the comma is written already."""
        if not item.flow_comment:
            return False
        self.indicator(",", False, False, False)
        self.put(" " + item.flow_comment)
        self.put_break()
        self.whitespace = True
        return True

    def flow_end(self, bracket: str) -> None:
        self.flow_level -= 1
        self.decrease_indent()
        if self.column == 0:
            self.write_indent()
        self.indicator(bracket, False, False, False)

    def flow_sequence(self, node: Node) -> Iterator:
        self.mark(node)
        self.indicator("[", True, True, False)
        self.increase_indent(True, False)
        self.flow_level += 1
        comma = True
        for index, item in enumerate(node.items):
            self.flow_item_start(index, item, comma)
            yield item, _FLOW, False
            comma = not self.flow_item_end(item)
        self.flow_end("]")

    def flow_mapping(self, node: Node) -> Iterator:
        self.mark(node)
        self.indicator("{", True, True, False)
        self.increase_indent(True, False)
        self.flow_level += 1
        comma = True
        for index, (key, value) in enumerate(node.items):
            self.flow_item_start(index, key, comma)
            if self._simple_key(key):
                yield key, _KEY, False
                self.indicator(":", False, False, False)
            else:
                self.indicator("?", True, False, False)
                yield key, _COMPLEX_KEY, False
                self.indicator(":", True, False, False)
            yield value, _FLOW, False
            comma = not self.flow_item_end(key)
        self.flow_end("}")

    def _simple_key(self, key: Node) -> bool:
        if key.kind == ALIAS:
            return len(key.value.encode()) <= SIMPLE_KEY_LIMIT
        tag, _ = _presentation(key) if self.reencode else (key.tag, key.style)
        length = len(key.anchor.encode()) + len(_tag_text(tag).encode()) - 1 if tag else len(key.anchor.encode())
        if key.kind == SCALAR:
            if _analyse(key.value).multiline:
                return False
            length += len(key.value.encode())
        elif key.items:
            return False
        return length <= SIMPLE_KEY_LIMIT

    # -- scalars -------------------------------------------------------------------
    def scalar(self, node: Node, tag: str, style: str, context: int, in_item: bool) -> None:
        value = node.value
        analysis = _analyse(value)
        simple_key = context == _KEY
        if simple_key and analysis.multiline:
            style = DOUBLE
        if style == "":
            if (self.flow_level and not analysis.flow_plain) or (not self.flow_level and not analysis.block_plain):
                style = SINGLE
            if not value and (self.flow_level or simple_key):
                style = SINGLE
        if style == SINGLE and not analysis.single_quoted:
            style = DOUBLE
        if style in (LITERAL, FOLDED) and (not analysis.block or self.flow_level or simple_key):
            style = DOUBLE
        self.properties(node, tag)
        self.mark(node)
        self.increase_indent(True, in_item)
        if style == "":
            self.plain(value)
        elif style == SINGLE:
            self.single_quoted(value)
        elif style == DOUBLE:
            self.double_quoted(value)
        else:
            self.block_scalar(value, style)
        self.decrease_indent()

    def plain(self, value: str) -> None:
        if value and not self.whitespace:
            self.put(" ")
        self.put(value)
        if value:
            self.whitespace = False
        self.indention = False

    def single_quoted(self, value: str) -> None:
        self.indicator("'", True, False, False)
        breaks = False
        for c in value:
            if c in _BREAKS:
                if not breaks and c == "\n":
                    self.put_break()
                self.write_break(c)
                breaks = True
                continue
            if breaks:
                self.write_indent()
            self.put("''" if c == "'" else c)
            self.indention = False
            breaks = False
        self.indicator("'", False, False, False)
        self.whitespace = self.indention = False

    def double_quoted(self, value: str) -> None:
        self.indicator('"', True, False, False)
        bom = value.startswith("\ufeff")
        parts = []
        for c in value:
            if bom or not _printable(c) or c in _BREAKS or c in '"\\':
                code = ord(c)
                if c in _ESCAPES:
                    parts.append("\\" + _ESCAPES[c])
                elif code <= 0xFF:
                    parts.append(f"\\x{code:02X}")
                elif code <= 0xFFFF:
                    parts.append(f"\\u{code:04X}")
                else:
                    parts.append(f"\\U{code:08X}")
            else:
                parts.append(c)
        self.put("".join(parts))
        self.indicator('"', False, False, False)
        self.whitespace = self.indention = False

    def block_scalar(self, value: str, style: str) -> None:
        self.indicator(style, True, False, False)
        hints = ""
        if value[:1] == " " or value[:1] in _BREAKS and value:
            hints += str(BEST_INDENT)
        if not value or value[-1] not in _BREAKS:
            hints += "-"
        elif len(value) == 1 or value[-2] in _BREAKS:
            hints += "+"
        if hints:
            self.indicator(hints, False, False, False)
        self.whitespace = True
        breaks = True
        leading_spaces = True
        starts_blank = _starts_blank(value)
        for c in value:
            if c in _BREAKS:
                if style == FOLDED and not breaks and not leading_spaces and c == "\n" and not starts_blank:
                    self.put_break()  # go-yaml tests the text's start here, not the next line's
                self.write_break(c)
                breaks = True
                continue
            if breaks:
                self.write_indent()
                leading_spaces = c in " \t"
            self.put(c)
            self.indention = False
            breaks = False


def _starts_blank(value: str) -> bool:
    rest = value.lstrip(_BREAKS)
    return not rest or rest[0] in " \t\0"


def emit(root: Node | None, reencode: bool = False) -> tuple[str, dict[int, int]]:
    """The YAML text for `root` (a document), and the 1-based line each node
    starts on, by `id(node)`."""
    emitter = _run(root, reencode)
    return "".join(emitter.out), emitter.lines


def reencode(root: Node) -> tuple[dict[int, int], str | None]:
    """`root` (read from text) written out again as go-yaml writes it: the
    line each node then starts on, and the first alias whose anchor is not
    written before it (go-yaml cannot read that text back)."""
    emitter = _run(root, True)
    return emitter.lines, emitter.dangling


def _run(root: Node | None, reencode: bool) -> _Emitter:
    emitter = _Emitter(reencode)
    if root is None:
        root = scalar("null")
    stack = [emitter.node(root, _ROOT, False)]
    while stack:
        try:
            child, context, in_item = next(stack[-1])
        except StopIteration:
            stack.pop()
            continue
        stack.append(emitter.node(child, context, in_item))
    emitter.write_indent()
    return emitter


# -- Go values -> nodes ---------------------------------------------------------------
def string_node(text: str) -> Node:
    """A Go string as go-yaml's encoder presents it."""
    if "\n" in text:
        return scalar(text, LITERAL)
    return scalar(text, "" if plain_is_safe(text) else DOUBLE)


def float_text(value: float) -> str:
    """Go's strconv.FormatFloat(value, 'g', -1, 64), as go-yaml writes
    floats: the shortest digits, in exponent form below 1e-4 and from 1e6."""
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    if value == 0:
        return sign + "0"
    exact = Decimal(repr(abs(value))).normalize()
    _, digit_tuple, power = exact.as_tuple()
    digits = "".join(map(str, digit_tuple))
    exponent = len(digits) - 1 + power
    if exponent < -4 or exponent >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
    if exponent < 0:
        return f"{sign}0.{'0' * (-exponent - 1)}{digits}"
    whole, fraction = digits[: exponent + 1].ljust(exponent + 1, "0"), digits[exponent + 1:]
    return f"{sign}{whole}.{fraction}" if fraction else f"{sign}{whole}"


def value_node(value) -> Node:
    """A Python value as go-yaml's encoder writes the Go value it stands for:
    dicts as mappings in the order given, lists as sequences, `str` by the
    quoting rules, bool/int/float as Go prints them, None as null."""
    if isinstance(value, Node):
        return value
    if isinstance(value, dict):
        return mapping([(string_node(str(k)), value_node(v)) for k, v in value.items()])
    if isinstance(value, (list, tuple)):
        return sequence([value_node(v) for v in value])
    if isinstance(value, bool):
        return scalar("true" if value else "false")
    if isinstance(value, int):
        return scalar(str(value))
    if isinstance(value, float):
        return scalar(float_text(value))
    if value is None:
        return scalar("null")
    return string_node(str(value))


def go_sorted(keys) -> list[str]:
    """Map keys in go-yaml's order: letters before digits and runs of digits
    compared as numbers ("a2" before "a10")."""
    return sorted(keys, key=functools.cmp_to_key(_key_compare))


def _is_letter(c: str) -> bool:
    return unicodedata.category(c).startswith("L")


def _is_digit(c: str) -> bool:
    return unicodedata.category(c) == "Nd"


def _wrap64(value: int) -> int:
    value &= (1 << 64) - 1
    return value - (1 << 64) if value >= 1 << 63 else value


def _key_less(a: str, b: str) -> bool:
    digits = False
    for i in range(min(len(a), len(b))):
        ca, cb = a[i], b[i]
        if ca == cb:
            digits = _is_digit(ca)
            continue
        la, lb = _is_letter(ca), _is_letter(cb)
        if la and lb:
            return ca < cb
        if la or lb:
            return la if digits else lb
        an = bn = 0
        if ca == "0" or cb == "0":
            j = i - 1
            while j >= 0 and _is_digit(a[j]):
                if a[j] != "0":
                    an = bn = 1
                    break
                j -= 1
        ai = i
        while ai < len(a) and _is_digit(a[ai]):
            an = _wrap64(an * 10 + ord(a[ai]) - 48)
            ai += 1
        bi = i
        while bi < len(b) and _is_digit(b[bi]):
            bn = _wrap64(bn * 10 + ord(b[bi]) - 48)
            bi += 1
        if an != bn:
            return an < bn
        if ai != bi:
            return ai < bi
        return ca < cb
    return len(a) < len(b)


def _key_compare(a: str, b: str) -> int:
    if _key_less(a, b):
        return -1
    if _key_less(b, a):
        return 1
    return 0

