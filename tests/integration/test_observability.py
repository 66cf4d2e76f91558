"""Shoal's own observability, on the real suite (`shoal run`, real processes)
started with every service's metrics listener on loopback, JSON logs, and
traces exported to a loopback OTLP/HTTP receiver:

- Debian's real `prometheus` scrapes the gateway's `/api/metrics` over plain
  HTTP with a metrics-level identity (and Pebble's `/v1/metrics` beside it,
  which stays Pebble's), and the services' own listeners, and the test asks
  Prometheus's HTTP API for what it stored: requests by route, family and
  status, latency histograms, RPC durations by method and code,
  authentication outcomes and lockouts, supervisor restarts.
- `/api/metrics` answers by Pebble's rule for metrics: a metrics-level
  caller over plain HTTP, any caller of metrics level or more on the socket
  or HTTPS, a token with `monitoring:read`.
- The spans the receiver decodes make one trace from the gateway's HTTP
  span to the service's gRPC span, its parent the gateway's client span.
- Every log line is one JSON object; one request's lines in the gateway and
  in the service carry the same request id.
"""

from __future__ import annotations

import base64
import json

import pytest

from tests.integration.test_identity import openssl_hash
from tests.logreceivers import HTTPReceiver, wait_for
from tests.prometheus_server import Prometheus
from tests.support import Suite, free_port

SERVICES = ("identity", "plan", "beacon", "application")
PASSWORD = "scrape-me-please"


def _basic(name: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


@pytest.fixture(scope="module")
def traces():
    receiver = HTTPReceiver("otlp-traces").start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module")
def observed(tmp_path_factory, traces) -> Suite:
    home = tmp_path_factory.mktemp("observed") / "home"
    home.mkdir()
    ports = {name: free_port() for name in SERVICES}
    env = {f"SHOAL_{name.upper()}_METRICS_ADDR": f"127.0.0.1:{port}" for name, port in ports.items()}
    env.update({
        "SHOAL_LOG_FORMAT": "json",
        "SHOAL_REFUSAL_DELAY": "0",
        "OTEL_EXPORTER_OTLP_ENDPOINT": traces.location,
        "OTEL_BSP_SCHEDULE_DELAY": "100",  # milliseconds between span exports
    })
    suite = Suite(home=home, http_port=free_port(), https_port=free_port(), env=env).start(timeout=60)
    suite.metrics_ports = ports
    identities = {
        "scraper": {"access": "metrics", "basic": {"password": openssl_hash(PASSWORD)}},
        "reader": {"access": "read", "basic": {"password": openssl_hash(PASSWORD)}},
        "boss": {"access": "admin", "basic": {"password": openssl_hash(PASSWORD)}},
    }
    assert suite.unix("POST", "/v1/identities", {"action": "add", "identities": identities}).status == 200
    yield suite
    suite.stop()


def _log_lines(suite: Suite) -> list[dict]:
    path = suite.home.parent / f"{suite.home.name}.log"
    lines = []
    for text in path.read_text(errors="replace").splitlines():
        if text.startswith("{"):
            lines.append(json.loads(text))  # every structured line is one whole JSON object
    return lines


# -- /api/metrics: who may read it ------------------------------------------------------------
def test_metrics_route_answers_a_metrics_caller_over_plain_http_and_keeps_pebbles_metrics_apart(observed):
    token = observed.unix("POST", "/api/security/tokens", {"name": "prom", "scopes": ["monitoring:read"]}).json()
    other = observed.unix("POST", "/api/security/tokens", {"name": "ops", "scopes": ["settings:read"]}).json()
    whole = observed.unix("POST", "/api/security/tokens", {"name": "all"}).json()
    cases = [
        ("http", {}, 401),
        ("http", _basic("scraper", PASSWORD), 200),
        ("http", {"X-API-Token": token["token"]}, 200),
        ("http", _basic("reader", PASSWORD), 401),  # above metrics: never over plain HTTP
        ("http", _basic("boss", PASSWORD), 401),
        ("http", {"X-API-Token": whole["token"]}, 401),
        ("http", _basic("scraper", "wrong"), 401),
        ("https", {}, 401),
        ("https", _basic("reader", PASSWORD), 200),
        ("https", {"X-API-Token": token["token"]}, 200),
        ("https", {"X-API-Token": other["token"]}, 403),  # a token without monitoring:read
        ("unix", {}, 200),  # root on the socket is admin
    ]
    for transport, headers, status in cases:
        answer = getattr(observed, transport)("GET", "/api/metrics", headers=headers)
        assert answer.status == status, (transport, headers, answer.status, answer.body[:200])
        if status == 200:
            assert answer.headers["Content-Type"].startswith("text/plain")
            assert b"# TYPE shoal_http_requests_total counter" in answer.body
            assert b"pebble_" not in answer.body
        else:
            assert answer.json()["error"] in ("unauthorized", "invalid_credentials", "missing_scope")
    assert observed.unix("POST", "/api/metrics").status == 405
    pebble = observed.unix("GET", "/v1/metrics")
    assert pebble.status == 200 and b"shoal_" not in pebble.body  # Pebble's own, as before


def test_services_answer_their_metrics_on_their_own_listeners(observed):
    import urllib.request

    for name, port in observed.metrics_ports.items():
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
            text = answer.read().decode()
        assert "# TYPE shoal_rpc_server_duration_seconds histogram" in text, name
        assert "shoal_http_requests_total" not in text  # the gateway's own are the gateway's


# -- Prometheus ----------------------------------------------------------------------------------
def _flaky_service(suite: Suite) -> None:
    layer = ("services:\n  flaky:\n    override: replace\n    command: /bin/sh -c 'sleep 1.2; exit 3'\n"
             "    backoff-delay: 100ms\n")
    added = suite.unix("POST", "/v1/layers", {"action": "add", "label": "flaky", "format": "yaml", "layer": layer})
    assert added.status == 200, added.body
    started = suite.unix("POST", "/v1/services", {"action": "start", "services": ["flaky"]})
    assert started.status == 202, started.body
    change = started.json()["change"]
    waited = suite.unix("GET", f"/v1/changes/{change}/wait?timeout=20s")
    assert waited.json()["result"]["status"] == "Done", waited.body


def test_prometheus_scrapes_the_suite_and_answers_through_its_api(observed, tmp_path):
    gateway = f"127.0.0.1:{observed.http_port}"
    auth = {"basic_auth": {"username": "scraper", "password": PASSWORD}}
    prometheus = Prometheus(tmp_path / "prometheus", [
        {"job_name": "shoal-gateway", "metrics_path": "/api/metrics", "static_configs": [{"targets": [gateway]}],
         **auth},
        {"job_name": "pebble", "metrics_path": "/v1/metrics", "static_configs": [{"targets": [gateway]}], **auth},
        {"job_name": "shoal-services", "static_configs": [
            {"targets": [f"127.0.0.1:{port}"], "labels": {"service": name}}
            for name, port in observed.metrics_ports.items()]},
    ]).start()
    try:
        for _ in range(3):
            assert observed.unix("GET", "/v1/services").status == 200
        assert observed.unix("GET", "/v1/changes/no-such-change").status == 404
        for _ in range(6):  # the fifth wrong password locks "mallory"; the sixth is refused as locked
            observed.unix("POST", "/api/login", {"username": "mallory", "password": "guess"})
        _flaky_service(observed)
        wait_for(lambda: observed.unix("GET", "/v1/services?names=flaky").json()["result"][0]["current"]
                 == "backoff", timeout=20, what="flaky in backoff")

        def value(expression: str) -> float:
            result = prometheus.query(expression)
            return float(result[0]["value"][1]) if result else 0.0

        def eventually(expression: str, at_least: float = 1.0) -> float:
            return wait_for(lambda: value(expression) >= at_least and value(expression),
                            timeout=30, every=0.5, what=f"{expression} >= {at_least}")

        wait_for(lambda: len(prometheus.targets()) == 6 and all(t["health"] == "up" for t in prometheus.targets()),
                 timeout=30, every=0.5, what=f"every target up: {prometheus.output()}")
        assert value('sum(up{job=~"shoal-.*|pebble"})') == 6
        eventually('shoal_http_requests_total{route="/v1/services",family="pebble",method="GET",status="200"}', 3)
        eventually('shoal_http_requests_total{route="/v1/changes/{id}",method="GET",status="404"}')
        eventually('sum(shoal_http_requests_total{route="/api/metrics",family="security",status="200"})')
        eventually('shoal_http_request_duration_seconds_count{route="/v1/services",method="GET"}', 3)
        assert prometheus.query('histogram_quantile(0.5, sum by (le) '
                                '(shoal_http_request_duration_seconds_bucket{route="/v1/services"}))')
        eventually('shoal_rpc_server_duration_seconds_count{service="plan",grpc_service="shoal.v1.Plan",'
                   'grpc_method="ListServices",grpc_code="OK"}', 3)
        eventually('shoal_rpc_server_duration_seconds_count{service="plan",grpc_method="GetChange",'
                   'grpc_code="NOT_FOUND"}')
        eventually('shoal_auth_attempts_total{service="identity",method="login",outcome="refused"}', 5)
        eventually('shoal_auth_attempts_total{service="identity",method="login",outcome="locked"}')
        eventually('shoal_auth_attempts_total{service="identity",method="basic",outcome="accepted"}')
        eventually('shoal_gateway_view_live{service="plan"}')  # the read views and their lag
        wait_for(lambda: prometheus.query('shoal_gateway_view_revisions_behind{service="plan"} == 0'),
                 timeout=30, every=0.5, what="the plan view current")
        eventually('shoal_auth_lockouts_total{service="identity"}')
        eventually('shoal_supervisor_restarts_total{service="plan"}')  # the target's label, not the flaky one
        restarts = prometheus.query('shoal_supervisor_restarts_total')
        assert {r["metric"]["exported_service"] for r in restarts} == {"flaky"}, restarts
        eventually('pebble_service_start_count{job="pebble",service="flaky"}', 2)  # Pebble's, scraped apart
        assert not prometheus.query('{job="pebble",__name__=~"shoal_.*"}')
        assert not prometheus.query('{job="shoal-gateway",__name__=~"pebble_.*"}')
    finally:
        prometheus.stop()
        observed.unix("POST", "/v1/services", {"action": "stop", "services": ["flaky"]})


# -- traces -----------------------------------------------------------------------------------------
def test_one_request_is_one_trace_across_the_gateway_and_the_service(observed, traces):
    parent_trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    traceparent = f"00-{parent_trace}-00f067aa0ba902b7-01"
    # The plan, not a view-served read: the gateway answers those without an RPC.
    assert observed.unix("GET", "/v1/plan?format=yaml", headers={"traceparent": traceparent}).status == 200

    def spans_of_trace():
        spans = [(resource, span) for resource, _, span in traces.otlp_spans() if span.trace_id.hex() == parent_trace]
        names = {resource["service.name"] for resource, _ in spans}
        return spans if {"shoal-gateway", "shoal-plan"} <= names else None

    spans = wait_for(spans_of_trace, timeout=20, what="the trace's spans from the gateway and the plan service")
    by_id = {span.span_id: (resource["service.name"], span) for resource, span in spans}
    http = [s for name, s in by_id.values() if name == "shoal-gateway" and s.kind == s.SPAN_KIND_SERVER]
    assert len(http) == 1 and http[0].parent_span_id.hex() == "00f067aa0ba902b7"  # the caller's context
    served = [s for name, s in by_id.values() if name == "shoal-plan" and s.kind == s.SPAN_KIND_SERVER]
    assert [s.name for s in served] == ["/shoal.v1.Plan/GetPlan"]
    client = by_id[served[0].parent_span_id]  # the gateway's gRPC client span, carried in gRPC metadata
    assert client[0] == "shoal-gateway" and client[1].kind == client[1].SPAN_KIND_CLIENT
    assert client[1].parent_span_id == http[0].span_id


def test_without_an_otlp_endpoint_nothing_of_opentelemetry_is_loaded(tmp_path):
    import subprocess
    import sys

    from tests.support import ROOT

    program = (
        "import sys\n"
        "from services.common import telemetry\n"
        "from services.common.config import load_settings\n"
        f"settings = load_settings({{'SHOAL_SECRET': 'x'}}, home={str(tmp_path)!r})\n"
        "telemetry.setup('gateway', 'INFO', 'text')\n"
        "from gateway.app import build_app\n"
        "app = build_app(settings)\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
        "print(len(app.middlewares))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", program], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=60, check=True).stdout.splitlines()
    assert out[0] == "[]"
    assert out[1] == "0"  # no tracing middleware; the request's edge is the server's handler (gateway/serving.py)


# -- logs -------------------------------------------------------------------------------------------
def test_json_logs_carry_the_request_id_the_gateway_and_the_service_share(observed):
    answer = observed.unix("GET", "/v1/plan?format=yaml", headers={"X-Request-Id": "rid-observe-1"})  # an RPC
    assert answer.status == 200 and answer.headers["X-Request-Id"] == "rid-observe-1"
    made = observed.unix("GET", "/v1/plan?format=yaml")
    request_id = made.headers["X-Request-Id"]
    assert len(request_id) == 16 and request_id != "rid-observe-1"  # one of its own
    crafted = observed.unix("GET", "/v1/services", headers={"X-Request-Id": 'x" {"level":"forged"}'})
    assert crafted.headers["X-Request-Id"] != 'x" {"level":"forged"}'  # not a plain token: replaced

    def lines_of(rid: str):
        lines = [line for line in _log_lines(observed) if line.get("request_id") == rid]
        return lines if {line["process"] for line in lines} >= {"gateway", "plan"} else None

    lines = wait_for(lambda: lines_of("rid-observe-1"), timeout=10, what="the request's lines in both processes")
    gateway = [line for line in lines if line["process"] == "gateway"]
    assert [(g["logger"], g["http_method"], g["path"], g["route"], g["status"]) for g in gateway] == [
        ("shoal.access", "GET", "/v1/plan", "/v1/plan", 200)]
    plan = [line for line in lines if line["process"] == "plan"]
    assert [(p["logger"], p["grpc_method"], p["grpc_code"], p["caller"]) for p in plan] == [
        ("shoal.access", "/shoal.v1.Plan/GetPlan", "OK", "uid:0")]
    for line in lines:
        assert set(line) >= {"time", "level", "process", "logger", "message", "request_id"}
        assert line["time"].endswith("Z") and line["level"] == "INFO"
        assert len(line.get("trace_id", "")) == 32  # traces are on in this suite: the lines name theirs
    assert wait_for(lambda: lines_of(request_id), timeout=10, what="a made request id in both processes")
    started = [line for line in _log_lines(observed) if line["message"].startswith("started ")]
    assert started and all(line["process"] == "run" for line in started)  # `shoal run` itself too


@pytest.mark.parametrize("metrics_address", ["", "127.0.0.1:9100"])
def test_a_service_whose_metrics_nobody_reads_loads_no_prometheus_client(tmp_path, metrics_address):
    """Without a metrics address (nor prometheus-client's multiprocess mode)
    nothing can read a service's metrics: its counters count nothing and
    prometheus-client is not loaded. With one, they are prometheus-client's."""
    import subprocess
    import sys

    from tests.support import ROOT

    program = (
        "import sys\n"
        "from services.common.config import load_settings\n"
        "from shoal.cli.main import keep_metrics_only_if_read\n"
        f"settings = load_settings({{'SHOAL_SECRET': 'x', 'SHOAL_PLAN_METRICS_ADDR': {metrics_address!r}}},"
        f" home={str(tmp_path)!r})\n"
        "keep_metrics_only_if_read(settings, 'plan')\n"
        "import services.plan.server, services.identity.server\n"
        "from services.common import telemetry\n"
        "from services.identity import auth_metrics\n"
        "from services.plan import supervisor\n"
        "telemetry.RPC_SECONDS.labels('shoal.v1.Plan', 'ListServices', 'OK').observe(0.1)\n"
        "supervisor.RESTARTS.labels('svc').inc()\n"
        "auth_metrics.attempt('token', 'accepted'); auth_metrics.LOCKOUTS.inc()\n"
        "print('prometheus_client' in sys.modules)\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", program], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=60, check=True).stdout.splitlines()
    assert out == [str(bool(metrics_address))]
