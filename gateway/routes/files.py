"""Pebble's files routes (spec §2.8): multipart on the wire, streamed both
ways so a large push or pull never sits in the gateway's memory.

GET /v1/files?action=read answers a multipart body: one `files` part per
readable path (streamed from ReadFile), then a `response` part with the
per-path results. GET ?action=list is ListFiles. POST multipart is one
client-streaming WriteFiles call fed part by part; POST JSON is MakeDirs or
RemovePaths.
"""

from __future__ import annotations

import asyncio
import secrets
import unicodedata

import grpc
import orjson
from aiohttp import web
from aiohttp.multipart import MultipartReader

from gateway.calls import deadline_for, first_message
from gateway.errors import HTTPError, from_rpc_error
from gateway.routes.context import Handler, RouteContext
from gateway.shaping import guarded, pebble_envelope, pebble_sync
from gateway.transcode import message_json, read_body
from services.common import gojson
from services.common.gojson import (
    BOOL,
    INT,
    STRING,
    GoField,
    GoJSONError,
    go_quote,
    pointer,
    slice_of,
    struct,
)
from shoal.descriptors import Method
from shoal.v1 import plan_pb2

UPLOAD_CHUNK = 64 * 1024
MIN_BOUNDARY = 32
MAX_METADATA = 1024 * 1024
ENDED_WAIT = 5.0  # how long a broken upload's call may take to say how it ended


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
        raise HTTPError(400, f"invalid action {go_quote(action)}")

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
        content_type = request.headers.get("Content-Type", "").strip()
        try:
            media, params = parse_media_type(content_type)
        except ValueError:
            raise HTTPError(400, f"invalid Content-Type {go_quote(content_type)}") from None
        if media == "multipart/form-data":
            boundary = params.get("boundary", "")
            if len(boundary) < MIN_BOUNDARY:
                raise HTTPError(400, f"invalid boundary {go_quote(boundary)}")
            return await _write(ctx, write, request, caller)
        if media != "application/json":
            raise HTTPError(400, f"invalid media type {go_quote(media)}")
        payload = _decode(await read_body(request), ACTIONS_PAYLOAD, "body")
        action = payload.get("action", "")
        if action == "make-dirs":
            dirs = payload.get("dirs") or []
            _check_ids(dirs, "dirs", "body")
            message = plan_pb2.MakeDirsRequest(dirs=[_make_dir_spec(item) for item in dirs])
            method = make_dirs
        elif action == "remove":
            message = plan_pb2.RemovePathsRequest(paths=[
                plan_pb2.RemovePathSpec(path=item.get("path", ""), recursive=item.get("recursive", False))
                for item in payload.get("paths") or []])
            method = remove
        elif action == "write":
            raise HTTPError(400, 'must use multipart with "write" action')
        else:
            raise HTTPError(400, f"invalid action {go_quote(action)}")
        answer = await ctx.calls.callable(method)(message, metadata=ctx.calls.metadata(caller),
                                                  timeout=deadline_for(method, message))
        return pebble_sync(_results(answer.results))

    return _authorized(ctx, write, work)


# -- Pebble's request shapes, as Go's encoding/json decodes them ----------------------
def _owned(fields: list[GoField]) -> list[GoField]:
    return [*fields, GoField("user-id", pointer(INT)), GoField("user", STRING),
            GoField("group-id", pointer(INT)), GoField("group", STRING)]


MAKE_DIRS_ITEM = struct("daemon.makeDirsItem", _owned([
    GoField("path", STRING), GoField("make-parents", BOOL), GoField("permissions", STRING)]))
REMOVE_PATHS_ITEM = struct("daemon.removePathsItem", [GoField("path", STRING), GoField("recursive", BOOL)])
WRITE_FILES_ITEM = struct("daemon.writeFilesItem", _owned([
    GoField("path", STRING), GoField("make-dirs", BOOL), GoField("permissions", STRING)]))
ACTIONS_PAYLOAD = struct(
    'struct { Action string "json:\\"action\\""; Dirs []daemon.makeDirsItem "json:\\"dirs\\""; '
    'Paths []daemon.removePathsItem "json:\\"paths\\"" }',
    [GoField("action", STRING), GoField("dirs", slice_of(MAKE_DIRS_ITEM)),
     GoField("paths", slice_of(REMOVE_PATHS_ITEM))])
WRITE_PAYLOAD = struct(
    'struct { Action string "json:\\"action\\""; Files []daemon.writeFilesItem "json:\\"files\\"" }',
    [GoField("action", STRING), GoField("files", slice_of(WRITE_FILES_ITEM))])
ID_LIMIT = 1 << 32


def _decode(data: bytes, go_type, what: str) -> dict:
    try:
        return gojson.decode(data, go_type)
    except GoJSONError as error:
        raise HTTPError(400, f"cannot decode request {what}: {error}") from None


def _check_ids(items: list[dict], key: str, what: str) -> None:
    """Stricter than Pebble (which takes any int here and fails the lookup
    later): an owner id must fit a uint32, as Shoal carries it."""
    for index, item in enumerate(items):
        for field in ("user-id", "group-id"):
            value = item.get(field)
            if value is not None and not 0 <= value < ID_LIMIT:
                raise HTTPError(400, f"cannot decode request {what}: json: cannot unmarshal number {value} "
                                     f"into Go struct field .{key}.{index}.{field} of type uint32")


# Go's mime.ParseMediaType (what Pebble reads Content-Type and Content-Disposition with).
_TSPECIALS = set('()<>@,;:\\"/[]?=')


def _token_end(text: str, i: int) -> int:
    while i < len(text) and 0x20 < ord(text[i]) < 0x7F and text[i] not in _TSPECIALS:
        i += 1
    return i


def _skip_space(text: str, i: int) -> int:
    while i < len(text) and (text[i] in " \t\n\v\f\r\x85\xa0" or unicodedata.category(text[i]) in ("Zs", "Zl", "Zp")):
        i += 1
    return i


def _value(text: str, i: int) -> tuple[str, int] | None:
    """A token or a quoted string at `i`, and where it ends (None if neither)."""
    if i < len(text) and text[i] == '"':
        out, j = [], i + 1
        while j < len(text):
            char = text[j]
            if char == '"':
                return "".join(out), j + 1
            if char == "\\" and j + 1 < len(text) and text[j + 1] in _TSPECIALS:
                out.append(text[j + 1])
                j += 2
                continue
            if char in "\r\n":
                return None
            out.append(char)
            j += 1
        return None
    end = _token_end(text, i)
    return (text[i:end], end) if end > i else None


def parse_media_type(value: str) -> tuple[str, dict[str, str]]:
    """The media type (lower case) and its parameters; ValueError where Go's
    mime.ParseMediaType fails (RFC 2231 continuations are not joined)."""
    base = value.split(";", 1)[0]
    media = base.lower().strip()
    end = _token_end(media, 0)
    if end == 0:
        raise ValueError("no media type")
    if end < len(media):
        if media[end] != "/":
            raise ValueError("expected slash after first token")
        sub_end = _token_end(media, end + 1)
        if sub_end == end + 1:
            raise ValueError("expected token after slash")
        if sub_end != len(media):
            raise ValueError("unexpected content after media subtype")
    params: dict[str, str] = {}
    rest, i = value, len(base)
    while i < len(rest):
        i = _skip_space(rest, i)
        if i == len(rest):
            break
        parsed = _parameter(rest, i)
        if parsed is None:
            if rest[i:].strip() == ";":
                break  # a trailing semicolon
            raise ValueError("invalid media parameter")
        key, found, i = parsed
        if key in params and params[key] != found:
            raise ValueError("duplicate parameter name")
        params[key] = found
    return media, params


def _parameter(text: str, i: int) -> tuple[str, str, int] | None:
    i = _skip_space(text, i)
    if i >= len(text) or text[i] != ";":
        return None
    i = _skip_space(text, i + 1)
    end = _token_end(text, i)
    if end == i:
        return None
    key = text[i:end].lower()
    i = _skip_space(text, end)
    if i >= len(text) or text[i] != "=":
        return None
    i = _skip_space(text, i + 1)
    found = _value(text, i)
    if found is None:
        return None
    return key, found[0], found[1]


def _form_name(part) -> str:
    """Go's Part.FormName: the name of a form-data part, else ""."""
    try:
        disposition, params = parse_media_type(part.headers.get("Content-Disposition", ""))
    except ValueError:
        return ""
    return params.get("name", "") if disposition == "form-data" else ""


def _filename(part) -> str:
    """The part's filename exactly as sent (aiohttp's own strips a leading /)."""
    try:
        return parse_media_type(part.headers.get("Content-Disposition", ""))[1].get("filename", "")
    except ValueError:
        return ""


def _owner(item: dict) -> plan_pb2.FileOwner:
    owner = plan_pb2.FileOwner(user=item.get("user", ""), group=item.get("group", ""))
    if item.get("user-id") is not None:
        owner.user_id = item["user-id"]
    if item.get("group-id") is not None:
        owner.group_id = item["group-id"]
    return owner


def _make_dir_spec(item: dict) -> plan_pb2.MakeDirSpec:
    return plan_pb2.MakeDirSpec(path=item.get("path", ""), make_parents=item.get("make-parents", False),
                                permissions=item.get("permissions", ""), owner=_owner(item))


def _write_spec(item: dict) -> plan_pb2.WriteFileSpec:
    return plan_pb2.WriteFileSpec(path=item.get("path", ""), make_dirs=item.get("make-dirs", False),
                                  permissions=item.get("permissions", ""), owner=_owner(item))


async def _next_part(reader: MultipartReader, failing: str):
    try:
        return await reader.next()
    except ValueError:
        raise HTTPError(400, f"{failing}: multipart: NextPart: EOF") from None


async def _send(call, method: Method, chunk: plan_pb2.WriteFilesChunk) -> None:
    """One chunk into the upload. A write to a call whose service went away
    fails with gRPC's own "Internal error from Core"; what the call itself
    ended with says why (UNAVAILABLE: the service is gone, a 502)."""
    try:
        await call.write(chunk)
    except (grpc.aio.AioRpcError, grpc.aio.UsageError, asyncio.InvalidStateError) as error:
        raise await _why_it_ended(call, method, error) from None


async def _why_it_ended(call, method: Method, error: Exception) -> Exception:
    try:
        code = await asyncio.wait_for(call.code(), timeout=ENDED_WAIT)
        details = await call.details()
    except (TimeoutError, grpc.aio.AioRpcError):
        code, details = None, ""
    if code is not None and code not in (grpc.StatusCode.OK, grpc.StatusCode.INTERNAL, grpc.StatusCode.CANCELLED):
        return from_rpc_error(grpc.aio.AioRpcError(code, grpc.aio.Metadata(), await call.trailing_metadata()
                                                    or grpc.aio.Metadata(), details), method.service, method.family)
    if isinstance(error, grpc.aio.AioRpcError) and error.code() != grpc.StatusCode.INTERNAL:
        return error
    return HTTPError(502, f"{method.service} service unavailable: the upload was cut off")


async def _write(ctx: RouteContext, method: Method, request: web.Request, caller) -> web.StreamResponse:
    """Stream each uploaded part into one WriteFiles call. The service puts
    the files in place only when the call ends cleanly, so a refused part
    (cancelling the call) leaves every file as it was."""
    reader = MultipartReader(request.headers, request.content)
    part = await _next_part(reader, "cannot read request metadata")
    if part is None:
        raise HTTPError(400, "cannot read request metadata: multipart: NextPart: EOF")
    if _form_name(part) != "request":
        raise HTTPError(400, f'metadata field name must be "request", got {go_quote(_form_name(part))}')
    raw = await part.read_chunk(MAX_METADATA + 1)
    while len(raw) <= MAX_METADATA:
        more = await part.read_chunk(MAX_METADATA + 1 - len(raw))
        if not more:
            break
        raw += more
    if len(raw) > MAX_METADATA:
        raise HTTPError(413, f"request metadata larger than {MAX_METADATA} bytes")
    payload = _decode(raw, WRITE_PAYLOAD, "metadata")
    if payload.get("action", "") != "write":
        raise HTTPError(400, f'multipart action must be "write", got {go_quote(payload.get("action", ""))}')
    items = payload.get("files") or []
    if not items:
        raise HTTPError(400, "must specify one or more files")
    _check_ids(items, "files", "metadata")
    specs = {}
    for item in items:
        spec = _write_spec(item)
        specs[spec.path] = spec
    call = ctx.calls.callable(method)(metadata=ctx.calls.metadata(caller))
    try:
        index = 0
        while (part := await _next_part(reader, f"cannot read file part {index}")) is not None:
            index += 1
            if _form_name(part) != "files":
                raise HTTPError(400, f'field name must be "files", got {go_quote(_form_name(part))}')
            path = _filename(part)
            if path not in specs:
                raise HTTPError(400, f"no metadata for path {go_quote(path)}")
            await _send(call, method, plan_pb2.WriteFilesChunk(spec=specs[path]))
            while data := await part.read_chunk(UPLOAD_CHUNK):
                await _send(call, method, plan_pb2.WriteFilesChunk(data=data))
            await _send(call, method, plan_pb2.WriteFilesChunk(end_of_file=True))
        await call.done_writing()
        answer = await call
    except BaseException:
        call.cancel()
        raise
    written = {r["path"]: r for r in _results(answer.results)}
    results = [written.get(spec.path) or {"path": spec.path, "error": {
        "message": f"no file content for path {go_quote(spec.path)}", "kind": "generic-file-error"}}
        for spec in (_write_spec(item) for item in items)]
    return pebble_sync(results)
