"""Log forwarding with real processes and real receivers on loopback: a
service of the running suite writes lines, and Loki's push API, an OTLP/HTTP
receiver (decoding with the official opentelemetry-proto messages) and
Debian's rsyslogd (TCP and UDP) receive them as Pebble sends them. Then the
hard cases: a target that is down, and a service flooding its output."""

from __future__ import annotations

import json
import shlex
import socket
import time
from datetime import datetime
from pathlib import Path

import pytest
from ops import pebble

from tests.logreceivers import HTTPReceiver, Rsyslog, wait_for


@pytest.fixture(scope="module")
def client(suite) -> pebble.Client:
    return pebble.Client(socket_path=suite.socket)


@pytest.fixture
def loki():
    receiver = HTTPReceiver("loki").start()
    yield receiver
    receiver.stop()


@pytest.fixture
def otlp():
    receiver = HTTPReceiver("otlp").start()
    yield receiver
    receiver.stop()


def printer(lines: list[str]) -> str:
    """A command printing `lines` (after a moment, so forwarding is set up), then idling."""
    script = "import sys, time; time.sleep(0.3); print(*sys.argv[1:], sep='\\n', flush=True); time.sleep(600)"
    return shlex.join(["python3", "-c", script, *lines])


def service_logs(suite, name: str) -> list[dict]:
    answer = suite.unix("GET", f"/v1/logs?services={name}&n=-1")
    assert answer.status == 200, answer.body
    return [json.loads(row) for row in answer.body.decode().splitlines()]


def unix_nanos(rfc3339: str) -> int:
    when = datetime.fromisoformat(rfc3339)
    return int(when.timestamp()) * 1_000_000_000 + when.microsecond * 1000


def test_loki_receives_each_line_with_the_targets_labels(client, suite, loki):
    lines = ["first line", "second: ünïcode", "third"]
    client.add_layer("lf-loki", {
        "services": {"lf-loki": {"override": "replace", "command": printer(lines),
                                 "environment": {"ZONE": "blue"}}},
        "log-targets": {"lf-loki-target": {
            "override": "replace", "type": "loki", "location": loki.location, "services": ["lf-loki"],
            "labels": {"zone": "$ZONE", "owner": "team-${ZONE}", "missing": "[$NOPE]"}}},
    })
    client.start_services(["lf-loki"])
    values = wait_for(lambda: len(loki.loki_values()) >= 3 and loki.loki_values(), what="lines at Loki")
    assert loki.errors == []
    assert [v for _, v in values] == [[str(unix_nanos(e["time"])), e["message"]] for e in service_logs(suite, "lf-loki")]
    assert [v[1] for _, v in values] == lines
    assert {json.dumps(labels, sort_keys=True) for labels, _ in values} == {json.dumps(
        {"pebble_service": "lf-loki", "zone": "blue", "owner": "team-blue", "missing": "[]"}, sort_keys=True)}
    request = loki.snapshot()[0]
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert request.headers["User-Agent"].startswith("shoal/")
    client.stop_services(["lf-loki"])


def test_opentelemetry_receives_otlp_records_per_service(client, suite, otlp):
    client.add_layer("lf-otlp", {
        "services": {"lf-otlp-a": {"override": "replace", "command": printer(["a one", "a two"])},
                     "lf-otlp-b": {"override": "replace", "command": printer(["b one"]),
                                   "environment": {"TEAM": "core"}}},
        "log-targets": {"lf-otlp-target": {
            "override": "replace", "type": "opentelemetry", "location": otlp.location,
            "services": ["all", "-lf-loki"],
            "labels": {"team": "$TEAM"}}},
    })
    client.start_services(["lf-otlp-a", "lf-otlp-b"])
    wait_for(lambda: len([r for r in otlp.otlp_records() if r[0]["service.name"].startswith("lf-otlp")]) >= 3,
             what="records at the OTLP receiver")
    assert otlp.errors == []
    records = [r for r in otlp.otlp_records() if r[0]["service.name"].startswith("lf-otlp")]
    got = sorted((attrs["service.name"], attrs["team"], scope, rec.body.string_value, rec.time_unix_nano)
                 for attrs, scope, rec in records)
    expected = sorted((name, "core" if name == "lf-otlp-b" else "", "pebble", e["message"], unix_nanos(e["time"]))
                      for name in ("lf-otlp-a", "lf-otlp-b") for e in service_logs(suite, name))
    assert got == expected
    assert {next(iter(attrs)) for attrs, _, _ in records} == {"service.name"}  # service.name comes first
    assert otlp.snapshot()[0].path == "/v1/logs"
    client.stop_services(["lf-otlp-a", "lf-otlp-b"])
    # `-all` at the end of the merged list turns the target off for every service.
    client.add_layer("lf-otlp-off", {"log-targets": {"lf-otlp-target": {"override": "merge", "services": ["-all"]}}})


def test_rsyslog_receives_rfc5424_over_tcp_and_udp(client, suite, tmp_path):
    rsyslog = Rsyslog(tmp_path / "rsyslog").start()
    try:
        lines = ["hello over syslog", "second line"]
        client.add_layer("lf-syslog", {
            "services": {"lf-syslog": {"override": "replace", "command": printer(lines),
                                       "environment": {"ZONE": "blue"}}},
            "log-targets": {
                "lf-syslog-tcp": {"override": "replace", "type": "syslog", "services": ["lf-syslog"],
                                  "location": f"tcp://127.0.0.1:{rsyslog.tcp_port}",
                                  "labels": {"zone": "$ZONE", "odd": 'a"b]c\\d'}},
                "lf-syslog-udp": {"override": "replace", "type": "syslog", "services": ["lf-syslog"],
                                  "location": f"udp://127.0.0.1:{rsyslog.udp_port}"},
            },
        })
        client.start_services(["lf-syslog"])
        wait_for(lambda: len(rsyslog.messages("lf-syslog")) >= 4, what="messages at rsyslogd")
        logs = service_logs(suite, "lf-syslog")
        by_input = {kind: [m for m in rsyslog.messages("lf-syslog") if m["input"] == kind] for kind in ("imtcp", "imudp")}
        for kind, sd in (("imtcp", '[pebble@28978 odd="a\\"b\\]c\\\\d" zone="blue"]'), ("imudp", "[pebble@28978]")):
            assert [(m["pri"], m["hostname"], m["procid"], m["msgid"], m["sd"]) for m in by_input[kind]] == \
                [("13", socket.gethostname(), "-", "-", sd)] * 2
            assert [m["msg"] for m in by_input[kind]] == lines
            assert [m["timestamp"] for m in by_input[kind]] == [e["time"] for e in logs]
        client.stop_services(["lf-syslog"])
    finally:
        rsyslog.stop()


def counter(period: float) -> str:
    script = ("import itertools, time\n"
              "for i in itertools.count():\n"
              f"    print(f'line {{i}}', flush=True); time.sleep({period})")
    return shlex.join(["python3", "-c", script])


def test_a_target_that_is_down_never_holds_up_the_service_and_gets_the_latest_lines_later(client, suite):
    receiver = HTTPReceiver("loki")  # its port is chosen, but nothing listens there yet
    client.add_layer("lf-down", {
        "services": {"lf-down": {"override": "replace", "command": counter(0.002)}},
        "log-targets": {"lf-down-target": {"override": "replace", "type": "loki",
                                           "location": receiver.location, "services": ["lf-down"]}},
    })
    client.start_services(["lf-down"])
    try:
        # The service writes on at its own pace while every flush fails.
        logs = wait_for(lambda: (rows := service_logs(suite, "lf-down")) and len(rows) >= 600 and rows,
                        timeout=30, what="600 lines written with the target down")
        numbers = [int(e["message"].split()[1]) for e in logs]
        assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))  # no gap, no stall
        receiver.start()
        values = wait_for(lambda: receiver.loki_values(), timeout=15, what="lines once the target is up")
        assert receiver.errors == []
        first_batch = [int(v[1].split()[1]) for s in receiver.snapshot()[0].body["streams"] for v in s["values"]]
        # At most the last 100 were kept while it was down; older ones were dropped.
        assert len(first_batch) <= 100
        assert first_batch == list(range(first_batch[0], first_batch[0] + len(first_batch)))
        assert first_batch[0] > 500
        # And what the service writes from then on keeps arriving, in order.
        wait_for(lambda: len(receiver.loki_values()) >= len(values) + 300, timeout=15, what="later lines")
        later = [int(v[1].split()[1]) for _, v in receiver.loki_values()]
        assert later == sorted(later) and later[-1] - later[0] + 1 == len(later)
    finally:
        client.stop_services(["lf-down"])
        receiver.stop()


def rss_kib(pid: int) -> int:
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        if row.startswith("VmRSS:"):
            return int(row.split()[1])
    raise AssertionError("no VmRSS")


def flood(lines: int, marker: str) -> str:
    """Writes `lines` lines as fast as the pipe takes them, then how long that took."""
    script = ("import sys, time\n"
              "started = time.monotonic(); out = sys.stdout; row = 'x' * 100 + '\\n'\n"
              f"for _ in range({lines}): out.write(row)\n"
              f"out.write(f'{marker} {{time.monotonic() - started:.3f}}\\n'); out.flush(); time.sleep(600)")
    return shlex.join(["python3", "-c", script])


def flood_seconds(suite, name: str, marker: str) -> float:
    def done():
        answer = suite.unix("GET", f"/v1/logs?services={name}&n=1")
        rows = [json.loads(r) for r in answer.body.decode().splitlines()]
        return rows and rows[-1]["message"].startswith(marker) and float(rows[-1]["message"].split()[1])

    return wait_for(done, timeout=120, every=0.1, what=f"{name} to finish its flood")


def run_flood(client, suite, name: str, marker: str) -> tuple[float, float]:
    """Start a flooding service and poll the API until it is done: (its own
    writing time, the slowest API answer meanwhile)."""
    client.start_services([name])
    slowest = 0.0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        started = time.monotonic()
        answer = suite.unix("GET", f"/v1/services?names={name}")
        slowest = max(slowest, time.monotonic() - started)
        assert answer.status == 200
        rows = suite.unix("GET", f"/v1/logs?services={name}&n=1").body.decode().splitlines()
        if rows and json.loads(rows[-1])["message"].startswith(marker):
            break
        time.sleep(0.05)
    seconds = flood_seconds(suite, name, marker)
    client.stop_services([name])
    return seconds, slowest


def test_a_flooding_service_is_not_slowed_and_the_plan_service_stays_responsive(client, suite, loki):
    """20 MB as fast as the pipe takes it, twice with no target and twice
    forwarded to Loki, alternately (the best of each pair is compared, since
    other work on this machine shifts single runs)."""
    lines = 200_000
    services, forwarded = {}, []
    for i in range(2):
        services[f"lf-calm-{i}"] = {"override": "replace", "command": flood(lines, "calm-done")}
        services[f"lf-flood-{i}"] = {"override": "replace", "command": flood(lines, "flood-done")}
        forwarded.append(f"lf-flood-{i}")
    client.add_layer("lf-flood", {
        "services": services,
        "log-targets": {"lf-flood-target": {"override": "replace", "type": "loki", "location": loki.location,
                                            "services": forwarded}},
    })
    plan_pid = suite.pid("plan")
    rss_before = rss_kib(plan_pid)
    calm, forward, slowest = [], [], 0.0
    for i in range(2):
        seconds, _ = run_flood(client, suite, f"lf-calm-{i}", "calm-done")
        calm.append(seconds)
        seconds, worst = run_flood(client, suite, f"lf-flood-{i}", "flood-done")
        forward.append(seconds)
        slowest = max(slowest, worst)
        wait_for(lambda: loki.loki_values() and loki.loki_values()[-1][1][1].startswith("flood-done"),
                 timeout=30, what="the flood's last line at Loki")
    rss_after = rss_kib(plan_pid)
    assert loki.errors == []
    received = len(loki.loki_values())
    print(f"flood of {lines} lines: {calm} s without a target, {forward} s forwarded; "
          f"{received} entries received; slowest API answer {slowest * 1000:.0f} ms; "
          f"plan RSS {rss_before // 1024} → {rss_after // 1024} MiB")
    assert slowest < 1.0
    assert min(forward) < max(2.5 * min(calm), min(calm) + 2.0)
    assert rss_after - rss_before < 30 * 1024
