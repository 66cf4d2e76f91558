"""JSON decoded as Pebble decodes a request body: Go's encoding/json (the v1
API as Go 1.27 builds it), with Go's error texts word for word.

`decode(data, go_type)` reads the *first* JSON value of `data` (anything
after it is ignored, as `json.Decoder.Decode` ignores it), checks it against
the Go type Pebble's handler decodes into, and returns it as plain Python
values ready for `json_format.ParseDict`; or raises GoJSONError whose text
is what Go's error says:

- syntax: `EOF` (nothing but whitespace), `unexpected EOF` (cut short),
  `invalid character 'x' looking for beginning of value`, `… looking for
  beginning of object key string`, `… after object key`, `… after object
  key:value pair`, `… after array element`, `… in literal true (expecting
  'r')`, `… in numeric literal`, `… in string`, ``invalid escape sequence
  `\\x` in string``, `exceeded max depth` (past 10,000 nested values);
- types: `json: cannot unmarshal number into Go struct field .action of
  type string`, `… into .checks.0 of type string` (the last step an index),
  `… number -1 into Go struct field .identities.x.local.user-id of type
  uint32` (a number that does not fit names itself), `… array into Go value
  of type daemon.execPayload` (the body itself). The path names the keys as
  sent, from the root; the struct name before it is the root type's own
  name ("" for an anonymous struct).

Go's rules for values: object keys match struct fields exactly or else
ignoring ASCII case, and the last of duplicates wins; unknown keys are
ignored; `null` leaves a field as it was (a pointer, slice or map becomes
nil; an element of a slice or map its zero value); invalid UTF-8 and lone
surrogates in strings become U+FFFD; the first type error in document order
is the one reported, and a syntax error anywhere comes before any type error.

Go types are described with GoType (built from the protos' `go_type` and
`go_shape` options by the gateway, or by hand with the helpers below).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

MAX_DEPTH = 10_000  # Go's maximum nesting of arrays and objects


class GoJSONError(ValueError):
    """A body Go would refuse; str() is Go's error text."""


# -- Go's ways of quoting --------------------------------------------------------
def _printable(char: str) -> bool:
    """Go's strconv.IsPrint: letters, marks, numbers, punctuation, symbols and ASCII space."""
    return char == " " or unicodedata.category(char)[0] in "LMNPS"


_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def _escaped(char: str, quote: str) -> str:
    if char == quote or char == "\\":
        return "\\" + char
    if _printable(char):
        return char
    if char in _ESCAPES:
        return _ESCAPES[char]
    code = ord(char)
    if code < 0x80:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _runes(data: bytes) -> list[str | int]:
    """The runes of `data`: a character, or the int value of a byte that is not valid UTF-8."""
    out: list[str | int] = []
    i = 0
    while i < len(data):
        for width in (1, 2, 3, 4):
            try:
                out.append(data[i:i + width].decode("utf-8"))
            except UnicodeDecodeError:
                continue
            i += width
            break
        else:
            out.append(data[i])
            i += 1
    return out


def quote_rune(data: bytes) -> str:
    """Go's quoting of the first rune of `data` in a syntax error ('x', '\\x01', '\\xff')."""
    rune = _runes(data[:4])[0]
    if isinstance(rune, int):
        return f"'\\x{rune:x}'"
    return "'" + _escaped(rune, "'") + "'"


def go_quote(text: str) -> str:
    """Go's strconv.Quote (what `%q` prints) of a string."""
    return '"' + "".join(_escaped(char, '"') for char in text) + '"'


def _quote(data: bytes) -> str:
    """Go's strconv.Quote of `data`."""
    out = []
    for rune in _runes(data):
        out.append(f"\\x{rune:02x}" if isinstance(rune, int) else _escaped(rune, '"'))
    return '"' + "".join(out) + '"'


def _invalid_text(label: str, what: bytes, where: str) -> GoJSONError:
    runes = _runes(what)
    if len(runes) == 1:
        shown = quote_rune(what)
    elif any(isinstance(r, int) or r in "`\ufffd" or r.isspace() or not _printable(r) for r in runes):
        shown = _quote(what)
    else:
        shown = "`" + what.decode() + "`"
    return GoJSONError(f"invalid {label} {shown} {where}")


def _invalid_character(data: bytes, at: int, where: str) -> GoJSONError:
    """Go's text for the character at `at` (one rune, or one byte that is not UTF-8)."""
    for width in (1, 2, 3, 4):
        try:
            data[at:at + width].decode("utf-8")
        except UnicodeDecodeError:
            continue
        return _invalid_text("character", data[at:at + width], where)
    return _invalid_text("character", data[at:at + 1], where)


_EOF = "EOF"
_UNEXPECTED_EOF = "unexpected EOF"


# -- the syntax: the first value of a body ------------------------------------------
class Number:
    """A JSON number, kept as written (Go names it so in its errors)."""

    __slots__ = ("literal",)

    def __init__(self, literal: str):
        self.literal = literal

    def value(self) -> int | float:
        text = self.literal
        if "." in text or "e" in text or "E" in text:
            return float(text)
        return int(text)


class Object(list):
    """A JSON object: its (key, value) pairs in document order, duplicates kept."""


_WS = re.compile(rb"[ \t\n\r]*")
_DIGITS = re.compile(rb"[0-9]*")
_STRING_RUN = re.compile(rb'[^"\\\x00-\x1f]*')
_HEX4 = re.compile(rb"[0-9a-fA-F]{4}")
_SIMPLE_ESCAPES = {ord('"'): '"', ord("\\"): "\\", ord("/"): "/", ord("b"): "\b", ord("f"): "\f",
                   ord("n"): "\n", ord("r"): "\r", ord("t"): "\t"}
_LITERALS = {ord("t"): (b"true", True), ord("f"): (b"false", False), ord("n"): (b"null", None)}


def _text(run: bytes) -> str:
    """A run of string bytes; each byte that is not valid UTF-8 becomes U+FFFD, as in Go."""
    try:
        return run.decode("utf-8")
    except UnicodeDecodeError:
        return "".join("\ufffd" if isinstance(r, int) else r for r in _runes(run))


class _Scanner:
    def __init__(self, data: bytes):
        self.data = data
        self.n = len(data)

    def eof(self) -> GoJSONError:
        return GoJSONError(_UNEXPECTED_EOF)

    def skip(self, i: int) -> int:
        return _WS.match(self.data, i).end()

    def string(self, i: int) -> tuple[str, int]:
        data, n = self.data, self.n
        i += 1  # the opening quote
        parts: list[str] = []
        while True:
            end = _STRING_RUN.match(data, i).end()
            if end > i:
                parts.append(_text(data[i:end]))
            i = end
            if i >= n:
                raise self.eof()
            c = data[i]
            if c == 0x22:  # "
                return "".join(parts), i + 1
            if c != 0x5C:  # a control character
                raise _invalid_character(data, i, "in string")
            if i + 1 >= n:
                raise self.eof()
            escape = data[i + 1]
            if escape in _SIMPLE_ESCAPES:
                parts.append(_SIMPLE_ESCAPES[escape])
                i += 2
                continue
            if escape != ord("u"):
                raise _invalid_text("escape sequence", data[i:i + 2], "in string")
            if i + 6 > n:
                raise self.eof()
            if not _HEX4.fullmatch(data, i + 2, i + 6):
                raise _invalid_text("escape sequence", data[i:i + 6], "in string")
            code = int(data[i + 2:i + 6], 16)
            i += 6
            if 0xD800 <= code < 0xDC00 and data[i:i + 2] == b"\\u" and i + 6 <= n \
                    and _HEX4.fullmatch(data, i + 2, i + 6) and 0xDC00 <= int(data[i + 2:i + 6], 16) < 0xE000:
                low = int(data[i + 2:i + 6], 16)
                parts.append(chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)))
                i += 6
            elif 0xD800 <= code < 0xE000:
                parts.append("\ufffd")  # a lone surrogate
            else:
                parts.append(chr(code))

    def number(self, i: int) -> tuple[Number, int]:
        data, n = self.data, self.n
        start = i
        if data[i] == 0x2D:  # -
            i += 1
        if i >= n:
            raise self.eof()
        if data[i] == 0x30:
            i += 1
        elif 0x31 <= data[i] <= 0x39:
            i = _DIGITS.match(data, i).end()
        else:
            raise _invalid_character(data, i, "in numeric literal")
        if i < n and data[i] == 0x2E:  # .
            i = self._digits(i + 1)
        if i < n and data[i] in b"eE":
            i += 1
            if i < n and data[i] in b"+-":
                i += 1
            i = self._digits(i)
        return Number(data[start:i].decode()), i

    def _digits(self, i: int) -> int:
        if i >= self.n:
            raise self.eof()
        if not 0x30 <= self.data[i] <= 0x39:
            raise _invalid_character(self.data, i, "in numeric literal")
        return _DIGITS.match(self.data, i).end()

    def literal(self, i: int):
        text, value = _LITERALS[self.data[i]]
        for k, expected in enumerate(text):
            if i + k >= self.n:
                raise self.eof()
            if self.data[i + k] != expected:
                shown = quote_rune(bytes([expected]))
                raise _invalid_character(self.data, i + k, f"in literal {text.decode()} (expecting {shown})")
        return value, i + len(text)

    def key(self, i: int) -> tuple[str, int]:
        """An object key at `i` (after "{" or ","), then its ":"; the position of its value."""
        i = self.skip(i)
        if i >= self.n:
            raise self.eof()
        if self.data[i] != 0x22:
            raise _invalid_character(self.data, i, "looking for beginning of object key string")
        key, i = self.string(i)
        i = self.skip(i)
        if i >= self.n:
            raise self.eof()
        if self.data[i] != 0x3A:  # :
            raise _invalid_character(self.data, i, "after object key")
        return key, self.skip(i + 1)

    def first_value(self):
        data, n = self.data, self.n
        i = self.skip(0)
        if i >= n:
            raise GoJSONError(_EOF)
        stack: list[tuple[list, str | None]] = []  # open containers, and an object's pending key
        while True:
            # A value starts at i.
            if i >= n:
                raise self.eof()
            c = data[i]
            done = False
            if c == 0x7B or c == 0x5B:  # { [
                if len(stack) >= MAX_DEPTH:
                    raise GoJSONError("exceeded max depth")
                container: list = Object() if c == 0x7B else []
                i = self.skip(i + 1)
                if i >= n:
                    raise self.eof()
                if data[i] == (0x7D if c == 0x7B else 0x5D):  # empty
                    value, i, done = container, i + 1, True
                elif c == 0x7B:
                    key, i = self.key(i)
                    stack.append((container, key))
                    continue
                else:
                    stack.append((container, None))
                    continue
            elif c == 0x22:
                value, i = self.string(i)
                done = True
            elif c == 0x2D or 0x30 <= c <= 0x39:
                value, i = self.number(i)
                done = True
            elif c in _LITERALS:
                value, i = self.literal(i)
                done = True
            else:
                raise _invalid_character(data, i, "looking for beginning of value")
            # A value is complete: it ends its container's element, maybe the container.
            while done:
                if not stack:
                    return value  # what follows the first value is not read
                container, key = stack[-1]
                i = self.skip(i)
                if isinstance(container, Object):
                    container.append((key, value))
                    if i >= n:
                        raise self.eof()
                    if data[i] == 0x2C:  # ,
                        key, i = self.key(i + 1)
                        stack[-1] = (container, key)
                        done = False
                    elif data[i] == 0x7D:  # }
                        stack.pop()
                        value, i = container, i + 1
                    else:
                        raise _invalid_character(data, i, "after object key:value pair")
                else:
                    container.append(value)
                    if i >= n:
                        raise self.eof()
                    if data[i] == 0x2C:
                        i = self.skip(i + 1)
                        done = False
                    elif data[i] == 0x5D:  # ]
                        stack.pop()
                        value, i = container, i + 1
                    else:
                        raise _invalid_character(data, i, "after array element")


def first_value(data: bytes):
    """The first JSON value of `data` as the scanner keeps it: str, bool,
    None, Number, list, Object; GoJSONError as Go's Decoder refuses it."""
    return _Scanner(data).first_value()


def plain(node):
    """A scanned value as plain Python (objects as dicts, the last duplicate winning)."""
    if not isinstance(node, (list, Number)):
        return node
    if isinstance(node, Number):
        return node.value()
    root: list = [None]
    pending = [(node, root, 0)]
    while pending:
        item, parent, slot = pending.pop()
        if isinstance(item, Number):
            parent[slot] = item.value()
        elif isinstance(item, Object):
            out: dict = {}
            parent[slot] = out
            for key, value in item:
                out[key] = None
                pending.append((value, out, key))
        elif isinstance(item, list):
            items: list = [None] * len(item)
            parent[slot] = items
            pending.extend((value, items, index) for index, value in enumerate(item))
        else:
            parent[slot] = item
    return root[0]


# -- the Go types a body is decoded into -------------------------------------------
@dataclass(frozen=True)
class GoField:
    json_name: str  # the key that names it (its json tag)
    type: GoType
    target: str = ""  # the key it is given under in the decoded value (default: json_name)


@dataclass(frozen=True)
class GoType:
    """One Go type: its name as Go prints it ("[]string", "*int",
    "daemon.execPayload", "map[string]*daemon.apiIdentity") and its kind:
    string, bool, int (with `bits` and `unsigned`), slice or map (of
    `elem`), struct (of `fields`) or raw (any JSON, as jsontext.Value)."""

    name: str
    kind: str
    elem: GoType | None = None
    fields: tuple[GoField, ...] = ()
    bits: int = 64
    unsigned: bool = False
    _by_key: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    @property
    def pointer(self) -> bool:
        return self.name.startswith("*")

    @property
    def shown(self) -> str:
        """The type an error names (a pointer's target)."""
        return self.name.lstrip("*")

    def field_for(self, key: str) -> GoField | None:
        """The struct field a key sets: the exact name, else one equal ignoring ASCII case."""
        if not self._by_key:
            for f in self.fields:
                self._by_key[f.json_name] = f
            for f in self.fields:
                self._by_key.setdefault(("fold", _fold(f.json_name)), f)
        return self._by_key.get(key) or self._by_key.get(("fold", _fold(key)))


def _fold(name: str) -> str:
    return name.encode("utf-8", "surrogatepass").lower().decode("utf-8", "surrogatepass")


STRING = GoType("string", "string")
BOOL = GoType("bool", "bool")
INT = GoType("int", "int")
RAW = GoType("jsontext.Value", "raw")


def pointer(go_type: GoType) -> GoType:
    return GoType("*" + go_type.name, go_type.kind, go_type.elem, go_type.fields, go_type.bits, go_type.unsigned)


def slice_of(elem: GoType, name: str = "") -> GoType:
    return GoType(name or "[]" + elem.name, "slice", elem)


def map_of(elem: GoType, name: str = "") -> GoType:
    return GoType(name or "map[string]" + elem.name, "map", elem)


def struct(name: str, fields: list[GoField] | tuple[GoField, ...]) -> GoType:
    return GoType(name, "struct", fields=tuple(fields))


def integer(name: str, bits: int = 64, unsigned: bool = False) -> GoType:
    return GoType(name, "int", bits=bits, unsigned=unsigned)


# -- the values, checked against their Go types ---------------------------------------
_NO_EFFECT = object()  # a null where Go leaves the value as it was
_INTEGER = re.compile(r"-?[0-9]+")


def _kind_of(node) -> str:
    if isinstance(node, bool):
        return "bool"
    if isinstance(node, Number):
        return "number"
    if isinstance(node, str):
        return "string"
    if isinstance(node, Object):
        return "object"
    return "array"


def _zero(go_type: GoType):
    if go_type.pointer or go_type.kind in ("slice", "map", "raw"):
        return None
    return {"string": "", "bool": False, "int": 0, "struct": {}}[go_type.kind]


class _Check:
    def __init__(self, root: GoType):
        self.root = root
        name = root.name
        self.struct_name = name.rsplit(".", 1)[-1] if root.kind == "struct" and not name.startswith("struct") \
            and "." in name else ""
        self.error: str | None = None

    def refuse(self, value: str, go_type: GoType, path: list[str]) -> object:
        if self.error is None:
            if not path:
                self.error = f"json: cannot unmarshal {value} into Go value of type {go_type.shown}"
            else:
                last = path[-1]
                into = "" if last.isdigit() and last.isascii() else "Go struct field "
                self.error = (f"json: cannot unmarshal {value} into {into}{self.struct_name}.{'.'.join(path)} "
                              f"of type {go_type.shown}")
        return _NO_EFFECT

    def value(self, node, go_type: GoType, path: list[str]):
        if node is None:
            return None if (go_type.pointer or go_type.kind in ("slice", "map")) else _NO_EFFECT
        kind = go_type.kind
        if kind == "raw":
            return plain(node)
        if kind == "string":
            return node if isinstance(node, str) else self.refuse(_kind_of(node), go_type, path)
        if kind == "bool":
            return node if isinstance(node, bool) else self.refuse(_kind_of(node), go_type, path)
        if kind == "int":
            if not isinstance(node, Number):
                return self.refuse(_kind_of(node), go_type, path)
            return self.integer(node, go_type, path)
        if kind == "slice":
            if isinstance(node, Object) or not isinstance(node, list):
                return self.refuse(_kind_of(node), go_type, path)
            out = []
            for index, item in enumerate(node):
                value = self.value(item, go_type.elem, [*path, str(index)])
                out.append(_zero(go_type.elem) if value is _NO_EFFECT else value)
            return out
        if not isinstance(node, Object):
            return self.refuse(_kind_of(node), go_type, path)
        if kind == "map":
            result: dict = {}
            for key, item in node:
                value = self.value(item, go_type.elem, [*path, key])
                result[key] = _zero(go_type.elem) if value is _NO_EFFECT else value
            return result
        fields: dict = {}
        for key, item in node:
            go_field = go_type.field_for(key)
            if go_field is None:
                continue  # Go ignores keys no field has
            value = self.value(item, go_field.type, [*path, key])
            if value is not _NO_EFFECT:
                fields[go_field.target or go_field.json_name] = value
        return fields

    def integer(self, node: Number, go_type: GoType, path: list[str]):
        literal = node.literal
        if _INTEGER.fullmatch(literal):
            number = int(literal)
            if go_type.unsigned:
                if 0 <= number < 2 ** go_type.bits:
                    return number
            elif -(2 ** (go_type.bits - 1)) <= number < 2 ** (go_type.bits - 1):
                return number
        return self.refuse("number " + literal, go_type, path)


def check(node, go_type: GoType):
    """A scanned value (first_value) checked against `go_type`: plain Python
    values, None for a null that sets nothing; GoJSONError for Go's first
    type error."""
    checker = _Check(go_type)
    value = checker.value(node, go_type, [])
    if checker.error is not None:
        raise GoJSONError(checker.error)
    return None if value is _NO_EFFECT else value


def from_plain(value):
    """A plain Python JSON value (a google.protobuf.Struct's, say) as the
    scanner keeps one, so that `check` can hold it to a Go type (a number
    keeps only the digits Python shows)."""
    root: list = [None]
    pending: list = [(value, root, 0, None)]  # (value, container, slot, key for an object's pair)
    while pending:
        item, parent, slot, key = pending.pop()
        if isinstance(item, dict):
            node: object = Object((k, None) for k in item)
            pending.extend((v, node, index, k) for index, (k, v) in enumerate(item.items()))
        elif isinstance(item, list):
            node = [None] * len(item)
            pending.extend((v, node, index, None) for index, v in enumerate(item))
        elif isinstance(item, (int, float)) and not isinstance(item, bool):
            node = Number(repr(item))
        else:
            node = item
        parent[slot] = (key, node) if isinstance(parent, Object) else node
    return root[0]


def decode(data: bytes, go_type: GoType):
    """The first JSON value of `data` decoded into `go_type` as Go decodes it
    (see the module's docstring)."""
    return check(first_value(data), go_type)
