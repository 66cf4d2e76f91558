"""An OpenAPI 3 document generated from the same descriptors as the routes."""

from __future__ import annotations

from functools import cache

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from gateway.transcode import takes_body
from shoal.descriptors import Method, all_methods
from shoal.v1 import options_pb2

_SCALARS = {
    FieldDescriptor.TYPE_STRING: {"type": "string"},
    FieldDescriptor.TYPE_BOOL: {"type": "boolean"},
    FieldDescriptor.TYPE_INT32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_UINT32: {"type": "integer", "minimum": 0},
    FieldDescriptor.TYPE_SINT32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_INT64: {"type": "string", "format": "int64"},
    FieldDescriptor.TYPE_UINT64: {"type": "string", "format": "uint64"},
    FieldDescriptor.TYPE_DOUBLE: {"type": "number"},
    FieldDescriptor.TYPE_FLOAT: {"type": "number"},
    FieldDescriptor.TYPE_BYTES: {"type": "string", "format": "byte"},
}
_WELL_KNOWN = {
    "google.protobuf.Struct": {"type": "object", "additionalProperties": True},
    "google.protobuf.ListValue": {"type": "array", "items": {}},
    "google.protobuf.Value": {},
    "google.protobuf.Empty": {"type": "object"},
}


def _ref(descriptor: Descriptor, schemas: dict) -> dict:
    if descriptor.full_name in _WELL_KNOWN:
        return dict(_WELL_KNOWN[descriptor.full_name])
    name = descriptor.full_name.replace("shoal.v1.", "").replace(".", "_")
    if name not in schemas:
        schemas[name] = {}  # placeholder against recursion
        schemas[name] = _object(descriptor, schemas)
    return {"$ref": f"#/components/schemas/{name}"}


def _field_schema(field: FieldDescriptor, schemas: dict) -> dict:
    """A field's schema. JSON null is accepted for any field and means unset
    (ops sends null for the options it leaves out), hence nullable."""
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        value = field.message_type.fields_by_name["value"]
        return {"type": "object", "additionalProperties": _single(value, schemas), "nullable": True}
    single = _single(field, schemas)
    if field.is_repeated:
        return {"type": "array", "items": single, "nullable": True}
    if "$ref" in single:
        return single
    return {**single, "nullable": True}


def _single(field: FieldDescriptor, schemas: dict) -> dict:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return _ref(field.message_type, schemas)
    if field.type == FieldDescriptor.TYPE_ENUM:
        return {"type": "string", "enum": [v.name for v in field.enum_type.values]}
    return dict(_SCALARS[field.type])


def _object(descriptor: Descriptor, schemas: dict, skip: tuple[str, ...] = ()) -> dict:
    properties = {
        f.json_name: _field_schema(f, schemas) for f in descriptor.fields if f.name not in skip
    }
    return {"type": "object", "properties": properties}


_PEBBLE_ERROR = {
    "type": "object",
    "required": ["type", "status-code", "status", "result"],
    "properties": {
        "type": {"type": "string", "enum": ["error"]},
        "status-code": {"type": "integer"},
        "status": {"type": "string"},
        "result": {
            "type": "object",
            "required": ["message"],
            "properties": {"message": {"type": "string"}, "kind": {"type": "string"}, "value": {}},
        },
    },
}
_LIGHTHOUSE_ERROR = {
    "type": "object",
    "required": ["Cause", "Message"],
    "properties": {"Cause": {"type": "string"}, "Message": {"type": "string"}},
}
_SECURITY_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
}
_ERRORS = {"pebble": _PEBBLE_ERROR, "lighthouse": _LIGHTHOUSE_ERROR, "security": _SECURITY_ERROR}

# Hand-written handlers whose wire shape is not JSON of the response message.
_RAW = {
    "pebble_logs": ("application/x-ndjson", {"type": "string"}),
    "pebble_files_get": ("multipart/form-data", {"type": "string"}),
    "session_logout": ("application/json", {"type": "object", "properties": {
        "success": {"type": "boolean"}, "message": {"type": "string"}}}),
}
_NO_BODY = {"session_logout"}  # hand-written handlers that read no request body


def _pebble_envelope(kind: str, result: dict | None) -> dict:
    properties: dict = {
        "type": {"type": "string", "enum": [kind]},
        "status-code": {"type": "integer"},
        "status": {"type": "string"},
    }
    if kind == "async":
        properties["change"] = {"type": "string"}
    if result is not None:
        properties["result"] = result
    return {"type": "object", "required": ["type", "status-code", "status"], "properties": properties}


def _query_param(field: FieldDescriptor, schemas: dict) -> dict:
    """A query parameter; the values Pebble accepts from a fixed set are the
    field's `query_values` option (anything else is 400; "" means unset)."""
    schema = _field_schema(field, schemas)
    options = field.GetOptions()
    if options.Extensions[options_pb2.query_values]:
        schema = {"type": "string", "enum": list(options.Extensions[options_pb2.query_values])}
    required = options.Extensions[options_pb2.query_required]
    param = {"name": field.json_name, "in": "query", "required": required, "schema": schema}
    if field.is_repeated and field.type == FieldDescriptor.TYPE_STRING:
        # Pebble's lists of names are one comma-separated string on the wire
        # (the parameter may also repeat); any string is a valid list.
        param["schema"] = {"type": "string", "description": "comma-separated list"}
    elif field.is_repeated:
        param.update(style="form", explode=False)
    return param


def _success(method: Method, schemas: dict) -> tuple[str, dict]:
    """The status and response object of a successful call."""
    response = method.response_class.DESCRIPTOR
    if method.handler == "session_logout" and method.family == "lighthouse":
        return "200", {"description": "OK (empty body)"}
    if method.handler == "raw_text":
        # Prometheus text, or (as Pebble answers when there is nothing to
        # report) an empty body with no Content-Type: no one media type.
        return "200", {"description": "OK: Prometheus text (text/plain), or an empty body without a Content-Type"}
    if method.handler in _RAW:
        content_type, schema = _RAW[method.handler]
        return "200", {"description": "OK", "content": {content_type: {"schema": schema}}}
    if method.server_streaming:
        return "200", {"description": "newline-delimited JSON objects, one per event",
                       "content": {"application/x-ndjson": {"schema": {"type": "string"}}}}
    if method.response_body:
        result = _field_schema(response.fields_by_name[method.response_body], schemas)
    else:
        result = _ref(response, schemas)
    empty = response.full_name == "google.protobuf.Empty"
    if method.family == "pebble":
        if method.async_change:
            envelope = _pebble_envelope("async", {"oneOf": [{"type": "object"}, {"nullable": True}]})
            return "202", {"description": "Accepted (a change)", "content": {"application/json": {"schema": envelope}}}
        return "200", {"description": "OK", "content": {"application/json": {
            "schema": _pebble_envelope("sync", None if empty else result)}}}
    if empty:
        if method.family == "security":
            return "204", {"description": "No Content"}
        return "200", {"description": "OK (empty body)"}
    return "200", {"description": "OK", "content": {"application/json": {"schema": result}}}


def _operation(method: Method, schemas: dict) -> dict:
    request = method.request_class.DESCRIPTOR
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in method.path_params
    ]
    if method.body != "*":
        for field in request.fields:
            if field.name in method.path_params or field.name == method.body:
                continue
            if field.type == FieldDescriptor.TYPE_MESSAGE:
                continue
            params.append(_query_param(field, schemas))
    error = {"description": "error in the API family's shape",
             "content": {"application/json": {"schema": _ERRORS[method.family]}}}
    op: dict = {
        "operationId": f"{method.service}.{method.name}",
        "tags": [method.service],
        "x-shoal-access": method.access,
        "parameters": params,
        "responses": {"default": error},
    }
    if method.handler in _NO_BODY or not takes_body(method):
        pass  # nothing to send (a token rotation: every field is in the path)
    elif method.body == "*" and not method.client_streaming:
        op["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": _object(request, schemas, skip=tuple(method.path_params))}}}
    elif method.body and not method.client_streaming:
        op["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": _field_schema(request.fields_by_name[method.body], schemas)}}}
    status, success = _success(method, schemas)
    op["responses"][status] = success
    if method.healthy_field:
        op["responses"]["502"] = {"description": "unhealthy (still a sync envelope)",
                                  "content": {"application/json": {"schema": success["content"]["application/json"]["schema"]}}}
    return op


_OWNER = {"user-id": {"type": "integer", "nullable": True}, "user": {"type": "string", "nullable": True},
          "group-id": {"type": "integer", "nullable": True}, "group": {"type": "string", "nullable": True},
          "permissions": {"type": "string", "nullable": True}}


def _files_post_operation(method: Method) -> dict:
    """POST /v1/files: a multipart write, or a JSON make-dirs / remove (spec §2.8)."""
    result = {"type": "array", "items": {"type": "object", "required": ["path"], "properties": {
        "path": {"type": "string"}, "error": {"type": "object", "properties": {
            "message": {"type": "string"}, "kind": {"type": "string"}}}}}}
    actions = {"type": "object", "required": ["action"], "properties": {
        "action": {"type": "string", "enum": ["make-dirs", "remove", "write"]},
        "dirs": {"type": "array", "items": {"type": "object", "properties": {
            "path": {"type": "string"}, "make-parents": {"type": "boolean"}, **_OWNER}}},
        "paths": {"type": "array", "items": {"type": "object", "properties": {
            "path": {"type": "string"}, "recursive": {"type": "boolean"}}}},
    }}
    return {
        "operationId": "plan.WriteFiles",
        "tags": ["plan"],
        "x-shoal-access": method.access,
        "parameters": [],
        "requestBody": {"required": True, "content": {
            "application/json": {"schema": actions},
            "multipart/form-data": {"schema": {"type": "object"}},
        }},
        "responses": {
            "default": {"description": "error in the API family's shape",
                        "content": {"application/json": {"schema": _PEBBLE_ERROR}}},
            "200": {"description": "OK", "content": {"application/json": {
                "schema": _pebble_envelope("sync", result)}}},
        },
    }


@cache
def openapi_document() -> dict:
    schemas: dict = {}
    paths: dict = {}
    for method in all_methods():
        if not method.http_method or method.http_verb or method.client_streaming:
            # Custom verbs and upload streams share a route with the method
            # documented here (their handler dispatches on the request).
            continue
        if method.handler == "pebble_websocket":
            continue
        path = method.http_path + (f":{method.http_verb}" if method.http_verb else "")
        paths.setdefault(path, {})[method.http_method.lower()] = _operation(method, schemas)
    write_files = next(m for m in all_methods() if m.handler == "pebble_files_post")
    paths.setdefault(write_files.http_path, {})["post"] = _files_post_operation(write_files)
    return {
        "openapi": "3.0.3",
        "info": {"title": "Shoal", "version": "v1"},
        "paths": paths,
        "components": {"schemas": schemas},
    }
