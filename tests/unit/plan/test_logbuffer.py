"""Service log buffers: bounds, positions, tail, merging by time, follow."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

from services.plan.logbuffer import (
    MAX_BYTES,
    LogBuffer,
    LogEntry,
    LogStore,
    format_log_time,
    merge_last,
    utc_now_ms,
)

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def at(ms: int) -> datetime:
    return T0 + timedelta(milliseconds=ms)


def test_buffer_is_bounded_to_100_kib_and_drops_oldest_lines():
    buf = LogBuffer("svc")
    line = "x" * 99  # 100 bytes with its newline
    for i in range(2000):
        buf.write(f"{i:04d}{line[4:]}")
    assert buf.max_bytes == MAX_BYTES == 100 * 1024
    assert buf.size <= MAX_BYTES
    assert len(buf) == MAX_BYTES // 100  # 1024 whole lines fit
    assert buf.position == 2000
    assert buf.first_position == 2000 - len(buf)
    assert buf.tail(1)[0].message.startswith("1999")
    assert buf.tail(-1)[0].message.startswith(f"{2000 - len(buf):04d}")


def test_size_counts_utf8_bytes_and_a_huge_line_is_clipped():
    buf = LogBuffer("svc", max_bytes=64)
    buf.write("é" * 10)  # 20 bytes + newline
    assert buf.size == 21
    buf.write("y" * 500)
    assert len(buf) == 1
    assert buf.size <= 64
    assert buf.tail(1)[0].message == "y" * 63


def test_tail_and_since_positions():
    buf = LogBuffer("svc", max_bytes=20)
    for word in ["one", "two", "three", "four", "five"]:
        buf.write(word + "\n")  # trailing newline is not part of the message
    assert [e.message for e in buf.tail(-1)] == ["two", "three", "four", "five"]
    assert [e.message for e in buf.tail(2)] == ["four", "five"]
    assert buf.tail(0) == []
    entries, pos = buf.since(0)  # dropped lines are skipped
    assert [e.message for e in entries] == ["two", "three", "four", "five"]
    assert pos == 5
    assert buf.since(pos) == ([], 5)
    buf.write("six")
    assert [e.message for e in buf.since(pos)[0]] == ["six"]


def test_timestamps_are_utc_milliseconds_and_formatted_like_rfc3339nano():
    entry = LogBuffer("svc").write("hello")
    assert entry.time.tzinfo is not None
    assert entry.time.microsecond % 1000 == 0
    assert utc_now_ms().microsecond % 1000 == 0
    assert format_log_time(at(0)) == "2024-05-01T12:00:00Z"
    assert format_log_time(at(120)) == "2024-05-01T12:00:00.12Z"
    assert format_log_time(at(5)) == "2024-05-01T12:00:00.005Z"
    assert LogEntry(at(1), "svc", "m").to_api() == {
        "time": "2024-05-01T12:00:00.001Z",
        "service": "svc",
        "message": "m",
    }


def test_merge_last_orders_by_time_and_keeps_the_last_n():
    a = [LogEntry(at(0), "a", "a0"), LogEntry(at(20), "a", "a20"), LogEntry(at(20), "a", "a20b")]
    b = [LogEntry(at(10), "b", "b10"), LogEntry(at(20), "b", "b20"), LogEntry(at(30), "b", "b30")]
    merged = [e.message for e in merge_last([a, b], -1)]
    assert merged == ["a0", "b10", "a20", "a20b", "b20", "b30"]
    assert [e.message for e in merge_last([a, b], 2)] == ["b20", "b30"]
    assert merge_last([a, b], 0) == []


def test_store_last_merges_services_and_ignores_unknown_ones():
    store = LogStore()
    store.buffer("a").write("a1", at(0))
    store.buffer("b").write("b1", at(5))
    store.buffer("a").write("a2", at(10))
    assert [e.message for e in store.last(["a", "b", "nope"], 30)] == ["a1", "b1", "a2"]
    assert [(e.service, e.message) for e in store.last(["b", "a"], 1)] == [("a", "a2")]
    assert store.last(["nope"], -1) == []
    assert store.services() == ["a", "b"]


async def test_store_follow_yields_last_n_then_new_lines_of_every_service():
    store = LogStore()
    store.buffer("a").write("old1", at(0))
    store.buffer("a").write("old2", at(1))
    follower = store.follow(["a", "b"], n=1)
    store.buffer("a").write("new-a", at(2))  # written before the first read: not lost
    got: list[str] = []

    async def read(count: int) -> None:
        async for entry in follower:
            got.append(f"{entry.service}:{entry.message}")
            if len(got) == count:
                return

    reader = asyncio.ensure_future(read(4))
    await asyncio.sleep(0.05)
    store.buffer("b").write("new-b", at(3))  # buffer created after following began
    store.buffer("c").write("not-followed", at(4))
    store.buffer("a").write("new-a2", at(5))
    await asyncio.wait_for(reader, 2)
    assert got == ["a:old2", "a:new-a", "b:new-b", "a:new-a2"]


async def test_buffer_follow_waits_for_new_lines():
    buf = LogBuffer("svc")
    buf.write("before")
    got: list[str] = []

    async def read() -> None:
        async for entry in buf.follow():
            got.append(entry.message)
            if len(got) == 2:
                return

    reader = asyncio.ensure_future(read())
    await asyncio.sleep(0.02)
    buf.write("one")
    await asyncio.sleep(0.02)
    buf.write("two")
    await asyncio.wait_for(reader, 2)
    assert got == ["one", "two"]


def test_read_gives_up_to_limit_lines_from_a_position_from_either_end():
    buf = LogBuffer("svc", max_bytes=60)
    for i in range(30):
        buf.write(f"l{i:02d}")  # 4 bytes each: the buffer keeps 15
    assert buf.first_position == 15
    assert [e.message for e in buf.read(0, 3)] == ["l15", "l16", "l17"]  # dropped lines are skipped
    assert [e.message for e in buf.read(16, 2)] == ["l16", "l17"]
    assert [e.message for e in buf.read(27, 10)] == ["l27", "l28", "l29"]
    assert [e.message for e in buf.read(20, 15)] == [f"l{i}" for i in range(20, 30)]
    assert buf.read(30, 5) == [] and buf.read(20, 0) == []


def test_a_partial_line_is_shown_as_the_last_line_until_its_newline_completes_it():
    buf = LogBuffer("svc")
    buf.write("whole")
    buf.write_partial("no new")
    buf.write_partial("line")
    assert buf.has_partial and [e.message for e in buf.tail(-1)] == ["whole", "no newline"]
    assert [e.message for e in buf.since(0)[0]] == ["whole"]  # followers wait for the newline
    first_byte = buf.tail(1)[0].time
    completed = buf.write(" after all")
    assert not buf.has_partial
    assert completed.message == "no newline after all" and completed.time == first_byte
    assert [e.message for e in buf.tail(-1)] == ["whole", "no newline after all"]


def test_last_lines_quote_the_output_as_pebble_task_logs_do():
    buf = LogBuffer("svc")
    assert buf.last_lines(20, "    ") == "    "  # no output: the indent alone
    for i in range(1, 26):
        buf.write(f"line {i}")
    buf.write("  spaced  ")
    quoted = buf.last_lines(20, "    ").split("\n")
    assert quoted[0] == "    (...)" and quoted[1] == "    line 7" and len(quoted) == 21
    assert quoted[-1] == "      spaced"  # the whole text is trimmed: trailing spaces go
    buf.write("")
    last = buf.last_lines(20, "    ").split("\n")[-1]
    assert re.fullmatch(r"    \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[svc\]", last)  # Pebble's own quirk
