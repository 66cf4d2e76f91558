"""HTTP request -> request message, response message -> JSON value.

A body is read whole up to MAX_BODY (413 beyond), within BODY_TIMEOUT
(408 after). The rest are pure functions
over the descriptors (grpc-gateway's conventions): path
parameters and query parameters set fields by name (query by JSON name or
field name; repeated fields take repeated and/or comma-separated values);
`body: "*"` parses the JSON body into the whole message, `body: "field"` into
one field; `response_body` picks the field that is the answer. A field with
the `from_header` option takes that request header's value when it is sent.

A Pebble route's body (the `go_body` option) is decoded as Pebble decodes
it (services/common/gojson.py): the first JSON value, checked against the Go
type of Pebble's handler struct, which `body_type` builds from the request
message's fields and their `go_type`/`go_shape` options; a refusal is the
route's own prefix and Go's text. Other bodies are strict JSON.

No refusal repeats the input it refuses.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from functools import cache

import orjson
from aiohttp import web
from google.protobuf import descriptor_pool, json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from gateway.errors import HTTPError
from services.common import gojson
from services.common.jsonvalues import whole_numbers
from shoal.descriptors import Method
from shoal.v1 import options_pb2

MAX_BODY = 1024 * 1024
BODY_TIMEOUT = 30.0  # seconds for a request body to arrive in full


class BadRequest(Exception):
    """The request cannot become a valid message; the text says why."""


async def read_body(request: web.Request, limit: int = MAX_BODY, within: float = BODY_TIMEOUT) -> bytes:
    """The whole body, however many chunks it arrives in: 413 past `limit`
    bytes, 408 when it has not all arrived within `within` seconds."""
    if request.content_length is not None and request.content_length > limit:
        raise HTTPError(413, f"request body larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(within):
            while chunk := await request.content.read(limit + 1 - size):
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:
                    raise HTTPError(413, f"request body larger than {limit} bytes")
    except TimeoutError:
        raise HTTPError(408, f"request body not received within {within:g} s") from None
    return b"".join(chunks)


_INT_TYPES = {
    FieldDescriptor.TYPE_INT32,
    FieldDescriptor.TYPE_INT64,
    FieldDescriptor.TYPE_UINT32,
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_SINT32,
    FieldDescriptor.TYPE_SINT64,
}


def _is_repeated(field: FieldDescriptor) -> bool:
    return field.is_repeated


def _scalar(field: FieldDescriptor, text: str):
    if field.type == FieldDescriptor.TYPE_STRING:
        return text
    if field.type == FieldDescriptor.TYPE_BOOL:
        if text in ("true", "1"):
            return True
        if text in ("false", "0", ""):
            return False
        raise BadRequest(f'{field.json_name} must be "true" or "false"')
    if field.type in _INT_TYPES:
        try:
            return int(text)
        except ValueError:
            raise BadRequest(f"{field.json_name} must be an integer") from None
    if field.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        try:
            return float(text)
        except ValueError:
            raise BadRequest(f"{field.json_name} must be a number") from None
    raise BadRequest(f"{field.json_name} cannot be given in the query")


def _set(message: Message, field: FieldDescriptor, values: list[str]) -> None:
    try:
        if _is_repeated(field):
            if field.type == FieldDescriptor.TYPE_MESSAGE:
                raise BadRequest(f"{field.json_name} cannot be given in the query")
            items = [item.strip() for value in values for item in value.split(",")]
            getattr(message, field.name).extend(_scalar(field, i) for i in items if i)
        else:
            setattr(message, field.name, _scalar(field, values[-1]))
    except (ValueError, TypeError):  # a number the field cannot hold
        raise BadRequest(f"{field.json_name} is out of range") from None


@cache
def _header_fields(descriptor) -> tuple[tuple[str, str], ...]:
    """(field name, header) of the fields a request header may give."""
    return tuple(
        (field.name, field.GetOptions().Extensions[options_pb2.from_header])
        for field in descriptor.fields
        if field.GetOptions().Extensions[options_pb2.from_header]
    )


def build_request(
    method: Method,
    path_params: dict[str, str],
    query: list[tuple[str, str]],
    body: bytes | None,
    headers: Mapping[str, str] | None = None,
) -> Message:
    """The request message for `method` from the parts of an HTTP request."""
    message = method.request_class()
    fields = message.DESCRIPTOR.fields_by_name
    if method.body and body is not None and (body.strip() or takes_body(method)):
        _parse_body(method, message, body)
    by_query_name = {}
    for field in message.DESCRIPTOR.fields:
        by_query_name[field.json_name] = field
        by_query_name[field.name] = field
    grouped: dict[str, list[str]] = {}
    for key, value in query:
        field = by_query_name.get(key)
        if field is not None and field.name not in path_params and method.body != "*":
            grouped.setdefault(field.name, []).append(value)
    for name, values in grouped.items():
        _set(message, fields[name], values)
    for name, value in path_params.items():
        _set(message, fields[name], [value])
    for name, header in _header_fields(message.DESCRIPTOR):
        value = (headers or {}).get(header, "")
        if value:
            setattr(message, name, value)
    return message


def takes_body(method: Method) -> bool:
    """Whether the body carries anything (an RPC whose fields all come from
    the path, such as a token rotation, may be posted without one)."""
    if method.body != "*":
        return True
    return any(f.name not in method.path_params for f in method.request_class.DESCRIPTOR.fields)


def _parse_body(method: Method, message: Message, body: bytes) -> None:
    if method.go_body is not None:
        _parse_go_body(method, message, body)
        return
    if not body.strip():
        raise BadRequest("cannot decode request body: EOF")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise BadRequest(f"cannot decode request body: {error}") from None
    if method.body == "*" and not isinstance(data, dict):
        raise BadRequest("cannot decode request body: expected a JSON object")
    if method.body != "*":
        data = {message.DESCRIPTOR.fields_by_name[method.body].json_name: data}
    _fill(message, data, "cannot decode request body")


def _parse_go_body(method: Method, message: Message, body: bytes) -> None:
    prefix = method.go_body.error_prefix
    try:
        value = gojson.decode(body, body_type(method))
    except gojson.GoJSONError as error:
        raise BadRequest(f"{prefix}: {error}") from None
    if value:
        _fill(message, value, prefix)


_FIELD = re.compile(r"Failed to parse (\S+) field")


def _fill(message: Message, data: dict, prefix: str) -> None:
    """`message` from decoded JSON; a value that does not fit its field is
    refused naming the field, never repeating the value."""
    try:
        json_format.ParseDict(data, message, ignore_unknown_fields=True)
    except json_format.ParseError as error:
        if "too deep" in str(error):
            raise BadRequest(f"{prefix}: nested too deeply") from None
        found = _FIELD.search(str(error))
        named = f'"{found.group(1)}" ' if found else "a field "
        raise BadRequest(f"{prefix}: {named}cannot hold the value given") from None
    except RecursionError:
        raise BadRequest(f"{prefix}: nested too deeply") from None


def decode_go(body: bytes, go_type: gojson.GoType, prefix: str) -> dict:
    """A body a hand-written handler decodes as Pebble's does (the files
    routes): the decoded object ({} for null), or BadRequest with `prefix`
    and Go's text."""
    try:
        value = gojson.decode(body, go_type)
    except gojson.GoJSONError as error:
        raise BadRequest(f"{prefix}: {error}") from None
    return value or {}


# The bodies of Pebble's files routes, as its handlers declare them (the
# request messages are shaped differently, so these are written out here).
_FILE_OWNER = [gojson.GoField("user-id", gojson.pointer(gojson.INT)), gojson.GoField("user", gojson.STRING),
               gojson.GoField("group-id", gojson.pointer(gojson.INT)), gojson.GoField("group", gojson.STRING)]
_MAKE_DIRS_ITEM = gojson.struct("daemon.makeDirsItem", [
    gojson.GoField("path", gojson.STRING), gojson.GoField("make-parents", gojson.BOOL),
    gojson.GoField("permissions", gojson.STRING), *_FILE_OWNER])
_REMOVE_PATHS_ITEM = gojson.struct("daemon.removePathsItem", [
    gojson.GoField("path", gojson.STRING), gojson.GoField("recursive", gojson.BOOL)])
_WRITE_FILES_ITEM = gojson.struct("daemon.writeFilesItem", [
    gojson.GoField("path", gojson.STRING), gojson.GoField("make-dirs", gojson.BOOL),
    gojson.GoField("permissions", gojson.STRING), *_FILE_OWNER])
FILES_ACTION = gojson.struct(
    'struct { Action string "json:\\"action\\""; Dirs []daemon.makeDirsItem "json:\\"dirs\\""; '
    'Paths []daemon.removePathsItem "json:\\"paths\\"" }',
    [gojson.GoField("action", gojson.STRING), gojson.GoField("dirs", gojson.slice_of(_MAKE_DIRS_ITEM)),
     gojson.GoField("paths", gojson.slice_of(_REMOVE_PATHS_ITEM))])
FILES_WRITE_METADATA = gojson.struct(
    'struct { Action string "json:\\"action\\""; Files []daemon.writeFilesItem "json:\\"files\\"" }',
    [gojson.GoField("action", gojson.STRING), gojson.GoField("files", gojson.slice_of(_WRITE_FILES_ITEM))])


# -- the Go types of Pebble's bodies --------------------------------------------------
_STRUCT_TYPES = ("google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue")
_INT_BITS = {
    FieldDescriptor.TYPE_INT32: (32, False), FieldDescriptor.TYPE_SINT32: (32, False),
    FieldDescriptor.TYPE_SFIXED32: (32, False), FieldDescriptor.TYPE_INT64: (64, False),
    FieldDescriptor.TYPE_SINT64: (64, False), FieldDescriptor.TYPE_SFIXED64: (64, False),
    FieldDescriptor.TYPE_UINT32: (32, True), FieldDescriptor.TYPE_FIXED32: (32, True),
    FieldDescriptor.TYPE_UINT64: (64, True), FieldDescriptor.TYPE_FIXED64: (64, True),
}
# Pebble's handler structs use Go's int for what the protos hold as int32.
_GO_INTS = {(32, False): "int", (64, False): "int64", (32, True): "uint32", (64, True): "uint64"}
_GO_INT_BITS = {"int": 64, "int64": 64, "int32": 32, "uint32": 32, "uint64": 64, "uint": 64}


@cache
def body_type(method: Method) -> gojson.GoType:
    """The Go type Pebble decodes `method`'s body into: its `go_body` name
    over the request message's fields (the path's own parameters aside)."""
    descriptor = method.request_class.DESCRIPTOR
    return gojson.struct(method.go_body.go_type,
                         _go_fields(descriptor, skip=frozenset(method.path_params)))


def _go_fields(descriptor: Descriptor, skip: frozenset = frozenset()) -> list[gojson.GoField]:
    return [gojson.GoField(fd.json_name, _field_type(fd)) for fd in descriptor.fields if fd.name not in skip]


def _field_type(fd: FieldDescriptor) -> gojson.GoType:
    named = fd.GetOptions().Extensions[options_pb2.go_type]
    if fd.message_type is not None and fd.message_type.GetOptions().map_entry:
        return gojson.map_of(_one(fd.message_type.fields_by_name["value"], ""), named)
    if fd.is_repeated:
        return gojson.slice_of(_one(fd, named[2:] if named.startswith("[]") else ""), named)
    one = _one(fd, named)
    if fd.message_type is None and fd.has_presence and not one.pointer:
        return gojson.pointer(one)  # proto3 `optional`: Go's pointer, null is nil
    return one


def _one(fd: FieldDescriptor, named: str) -> gojson.GoType:
    """The Go type of one value of `fd` (an element, for a list)."""
    message = fd.message_type
    if message is not None and message.full_name in _STRUCT_TYPES:
        shape = fd.GetOptions().Extensions[options_pb2.go_shape]
        if named.startswith("map[string]") and shape:
            elem_name = named[len("map[string]"):]
            shaped = descriptor_pool.Default().FindMessageTypeByName(shape)
            return gojson.map_of(gojson.struct(elem_name, _go_fields(shaped)), named)
        return gojson.GoType(named or "jsontext.Value", "raw")
    if message is not None:
        return gojson.struct(named or message.name, _go_fields(message))
    if fd.type == FieldDescriptor.TYPE_STRING:
        return gojson.GoType(named or "string", "string")
    if fd.type == FieldDescriptor.TYPE_BOOL:
        return gojson.GoType(named or "bool", "bool")
    if fd.type in _INT_BITS:
        bits, unsigned = _INT_BITS[fd.type]
        name = named or _GO_INTS[bits, unsigned]
        go_bits = _GO_INT_BITS.get(name.lstrip("*"), bits)
        return gojson.integer(name, min(bits, go_bits), unsigned)  # what the field can hold, at most
    return gojson.GoType(named or "jsontext.Value", "raw")


@cache
def _has_loose_numbers(descriptor) -> bool:
    """Whether a message type holds Struct/Value or double fields, whose
    whole numbers MessageToDict renders as floats."""
    seen: set[str] = set()
    pending = [descriptor]
    while pending:
        current = pending.pop()
        if current.full_name in seen:
            continue
        seen.add(current.full_name)
        if current.full_name.startswith("google.protobuf.") and current.full_name != "google.protobuf.Empty":
            return True
        for field in current.fields:
            if field.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
                return True
            if field.message_type is not None:
                pending.append(field.message_type)
    return False


def _omits_empty(field) -> bool:
    return field.GetOptions().Extensions[options_pb2.omit_empty]


def _null_unset(field) -> bool:
    return field.GetOptions().Extensions[options_pb2.null_unset]


@cache
def _has_go_shaping(descriptor) -> bool:
    """Whether a message type, or one it holds, has an `omit_empty` or a
    `null_unset` field."""
    seen: set[str] = set()
    pending = [descriptor]
    while pending:
        current = pending.pop()
        if current.full_name in seen or current.full_name.startswith("google.protobuf."):
            continue
        seen.add(current.full_name)
        for field in current.fields:
            if _omits_empty(field) or _null_unset(field):
                return True
            if field.message_type is not None:
                pending.append(field.message_type)
    return False


def _go_shape(descriptor, data: dict) -> None:
    """Leave out the empty `omit_empty` fields and give the unset `null_unset`
    ones as null, here and in the messages held."""
    for field in descriptor.fields:
        value = data.get(field.json_name)
        if value is None:
            if _null_unset(field):
                data[field.json_name] = None
            continue
        if _omits_empty(field) and value in ([], {}):
            del data[field.json_name]
            continue
        held = field.message_type
        if held is None or held.GetOptions().map_entry or not _has_go_shaping(held):
            continue
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict):
                _go_shape(held, item)


def message_json(message: Message) -> dict:
    data = json_format.MessageToDict(message, always_print_fields_with_no_presence=True)
    if _has_go_shaping(message.DESCRIPTOR):
        _go_shape(message.DESCRIPTOR, data)
    return whole_numbers(data) if _has_loose_numbers(message.DESCRIPTOR) else data


def to_json_value(method: Method, response: Message):
    """The JSON value of the answer (the `response_body` field, or the whole message)."""
    data = message_json(response)
    if not method.response_body:
        return data
    field = response.DESCRIPTOR.fields_by_name[method.response_body]
    if field.json_name in data:
        return data[field.json_name]
    return [] if _is_repeated(field) else None

