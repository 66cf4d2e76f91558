"""Real log receivers on loopback for the log-forwarding tests.

- `HTTPReceiver("loki")`: Loki's push API; every request is checked against
  the documented JSON shape (streams of string labels, values of
  [nanosecond-timestamp string, line]) and anything else is recorded in
  `errors`.
- `HTTPReceiver("otlp")`: an OTLP/HTTP logs receiver (`POST /v1/logs`, JSON)
  decoding each request with the official `opentelemetry-proto` messages;
  `HTTPReceiver("otlp-traces")` the same for spans (`POST /v1/traces`, in
  protobuf as the SDK's exporter sends them, or JSON).
- `Rsyslog`: Debian's rsyslogd in the foreground with its own configuration,
  pid file and work directory under a temporary directory, listening on
  loopback TCP and UDP ports and writing one line per message to a file.

Each HTTP receiver runs its own event loop in a thread, so the code under
test shares nothing with it but the socket.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.support import free_port


def wait_for(predicate, timeout: float = 15.0, every: float = 0.02, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"{what} not reached in {timeout}s")


@dataclass
class Received:
    at: float
    path: str
    headers: dict
    body: object  # the JSON (Loki) or the decoded ExportLogsServiceRequest / ExportTraceServiceRequest (OTLP)


def _loki_shape_errors(body) -> list[str]:
    """What in `body` breaks the push API's JSON shape."""
    if not isinstance(body, dict) or set(body) != {"streams"} or not isinstance(body["streams"], list):
        return [f"top level must be {{'streams': [...]}}, got {body!r:.200}"]
    errors = []
    for stream in body["streams"]:
        if not isinstance(stream, dict) or set(stream) != {"stream", "values"}:
            errors.append(f"a stream must have 'stream' and 'values': {stream!r:.200}")
            continue
        labels = stream["stream"]
        if not isinstance(labels, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                   for k, v in labels.items()):
            errors.append(f"stream labels must map strings to strings: {labels!r:.200}")
        for value in stream["values"]:
            if not (isinstance(value, list) and len(value) == 2 and isinstance(value[0], str)
                    and value[0].isdigit() and isinstance(value[1], str)):
                errors.append(f"a value must be [ns-timestamp string, line]: {value!r:.200}")
    return errors


class HTTPReceiver:
    def __init__(self, kind: str, port: int | None = None):
        assert kind in ("loki", "otlp", "otlp-traces")
        self.kind = kind
        self.port = port or free_port()
        self.path = {"loki": "/loki/api/v1/push", "otlp": "/v1/logs", "otlp-traces": "/v1/traces"}[kind]
        self.status = 204 if kind == "loki" else 200
        self.delay = 0.0  # seconds to wait before answering
        self.received: list[Received] = []
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None

    @property
    def location(self) -> str:
        """Where to send: Loki's push URL, or an OTLP endpoint (the SDK adds /v1/logs, /v1/traces)."""
        base = f"http://127.0.0.1:{self.port}"
        return base + self.path if self.kind == "loki" else base

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            if request.path != self.path:
                raise ValueError(f"unexpected path {request.path}")
            if self.kind == "otlp-traces" and request.content_type == "application/x-protobuf":
                body = ExportTraceServiceRequest.FromString(raw)
            elif request.content_type != "application/json":
                raise ValueError(f"unexpected content type {request.content_type}")
            elif self.kind == "otlp-traces":
                body = json_format.Parse(raw, ExportTraceServiceRequest())
            elif self.kind == "loki":
                body = json.loads(raw)
                problems = _loki_shape_errors(body)
                if problems:
                    raise ValueError("; ".join(problems))
            else:
                body = json_format.Parse(raw, ExportLogsServiceRequest())
        except (ValueError, json_format.ParseError, DecodeError) as error:
            with self._lock:
                self.errors.append(str(error))
            return web.Response(status=400, text=str(error))
        with self._lock:
            self.received.append(Received(time.monotonic(), request.path, dict(request.headers), body))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.kind != "loki" and self.status == 200:
            return web.Response(status=200, text="{}", content_type="application/json")
        return web.Response(status=self.status)

    def _serve(self, ready: threading.Event) -> None:
        async def main():
            app = web.Application(client_max_size=64 * 1024 * 1024)
            app.router.add_route("*", "/{tail:.*}", self._handle)
            runner = web.AppRunner(app)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", self.port, reuse_address=True).start()
            self._stop = asyncio.Event()
            self._loop = asyncio.get_running_loop()
            ready.set()
            await self._stop.wait()
            await runner.cleanup()

        asyncio.run(main())

    def start(self) -> HTTPReceiver:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
        self._thread.start()
        assert ready.wait(10), "receiver did not start"
        return self

    def stop(self) -> None:
        if self._thread is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(10)
            self._thread = None

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    # Loki: (labels, [ns, line]) per value received, in arrival order.
    def loki_values(self) -> list[tuple[dict, list[str]]]:
        return [(s["stream"], v) for r in self.snapshot() for s in r.body["streams"] for v in s["values"]]

    # OTLP: (resource attributes, scope name, record) per log record received.
    def otlp_records(self) -> list[tuple[dict, str, object]]:
        out = []
        for r in self.snapshot():
            for resource_logs in r.body.resource_logs:
                attributes = {a.key: a.value.string_value for a in resource_logs.resource.attributes}
                for scope_logs in resource_logs.scope_logs:
                    for record in scope_logs.log_records:
                        out.append((attributes, scope_logs.scope.name, record))
        return out

    # OTLP traces: (resource attributes, scope name, span) per span received.
    def otlp_spans(self) -> list[tuple[dict, str, object]]:
        out = []
        for r in self.snapshot():
            for resource_spans in r.body.resource_spans:
                attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        out.append((attributes, scope_spans.scope.name, span))
        return out


SYSLOG_FIELDS = ("input", "pri", "timestamp", "hostname", "app", "procid", "msgid", "sd", "msg")

RSYSLOG_CONFIG = """
global(workDirectory="{work}" maxMessageSize="64k")
module(load="imtcp")
module(load="imudp")
input(type="imtcp" address="127.0.0.1" port="{tcp}")
input(type="imudp" address="127.0.0.1" port="{udp}")
template(name="fields" type="list") {{
  property(name="inputname") constant(value="\\t")
  property(name="pri") constant(value="\\t")
  property(name="timereported" dateFormat="rfc3339") constant(value="\\t")
  property(name="hostname") constant(value="\\t")
  property(name="app-name") constant(value="\\t")
  property(name="procid") constant(value="\\t")
  property(name="msgid") constant(value="\\t")
  property(name="structured-data") constant(value="\\t")
  property(name="msg") constant(value="\\n")
}}
*.* action(type="omfile" file="{out}" template="fields")
"""


@dataclass
class Rsyslog:
    """rsyslogd listening on loopback, each message a tab-separated line in `out`."""

    directory: Path
    tcp_port: int = field(default_factory=free_port)
    udp_port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def out(self) -> Path:
        return self.directory / "messages.log"

    def start(self) -> Rsyslog:
        binary = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
        work = self.directory / "work"
        work.mkdir(parents=True, exist_ok=True)
        config = self.directory / "rsyslog.conf"
        config.write_text(RSYSLOG_CONFIG.format(work=work, tcp=self.tcp_port, udp=self.udp_port, out=self.out))
        with open(self.directory / "rsyslogd.out", "wb") as output:
            self.process = subprocess.Popen(
                [binary, "-n", "-f", str(config), "-i", str(self.directory / "rsyslogd.pid")],
                stdout=output, stderr=subprocess.STDOUT,
            )
        # Ready when a probe over each transport has reached the file.
        wait_for(self._tcp_accepts, timeout=20, what="rsyslogd TCP listener")
        with socket.create_connection(("127.0.0.1", self.tcp_port), timeout=5) as s:
            s.sendall(b"<13>1 - - probe - - - tcp-ready\n")
        wait_for(lambda: "tcp-ready" in self.text(), timeout=20, what="rsyslogd TCP probe")

        def udp_probe():
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.sendto(b"<13>1 - - probe - - - udp-ready", ("127.0.0.1", self.udp_port))
            return "udp-ready" in self.text()

        wait_for(udp_probe, timeout=20, every=0.1, what="rsyslogd UDP probe")
        return self

    def _tcp_accepts(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"rsyslogd exited with {self.process.returncode}: "
                               f"{(self.directory / 'rsyslogd.out').read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", self.tcp_port), timeout=1):
                return True
        except OSError:
            return False

    def text(self) -> str:
        try:
            return self.out.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def messages(self, app: str) -> list[dict]:
        """The messages of one app-name (a service), each as its fields."""
        out = []
        for row in self.text().splitlines():
            values = row.split("\t", len(SYSLOG_FIELDS) - 1)
            if len(values) == len(SYSLOG_FIELDS) and values[4] == app:
                out.append(dict(zip(SYSLOG_FIELDS, values, strict=True)))
        return out

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
