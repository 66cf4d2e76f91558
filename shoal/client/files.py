"""Pebble's files routes from the client side (spec §2.8): a push is a
multipart body streamed from the source, a pull a multipart answer read as
it arrives; per-path failures are PathError."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from typing import IO, Any

import aiohttp
import orjson

from shoal.client.errors import APIError, PathError

CHUNK = 64 * 1024


def owner_fields(user_id: int | None, user: str, group_id: int | None, group: str) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if user_id is not None:
        fields["user-id"] = user_id
    if user:
        fields["user"] = user
    if group_id is not None:
        fields["group-id"] = group_id
    if group:
        fields["group"] = group
    return fields


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def push_body(path: str, source: bytes | IO[bytes], metadata: dict[str, Any]
              ) -> tuple[str, AsyncIterator[bytes]]:
    """(Content-Type, body): the `request` part with `metadata`, then the
    `files` part read from `source` piece by piece."""
    boundary = secrets.token_hex(16)

    async def body() -> AsyncIterator[bytes]:
        yield (f"--{boundary}\r\nContent-Type: application/json\r\n"
               f'Content-Disposition: form-data; name="request"\r\n\r\n').encode()
        yield orjson.dumps(metadata)
        yield (f"\r\n--{boundary}\r\nContent-Type: application/octet-stream\r\n"
               f'Content-Disposition: form-data; name="files"; filename="{_quote(path)}"\r\n\r\n').encode()
        if isinstance(source, (bytes, bytearray)):
            yield bytes(source)
        else:
            while chunk := await asyncio.to_thread(source.read, CHUNK):
                yield chunk
        yield f"\r\n--{boundary}--\r\n".encode()

    return f'multipart/form-data; boundary="{boundary}"', body()


def raise_path_error(results: list[dict] | None, path: str) -> None:
    for item in results or []:
        error = item.get("error")
        if error:
            raise PathError(item.get("path", path), error.get("message", ""), error.get("kind", ""))


async def pull_into(answer, path: str, target: IO[bytes]) -> None:
    """Write the `files` part of a read answer into `target`; PathError
    from the `response` part."""
    reader = aiohttp.MultipartReader(answer.headers, answer.content)
    got_file = False
    while (part := await reader.next()) is not None:
        if part.name == "files":
            got_file = True
            while chunk := await part.read_chunk(CHUNK):
                await asyncio.to_thread(target.write, chunk)
        elif part.name == "response":
            envelope = orjson.loads(await part.read())
            raise_path_error(envelope.get("result"), path)
            if envelope.get("type") == "error":
                result = envelope.get("result") or {}
                raise APIError(envelope.get("status-code", 500), result.get("message", ""), result.get("kind", ""))
        else:
            await part.release()
    if not got_file:
        raise APIError(500, f"no file content in the answer for {path!r}")
