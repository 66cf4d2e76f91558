"""HTTP request -> request message, response message -> JSON value.

A body is read whole up to MAX_BODY (413 beyond), within BODY_TIMEOUT
(408 after). The rest are pure functions
over the descriptors (grpc-gateway's conventions): path
parameters and query parameters set fields by name (query by JSON name or
field name; repeated fields take repeated and/or comma-separated values);
`body: "*"` parses the JSON body into the whole message, `body: "field"` into
one field; `response_body` picks the field that is the answer.
"""

from __future__ import annotations

import asyncio
from functools import cache

import orjson
from aiohttp import web
from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from gateway.errors import HTTPError
from services.common.jsonvalues import whole_numbers
from shoal.descriptors import Method

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


def message_json(message: Message) -> dict:
    data = json_format.MessageToDict(message, always_print_fields_with_no_presence=True)
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

