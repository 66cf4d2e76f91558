"""Pebble's files routes (spec §2.8): multipart on the wire, streamed both
ways so a large push or pull never sits in the gateway's memory.

GET /v1/files?action=read answers a multipart body: one `files` part per
readable path (streamed from ReadFile), then a `response` part with the
per-path results. GET ?action=list is ListFiles. POST multipart is one
client-streaming WriteFiles call fed part by part; POST JSON is MakeDirs or
RemovePaths.
"""

from __future__ import annotations

import json
import secrets
from email.message import Message

import grpc
import orjson
from aiohttp import web
from aiohttp.multipart import MultipartReader

from gateway.calls import deadline_for, first_message
from gateway.errors import HTTPError
from gateway.routes.context import Handler, RouteContext
from gateway.shaping import guarded, pebble_envelope, pebble_sync
from gateway.transcode import message_json, read_body
from shoal.descriptors import Method
from shoal.v1 import plan_pb2

UPLOAD_CHUNK = 64 * 1024
MIN_BOUNDARY = 32
MAX_METADATA = 1024 * 1024


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _results(results) -> list[dict]:
    out = []
    for result in results:
        item = {"path": result.path}
        if result.HasField("error"):
            item["error"] = {"message": result.error.message, "kind": result.error.kind}
        out.append(item)
    return out


def _authorized(ctx: RouteContext, method: Method, work) -> Handler:
    """Authorize for `method`, then run `work`; every refusal is answered
    by the one failure path."""

    async def handle(request: web.Request) -> web.StreamResponse:
        return await work(request, await ctx.gate.authorize(request, method))

    return guarded(method, handle)


# -- GET -----------------------------------------------------------------------
def pebble_files_get(ctx: RouteContext, methods: list[Method]) -> Handler:
    by_name = {m.name: m for m in methods}
    read, listing = by_name["ReadFile"], by_name["ListFiles"]

    async def work(request: web.Request, caller) -> web.StreamResponse:
        action = request.query.get("action", "")
        if action == "read":
            return await _read(ctx, read, request, caller)
        if action == "list":
            message = plan_pb2.ListFilesRequest(path=request.query.get("path", ""),
                                                pattern=request.query.get("pattern", ""),
                                                itself=request.query.get("itself", ""))
            answer = await ctx.calls.callable(listing)(message, metadata=ctx.calls.metadata(caller),
                                                       timeout=deadline_for(listing, message))
            return pebble_sync(message_json(answer).get("files", []))
        raise HTTPError(400, f'invalid action "{action}"')

    return _authorized(ctx, read, work)


async def _read(ctx: RouteContext, method: Method, request: web.Request, caller) -> web.StreamResponse:
    paths = request.query.getall("path", [])
    if not paths:
        raise HTTPError(400, "must specify one or more paths")
    if request.headers.get("Accept") != "multipart/form-data":
        raise HTTPError(400, "must accept multipart/form-data")
    boundary = secrets.token_hex(30)
    # Open the first file before answering, so a service that is down is a 502.
    first_call = _open(ctx, method, paths[0], caller)
    first_chunk = await _first(first_call)
    response = web.StreamResponse(status=200)
    response.content_type = "multipart/form-data"
    response.headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
    await response.prepare(request)
    results = []
    for index, path in enumerate(paths):
        if index == 0:
            call, chunk = first_call, first_chunk
        else:
            call = _open(ctx, method, path, caller)
            try:
                chunk = await _first(call)
            except grpc.aio.AioRpcError as err:
                results.append({"path": path, "error": {"message": err.details() or "cannot read file",
                                                        "kind": "generic-file-error"}})
                continue
        try:
            if chunk.HasField("error"):
                results.append({"path": path, "error": {"message": chunk.error.message, "kind": chunk.error.kind}})
                continue
            await response.write(
                f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{_quote(path)}"\r\n'
                f"Content-Type: application/octet-stream\r\n\r\n".encode()
            )
            await response.write(chunk.data)
            try:
                async for more in call:
                    await response.write(more.data)
                results.append({"path": path})
            except grpc.aio.AioRpcError as err:
                results.append({"path": path, "error": {"message": err.details() or "read interrupted",
                                                        "kind": "generic-file-error"}})
            await response.write(b"\r\n")
        finally:
            call.cancel()
    envelope = pebble_envelope("sync", 200, results)
    await response.write(
        f'--{boundary}\r\nContent-Type: application/json\r\nContent-Disposition: form-data; name="response"\r\n\r\n'.encode()
        + orjson.dumps(envelope) + f"\n\r\n--{boundary}--\r\n".encode()
    )
    await response.write_eof()
    return response


def _open(ctx: RouteContext, method: Method, path: str, caller):
    return ctx.calls.callable(method)(plan_pb2.ReadFileRequest(path=path), metadata=ctx.calls.metadata(caller))


async def _first(call) -> plan_pb2.FileChunk:
    return await first_message(call) or plan_pb2.FileChunk()


# -- POST ----------------------------------------------------------------------
def pebble_files_post(ctx: RouteContext, methods: list[Method]) -> Handler:
    by_name = {m.name: m for m in methods}
    write, make_dirs, remove = by_name["WriteFiles"], by_name["MakeDirs"], by_name["RemovePaths"]

    async def work(request: web.Request, caller) -> web.StreamResponse:
        content_type = request.headers.get("Content-Type", "")
        media, params = _media_type(content_type)
        if media == "multipart/form-data":
            if len(params.get("boundary", "")) < MIN_BOUNDARY:
                raise HTTPError(400, f'invalid boundary "{params.get("boundary", "")}"')
            return await _write(ctx, write, request, caller)
        if media != "application/json":
            raise HTTPError(400, f'invalid media type "{media}"')
        try:
            payload = json.loads(await read_body(request) or b"null")
        except ValueError as error:
            raise HTTPError(400, f"cannot decode request body: {error}") from None
        if not isinstance(payload, dict):
            raise HTTPError(400, "cannot decode request body: expected a JSON object")
        action = payload.get("action")
        if action == "make-dirs":
            message = plan_pb2.MakeDirsRequest(dirs=[_make_dir_spec(item) for item in _items(payload, "dirs")])
            method = make_dirs
        elif action == "remove":
            message = plan_pb2.RemovePathsRequest(paths=[
                plan_pb2.RemovePathSpec(path=_field(item, "path", str, ""),
                                        recursive=_field(item, "recursive", bool, False))
                for item in _items(payload, "paths")])
            method = remove
        elif action == "write":
            raise HTTPError(400, 'must use multipart with "write" action')
        else:
            raise HTTPError(400, f'invalid action "{action if isinstance(action, str) else ""}"')
        answer = await ctx.calls.callable(method)(message, metadata=ctx.calls.metadata(caller),
                                                  timeout=deadline_for(method, message))
        return pebble_sync(_results(answer.results))

    return _authorized(ctx, write, work)


def _media_type(value: str) -> tuple[str, dict[str, str]]:
    if not value.strip():
        raise HTTPError(400, f'invalid Content-Type "{value}"')
    header = Message()
    header["Content-Type"] = value
    media = header.get_content_type()
    if "/" not in value.split(";")[0]:
        raise HTTPError(400, f'invalid Content-Type "{value}"')
    return media, {k.lower(): v for k, v in header.get_params()[1:]}


def _filename(disposition: str) -> str:
    """The part's filename exactly as sent (aiohttp's own strips a leading /)."""
    header = Message()
    header["Content-Disposition"] = disposition
    return header.get_param("filename", "", header="Content-Disposition") or ""


def _items(payload: dict, key: str) -> list[dict]:
    items = payload.get(key)
    if items is None:
        return []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise HTTPError(400, f'cannot decode request body: "{key}" must be a list of objects')
    return items


def _field(item: dict, key: str, kind: type, default):
    value = item.get(key)
    if value is None:
        return default
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise HTTPError(400, f'cannot decode request body: "{key}" must be {kind.__name__}')
    if kind is int and not 0 <= value < 2**32:
        raise HTTPError(400, f'cannot decode request body: "{key}" out of range')
    return value


def _owner(item: dict) -> plan_pb2.FileOwner:
    owner = plan_pb2.FileOwner(user=_field(item, "user", str, ""), group=_field(item, "group", str, ""))
    if item.get("user-id") is not None:
        owner.user_id = _field(item, "user-id", int, 0)
    if item.get("group-id") is not None:
        owner.group_id = _field(item, "group-id", int, 0)
    return owner


def _make_dir_spec(item: dict) -> plan_pb2.MakeDirSpec:
    return plan_pb2.MakeDirSpec(path=_field(item, "path", str, ""),
                                make_parents=_field(item, "make-parents", bool, False),
                                permissions=_field(item, "permissions", str, ""), owner=_owner(item))


def _write_spec(item: dict) -> plan_pb2.WriteFileSpec:
    return plan_pb2.WriteFileSpec(path=_field(item, "path", str, ""), make_dirs=_field(item, "make-dirs", bool, False),
                                  permissions=_field(item, "permissions", str, ""), owner=_owner(item))


async def _write(ctx: RouteContext, method: Method, request: web.Request, caller) -> web.StreamResponse:
    """Stream each uploaded part into one WriteFiles call. The service puts
    the files in place only when the call ends cleanly, so a refused part
    (cancelling the call) leaves every file as it was."""
    reader = MultipartReader(request.headers, request.content)
    part = await reader.next()
    if part is None:
        raise HTTPError(400, "cannot read request metadata: no parts")
    if part.name != "request":
        raise HTTPError(400, f'metadata field name must be "request", got "{part.name or ""}"')
    raw = await part.read_chunk(MAX_METADATA + 1)
    while len(raw) <= MAX_METADATA:
        more = await part.read_chunk(MAX_METADATA + 1 - len(raw))
        if not more:
            break
        raw += more
    if len(raw) > MAX_METADATA:
        raise HTTPError(413, f"request metadata larger than {MAX_METADATA} bytes")
    try:
        payload = json.loads(raw)
    except ValueError as error:
        raise HTTPError(400, f"cannot decode request metadata: {error}") from None
    if not isinstance(payload, dict):
        raise HTTPError(400, "cannot decode request metadata: expected a JSON object")
    if payload.get("action") != "write":
        action = payload.get("action")
        raise HTTPError(400, f'multipart action must be "write", got "{action if isinstance(action, str) else ""}"')
    items = _items(payload, "files")
    if not items:
        raise HTTPError(400, "must specify one or more files")
    specs = {}
    for item in items:
        spec = _write_spec(item)
        specs[spec.path] = spec
    call = ctx.calls.callable(method)(metadata=ctx.calls.metadata(caller))
    try:
        while (part := await reader.next()) is not None:
            if part.name != "files":
                raise HTTPError(400, f'field name must be "files", got "{part.name or ""}"')
            path = _filename(part.headers.get("Content-Disposition", ""))
            if path not in specs:
                raise HTTPError(400, f'no metadata for path "{path}"')
            await call.write(plan_pb2.WriteFilesChunk(spec=specs[path]))
            while data := await part.read_chunk(UPLOAD_CHUNK):
                await call.write(plan_pb2.WriteFilesChunk(data=data))
            await call.write(plan_pb2.WriteFilesChunk(end_of_file=True))
        await call.done_writing()
        answer = await call
    except BaseException:
        call.cancel()
        raise
    written = {r["path"]: r for r in _results(answer.results)}
    results = [written.get(spec.path) or {"path": spec.path, "error": {
        "message": f'no file content for path "{spec.path}"', "kind": "generic-file-error"}}
        for spec in (_write_spec(item) for item in items)]
    return pebble_sync(results)
