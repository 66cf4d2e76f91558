"""Log forwarding without processes: how lines become entries, what each
target type is sent (byte for byte as recorded from a real Pebble v1.32.1,
and decoded with the official OpenTelemetry messages), and the gatherer's
batching, retries and stopping, against loopback receivers."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime

import pytest
from aiohttp import web
from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from services.plan.logbuffer import LogBuffer, LogEntry, LogStore
from services.plan.logforward import entries as entry_rules
from services.plan.logforward.client import BufferedClient, FlushError
from services.plan.logforward.cursor import Cursor
from services.plan.logforward.entries import Entry
from services.plan.logforward.gatherer import Gatherer
from services.plan.logforward.httppost import proxy_for
from services.plan.logforward.loki import LokiClient
from services.plan.logforward.manager import LogManager
from services.plan.logforward.opentelemetry import OpenTelemetryClient
from services.plan.logforward.syslog import SyslogClient, parse_location
from services.plan.plan.model import LogTarget, Plan, Service
from tests.support import free_port

T0 = datetime(2026, 12, 1, 9, 5, 32, 730000, tzinfo=UTC)


def line(message: str, service: str = "svc1", at: datetime = T0) -> LogEntry:
    return LogEntry(at, service, message)


def entry(message: str, service: str = "svc1", at: datetime = T0) -> Entry:
    return Entry(at, service, message)


# -- entries ------------------------------------------------------------------------

# A line of service "long" → the lengths (in characters) of the entries a
# target receives, as Pebble v1.32.1 sent them to a Loki receiver.
LONG_LINES = [
    ("a" * 10000, [4064, 4096, 1840]),
    ("b" * (4096 - 28 - 4 - 1), [4063]),
    ("c" * (4096 - 28 - 4), [4064, 0]),
    ("é" * 3000, [2032, 968]),
    ("d" * (4096 - 32 + 4096 - 1), [4064, 4095]),
    ("short", [5]),
]


@pytest.mark.parametrize("message,lengths", LONG_LINES)
def test_long_lines_are_cut_as_pebbles_4k_parser_cuts_them(message, lengths):
    pieces = entry_rules.from_log_entry(line(message, "long"))
    assert [len(p.message) for p in pieces] == lengths
    assert "".join(p.message for p in pieces) == message
    assert {(p.time, p.service) for p in pieces} == {(T0, "long")}


def test_times_are_unix_nanoseconds_and_rfc3339_without_trailing_zeros():
    assert entry("x").unix_nanos == 1796115932730000000
    assert entry("x").rfc3339 == "2026-12-01T09:05:32.73Z"
    assert entry("x", at=T0.replace(microsecond=0)).rfc3339 == "2026-12-01T09:05:32Z"


# -- cursors ---------------------------------------------------------------------------


def take_all(cursor: Cursor) -> list[str]:
    out = []
    while (e := cursor.take()) is not None:
        out.append(e.message)
    return out


def test_a_cursor_starts_at_the_oldest_line_and_marks_lines_dropped_under_it():
    buffer = LogBuffer("svc1", max_bytes=100)
    buffer.write("first")
    cursor = Cursor(buffer)
    assert take_all(cursor) == ["first"]
    for i in range(50):
        buffer.write(f"line {i:02d}")  # 7 characters + newline each: the buffer keeps 12
    assert cursor.pending()
    assert take_all(cursor) == ["(... output truncated ...)"] + [f"line {i:02d}" for i in range(38, 50)]
    assert cursor.dropped_lines == 38
    assert not cursor.pending()


def test_lines_dropped_before_anything_was_taken_are_not_marked():
    buffer = LogBuffer("svc1", max_bytes=20)
    cursor = Cursor(buffer)
    for i in range(10):
        buffer.write(f"line {i}")
    assert take_all(cursor) == ["line 8", "line 9"]


def test_a_cursor_gives_the_pieces_of_a_long_line_in_a_row():
    buffer = LogBuffer("svc1")
    buffer.write("a" * 5000)
    buffer.write("b")
    assert [len(m) for m in take_all(Cursor(buffer))] == [4064, 936, 1]


# -- what each type sends -------------------------------------------------------------


def test_loki_streams_per_service_with_sorted_labels():
    client = LokiClient("lk", "http://127.0.0.1:9/loki/api/v1/push", "shoal/test")
    client.set_labels("svc1", {"zone": "blue", "owner": "x-blue-y", "missing": "[]"})
    client.set_labels("a", {})
    for e in (entry("hello 0"), entry("other", "a"), entry("hello 1", at=T0.replace(microsecond=931000))):
        client.add(e)
    assert json.loads(client.request_body()) == {"streams": [
        {"stream": {"pebble_service": "a"}, "values": [["1796115932730000000", "other"]]},
        {"stream": {"missing": "[]", "owner": "x-blue-y", "pebble_service": "svc1", "zone": "blue"},
         "values": [["1796115932730000000", "hello 0"], ["1796115932931000000", "hello 1"]]},
    ]}
    client.set_labels("a", None)
    assert json.loads(client.request_body())["streams"][0]["stream"] is None


def test_opentelemetry_sends_otlp_json_that_the_official_messages_decode():
    client = OpenTelemetryClient("ot", "http://127.0.0.1:9", "shoal/test")
    assert client.url == "http://127.0.0.1:9/v1/logs"
    client.set_labels("svc1", {"zone": "blue", "a": "1"})
    client.add(entry("hello 0"))
    body = client.request_body()
    assert json.loads(body) == {"resourceLogs": [{
        "resource": {"attributes": [
            {"key": "service.name", "value": {"stringValue": "svc1"}},
            {"key": "a", "value": {"stringValue": "1"}},
            {"key": "zone", "value": {"stringValue": "blue"}},
        ]},
        "scopeLogs": [{"scope": {"name": "pebble"}, "logRecords": [
            {"timeUnixNano": "1796115932730000000", "body": {"stringValue": "hello 0"}}]}],
    }]}
    decoded = json_format.Parse(body, ExportLogsServiceRequest())
    record = decoded.resource_logs[0].scope_logs[0].log_records[0]
    assert (record.time_unix_nano, record.body.string_value) == (1796115932730000000, "hello 0")


def test_syslog_frames_are_the_bytes_pebble_sends():
    client = SyslogClient("tcp://127.0.0.1:9", "vm")
    client.set_labels("svc1", {"zone": 'a"b]c\\d'})
    client.add(entry("hello 0", at=T0.replace(second=40, microsecond=503000)))
    client.add(entry("hello 4", at=T0.replace(second=47, microsecond=630000)))
    assert client.tcp_payload() == (
        b'83 <13>1 2026-12-01T09:05:40.503Z vm svc1 - - [pebble@28978 zone="a\\"b\\]c\\\\d"] hello 0'
        b'82 <13>1 2026-12-01T09:05:47.63Z vm svc1 - - [pebble@28978 zone="a\\"b\\]c\\\\d"] hello 4'
    )
    client.set_labels("svc1", {})
    assert client.message(entry("hello 0")) == b"<13>1 2026-12-01T09:05:32.73Z vm svc1 - - [pebble@28978] hello 0"
    client.set_labels("svc1", None)
    assert client.message(entry("x" * 4001), 4000).endswith(b" - - - " + b"x" * 3997 + b"...")


@pytest.mark.parametrize("location,message", [
    ("ftp://h:514", 'invalid syslog server location "ftp://h:514", must be in form "tcp://host:port" or "udp://host:port"'),
    ("tcp://", 'invalid syslog server location "tcp://", must be in form "tcp://host:port" or "udp://host:port"'),
    ("udp:h:514", 'invalid syslog server location "udp:h:514", must be in form "tcp://host:port" or "udp://host:port"'),
])
def test_syslog_locations_must_be_tcp_or_udp_urls(location, message):
    with pytest.raises(ValueError) as caught:
        parse_location(location)
    assert str(caught.value) == message


def test_proxies_come_from_the_environment_but_never_for_loopback(monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "proxy.invalid:3128")
    monkeypatch.setenv("NO_PROXY", "skip.example")
    monkeypatch.delenv("http_proxy", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert proxy_for("http://loki.example:3100/x") == "http://proxy.invalid:3128"
    assert proxy_for("http://skip.example/x") is None
    assert proxy_for("http://127.0.0.1:3100/x") is None
    assert proxy_for("http://localhost:3100/x") is None
    assert proxy_for("http://[::1]:3100/x") is None


# -- HTTP answers ------------------------------------------------------------------------


@pytest.fixture
async def http_target():
    """A loopback HTTP receiver answering the status in `state["status"]`."""
    state = {"status": 204, "bodies": []}

    async def push(request):
        state["bodies"].append(await request.json())
        return web.Response(status=state["status"])

    app = web.Application()
    app.router.add_post("/push", push)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state["url"] = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/push"
    yield state
    await runner.cleanup()


@pytest.mark.parametrize("status,kept", [(200, False), (204, False), (429, True), (500, True), (503, True),
                                         (400, False), (404, False), (201, True)])
async def test_http_answers_decide_whether_entries_are_kept(http_target, status, kept):
    http_target["status"] = status
    client = LokiClient("lk", http_target["url"], "shoal/test")
    client.set_labels("svc1", {})
    client.add(entry("x"))
    if status in (200, 204):
        await client.flush()
    else:
        with pytest.raises(FlushError):
            await client.flush()
    await client.close()
    assert len(http_target["bodies"]) == 1
    assert bool(client.entries) is kept


async def test_a_target_that_is_down_keeps_the_entries():
    client = LokiClient("lk", "http://127.0.0.1:9/push", "shoal/test")  # port 9: nothing listens
    client.add(entry("x"))
    with pytest.raises(FlushError):
        await client.flush()
    assert len(client.entries) == 1
    await client.close()


# -- the gatherer ----------------------------------------------------------------------


class Recorder(BufferedClient):
    """A client that records each flush (time, entries, labels) and may fail."""

    def __init__(self):
        super().__init__()
        self.flushes: list[tuple[float, list[str], dict]] = []
        self.labels: dict = {}
        self.fail = False
        self.closed = False
        self.flushed = asyncio.Event()

    def set_labels(self, service, labels):
        if labels is None:
            self.labels.pop(service, None)
        else:
            self.labels[service] = labels

    async def flush(self):
        self.flushes.append((time.monotonic(), [e.message for e in self.entries], dict(self.labels)))
        self.flushed.set()
        if self.fail:
            raise FlushError("down")
        self.reset()

    async def close(self):
        self.closed = True


def write(gatherer: Gatherer, buffer: LogBuffer, message: str) -> None:
    """A service writing a line, as the log store tells the gatherer of it."""
    buffer.write(message)
    gatherer.notify()


async def wait_until(predicate, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


async def test_a_hundred_entries_flush_at_once_and_fewer_after_the_buffer_timeout():
    client = Recorder()
    gatherer = Gatherer("t", client, buffer_timeout=0.3)
    buf = LogBuffer("svc1")
    gatherer.add_service(buf)
    started = time.monotonic()
    for i in range(130):
        write(gatherer, buf, f"l{i}")
    await wait_until(lambda: len(client.flushes) == 2)
    (first_at, first, _), (second_at, second, _) = client.flushes
    assert first == [f"l{i}" for i in range(100)] and first_at - started < 0.2
    assert second == [f"l{i}" for i in range(100, 130)] and 0.25 < second_at - first_at < 1.0
    await gatherer.stop()
    assert client.closed


async def test_a_failed_flush_keeps_the_last_hundred_and_the_next_entry_retries():
    client = Recorder()
    client.fail = True
    gatherer = Gatherer("t", client, buffer_timeout=0.05)
    buf = LogBuffer("svc1")
    gatherer.add_service(buf)
    for i in range(250):
        write(gatherer, buf, f"l{i}")
    await wait_until(lambda: len(client.flushes) >= 3)
    await asyncio.sleep(0.2)
    assert len(client.flushes) == 3  # nothing new, nothing retried
    assert [len(f[1]) for f in client.flushes] == [100, 100, 100]
    assert client.flushes[-1][1] == [f"l{i}" for i in range(150, 250)]
    client.fail = False
    write(gatherer, buf, "after")
    await wait_until(lambda: len(client.flushes) == 4)
    assert client.flushes[-1][1] == [f"l{i}" for i in range(151, 250)] + ["after"]
    await gatherer.stop()


async def test_labels_change_only_after_what_was_held_is_flushed():
    client = Recorder()
    gatherer = Gatherer("t", client, buffer_timeout=10)
    gatherer.set_labels("svc1", {"v": "1"})
    buf = LogBuffer("svc1")
    gatherer.add_service(buf)
    write(gatherer, buf, "old")
    await wait_until(lambda: client.labels == {"svc1": {"v": "1"}} and gatherer.client.entries)
    gatherer.set_labels("svc1", {"v": "2"})
    await wait_until(lambda: client.flushes)
    assert client.flushes[0][1:] == (["old"], {"svc1": {"v": "1"}})
    await wait_until(lambda: client.labels == {"svc1": {"v": "2"}})
    await gatherer.stop()


async def test_stopping_sends_what_is_left_in_one_final_flush():
    client = Recorder()
    gatherer = Gatherer("t", client, buffer_timeout=60)
    buf = LogBuffer("svc1")
    buf.write("from the buffer")
    gatherer.add_service(buf)
    write(gatherer, buf, "late")
    await gatherer.stop()
    assert [f[1] for f in client.flushes] == [["from the buffer", "late"]]


async def test_a_flush_that_hangs_does_not_hold_up_stopping():
    class Hanging(Recorder):
        async def flush(self):
            self.flushed.set()
            await asyncio.sleep(3600)

    client = Hanging()
    gatherer = Gatherer("t", client, buffer_timeout=0.01, current_flush_timeout=0.1, final_flush_timeout=0.1)
    buf = LogBuffer("svc1")
    gatherer.add_service(buf)
    write(gatherer, buf, "x")
    await asyncio.wait_for(client.flushed.wait(), 5)
    started = time.monotonic()
    await gatherer.stop()
    assert time.monotonic() - started < 1.0


async def test_entries_of_several_services_go_in_time_order():
    client = Recorder()
    gatherer = Gatherer("t", client, buffer_timeout=60)
    b, a = LogBuffer("b"), LogBuffer("a")
    b.write("b0", T0.replace(microsecond=1000))
    b.write("b1", T0.replace(microsecond=4000))
    a.write("a0", T0.replace(microsecond=2000))
    a.write("a1", T0.replace(microsecond=4000))
    gatherer.add_service(b)
    gatherer.add_service(a)
    await gatherer.stop()
    assert client.flushes[0][1] == ["b0", "a0", "a1", "b1"]


# -- the manager -------------------------------------------------------------------------


def plan_with(targets: dict[str, LogTarget], services=("svc1", "svc2"), env=None) -> Plan:
    return Plan(services={s: Service(name=s, command="x", environment=dict(env or {})) for s in services},
                log_targets=targets)


async def test_the_manager_routes_each_service_to_its_targets_with_expanded_labels():
    clients: dict[str, Recorder] = {}

    def new_client(target, hostname=""):
        clients[target.name] = Recorder()
        return clients[target.name]

    store = LogStore()
    manager = LogManager(store, new_client=new_client, gatherer_options={"buffer_timeout": 60})
    store.on_write = manager.on_write
    manager.plan_changed(plan_with({
        "one": LogTarget("one", type="loki", location="x", services=["svc1"], labels={"z": "$ZONE"}),
        "all": LogTarget("all", type="loki", location="x", services=["all", "-svc2"]),
    }, env={"ZONE": "blue"}))
    store.buffer("svc1").write("s1 first")
    store.buffer("svc2").write("s2 first")
    store.buffer("svc1").write("s1 second")
    await manager.stop()
    assert [f[1] for f in clients["one"].flushes] == [["s1 first", "s1 second"]]
    assert [f[1] for f in clients["all"].flushes] == [["s1 first", "s1 second"]]
    assert clients["one"].flushes[0][2] == {"svc1": {"z": "blue"}}


async def test_a_plan_change_keeps_each_targets_place_and_restarts_a_moved_target():
    clients: list[Recorder] = []

    def new_client(target, hostname=""):
        clients.append(Recorder())
        return clients[-1]

    store = LogStore()
    manager = LogManager(store, new_client=new_client, gatherer_options={"buffer_timeout": 0.05})
    store.on_write = manager.on_write
    target = LogTarget("t", type="loki", location="http://a", services=["svc1"])
    manager.plan_changed(plan_with({"t": target}))
    store.buffer("svc1").write("one")
    await wait_until(lambda: clients[0].flushes)
    manager.plan_changed(plan_with({"t": target}, services=("svc1", "svc2", "svc3")))
    store.buffer("svc1").write("two")
    await wait_until(lambda: len(clients[0].flushes) == 2)
    assert [f[1] for f in clients[0].flushes] == [["one"], ["two"]]  # "one" is not sent again
    manager.plan_changed(plan_with({"t": LogTarget("t", type="loki", location="http://b", services=["svc1"])}))
    await wait_until(lambda: clients[0].closed)
    store.buffer("svc1").write("three")
    await wait_until(lambda: len(clients) == 2 and clients[1].flushes)
    assert clients[1].flushes[0][1] == ["one", "two", "three"]  # a new target takes the whole buffer
    await manager.stop()


async def test_a_target_whose_client_cannot_be_made_is_left_out():
    store = LogStore()
    manager = LogManager(store)
    manager.plan_changed(plan_with({"bad": LogTarget("bad", type="syslog", location="ftp://x", services=["all"])}))
    assert manager.gatherer("bad") is None
    store.on_write = manager.on_write
    store.buffer("svc1").write("fine")
    await manager.stop()


async def test_syslog_to_a_closed_port_keeps_what_was_not_sent():
    port = free_port()  # nothing listens there
    tcp = SyslogClient(f"tcp://127.0.0.1:{port}", "vm")
    for i in range(3):
        tcp.add(entry(f"l{i}"))
    with pytest.raises(FlushError, match="cannot connect to"):
        await tcp.flush()
    assert len(tcp.entries) == 3
    udp = SyslogClient(f"udp://127.0.0.1:{port}", "vm")
    for i in range(3):
        udp.add(entry(f"l{i}"))
    # The first datagram goes out; the refusal it draws fails the next one,
    # which stays with the rest for the next flush (as over Go's connected UDP socket).
    with pytest.raises(FlushError, match="cannot send syslogs"):
        await udp.flush()
    assert [e.message for e in udp.entries] == ["l1", "l2"]
    await tcp.close()
    await udp.close()
