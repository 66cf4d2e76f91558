"""HTTP request -> request message, response message -> JSON value.

A body is read up to MAX_BODY (413 beyond). The rest are pure functions
over the descriptors (grpc-gateway's conventions): path
parameters and query parameters set fields by name (query by JSON name or
field name; repeated fields take repeated and/or comma-separated values);
`body: "*"` parses the JSON body into the whole message, `body: "field"` into
one field; `response_body` picks the field that is the answer.
"""

from __future__ import annotations

from functools import cache

import orjson
from aiohttp import web
from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from gateway.errors import HTTPError
from services.common.jsonvalues import whole_numbers
from shoal.descriptors import Method
from shoal.v1 import options_pb2

MAX_BODY = 1024 * 1024


class BadRequest(Exception):
    """The request cannot become a valid message; the text says why."""


async def read_body(request: web.Request, limit: int = MAX_BODY) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise HTTPError(413, f"request body larger than {limit} bytes")
    body = await request.content.read(limit + 1)
    if len(body) > limit:
        raise HTTPError(413, f"request body larger than {limit} bytes")
    return body


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
        raise BadRequest(f'{field.json_name} must be "true" or "false", got "{text}"')
    if field.type in _INT_TYPES:
        try:
            return int(text)
        except ValueError:
            raise BadRequest(f'{field.json_name} must be an integer, got "{text}"') from None
    if field.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        try:
            return float(text)
        except ValueError:
            raise BadRequest(f'{field.json_name} must be a number, got "{text}"') from None
    raise BadRequest(f"{field.json_name} cannot be given in the query")


def _set(message: Message, field: FieldDescriptor, values: list[str]) -> None:
    if _is_repeated(field):
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            raise BadRequest(f"{field.json_name} cannot be given in the query")
        items = [item.strip() for value in values for item in value.split(",")]
        getattr(message, field.name).extend(_scalar(field, i) for i in items if i)
    else:
        setattr(message, field.name, _scalar(field, values[-1]))


def build_request(
    method: Method,
    path_params: dict[str, str],
    query: list[tuple[str, str]],
    body: bytes | None,
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
    return message


def takes_body(method: Method) -> bool:
    """Whether the body carries anything (an RPC whose fields all come from
    the path, such as a token rotation, may be posted without one)."""
    if method.body != "*":
        return True
    return any(f.name not in method.path_params for f in method.request_class.DESCRIPTOR.fields)


def _parse_body(method: Method, message: Message, body: bytes) -> None:
    if not body.strip():
        raise BadRequest("cannot decode request body: EOF")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise BadRequest(f"cannot decode request body: {error}") from None
    try:
        if method.body == "*":
            if not isinstance(data, dict):
                raise BadRequest("cannot decode request body: expected a JSON object")
            json_format.ParseDict(data, message, ignore_unknown_fields=True)
        else:
            field = message.DESCRIPTOR.fields_by_name[method.body]
            json_format.ParseDict({field.json_name: data}, message, ignore_unknown_fields=True)
    except json_format.ParseError as error:
        raise BadRequest(f"cannot decode request body: {error}") from None


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


@cache
def _has_omit_empty(descriptor) -> bool:
    """Whether a message type, or one it holds, has an `omit_empty` field."""
    seen: set[str] = set()
    pending = [descriptor]
    while pending:
        current = pending.pop()
        if current.full_name in seen or current.full_name.startswith("google.protobuf."):
            continue
        seen.add(current.full_name)
        for field in current.fields:
            if _omits_empty(field):
                return True
            if field.message_type is not None:
                pending.append(field.message_type)
    return False


def _drop_empty(descriptor, data: dict) -> None:
    """Leave out the empty `omit_empty` fields, here and in the messages held."""
    for field in descriptor.fields:
        value = data.get(field.json_name)
        if value is None:
            continue
        if _omits_empty(field) and value in ([], {}):
            del data[field.json_name]
            continue
        held = field.message_type
        if held is None or held.GetOptions().map_entry or not _has_omit_empty(held):
            continue
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict):
                _drop_empty(held, item)


def message_json(message: Message) -> dict:
    data = json_format.MessageToDict(message, always_print_fields_with_no_presence=True)
    if _has_omit_empty(message.DESCRIPTOR):
        _drop_empty(message.DESCRIPTOR, data)
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

