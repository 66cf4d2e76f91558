"""Request bodies at the gateway's edge: read whole, bounded in size and time."""

from __future__ import annotations

import asyncio
from unittest import mock

import pytest
from aiohttp import StreamReader
from aiohttp.test_utils import make_mocked_request

from gateway.errors import HTTPError
from gateway.transcode import read_body


def request_with(reader: StreamReader, length: int | None = None):
    headers = {} if length is None else {"Content-Length": str(length)}
    return make_mocked_request("POST", "/v1/layers", headers=headers, payload=reader)


def stream() -> StreamReader:
    return StreamReader(mock.Mock(_reading_paused=False), 2**16, loop=asyncio.get_running_loop())


async def test_a_body_that_arrives_in_several_chunks_is_read_whole():
    reader = stream()
    layer = b'{"action":"add","label":"big","format":"yaml","layer":"' + b"x" * 17_000 + b'"}'
    reader.feed_data(layer[:16_384])  # what one read of the buffer holds
    reading = asyncio.ensure_future(read_body(request_with(reader, len(layer))))
    await asyncio.sleep(0)  # the reader has taken the first chunk and waits for more
    reader.feed_data(layer[16_384:])
    reader.feed_eof()
    assert await reading == layer


async def test_a_body_past_the_limit_is_413_even_without_a_length():
    reader = stream()
    reader.feed_data(b"x" * 600)
    reader.feed_data(b"x" * 600)
    reader.feed_eof()
    with pytest.raises(HTTPError) as refused:
        await read_body(request_with(reader), limit=1000)
    assert refused.value.status == 413


async def test_a_body_that_stops_arriving_is_408_after_its_time():
    reader = stream()
    reader.feed_data(b'{"action":')  # and nothing more
    with pytest.raises(HTTPError) as refused:
        await read_body(request_with(reader, 100), within=0.05)
    assert refused.value.status == 408 and "not received" in refused.value.message
