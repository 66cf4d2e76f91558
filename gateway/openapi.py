"""An OpenAPI 3 document generated from the same descriptors as the routes."""

from __future__ import annotations

from functools import cache

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from shoal.descriptors import Method, all_methods

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
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        value = field.message_type.fields_by_name["value"]
        return {"type": "object", "additionalProperties": _single(value, schemas)}
    single = _single(field, schemas)
    if field.is_repeated:
        return {"type": "array", "items": single}
    return single


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
            params.append({"name": field.json_name, "in": "query", "required": False,
                           "schema": _field_schema(field, schemas)})
    op: dict = {
        "operationId": f"{method.service}.{method.name}",
        "tags": [method.service],
        "x-shoal-access": method.access,
        "parameters": params,
        "responses": {"default": {"description": "error in the API family's shape"}},
    }
    if method.body == "*":
        op["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": _object(request, schemas, skip=tuple(method.path_params))}}}
    elif method.body:
        op["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": _field_schema(request.fields_by_name[method.body], schemas)}}}
    response = method.response_class.DESCRIPTOR
    if method.response_body:
        result = _field_schema(response.fields_by_name[method.response_body], schemas)
    else:
        result = _ref(response, schemas)
    op["responses"]["200"] = {"description": "OK", "content": {"application/json": {"schema": result}}}
    return op


@cache
def openapi_document() -> dict:
    schemas: dict = {}
    paths: dict = {}
    for method in all_methods():
        if not method.http_method:
            continue
        path = method.http_path + (f":{method.http_verb}" if method.http_verb else "")
        paths.setdefault(path, {})[method.http_method.lower()] = _operation(method, schemas)
    return {
        "openapi": "3.0.3",
        "info": {"title": "Shoal", "version": "v1"},
        "paths": paths,
        "components": {"schemas": schemas},
    }
