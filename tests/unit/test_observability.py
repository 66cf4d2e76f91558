"""Shoal's own metrics and JSON logs, in this process: the real gateway
(tests/gateway_harness.py) counting its requests, a real grpc.aio server
behind the services' interceptors timing its RPCs by code, and the JSON log
formatter. The suite-level tests (Prometheus, OTLP, shared request ids)
are tests/integration/test_observability.py."""

from __future__ import annotations

import io
import json
import logging
import tempfile
from pathlib import Path

import grpc
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from services.common import errors, logs, signing, telemetry
from services.common.interceptor import CallerInterceptor
from shoal.v1 import identity_pb2, identity_pb2_grpc, plan_pb2, plan_pb2_grpc
from tests.gateway_harness import in_process_gateway

SECRET = b"unit-secret"


class Identity(identity_pb2_grpc.IdentityServicer):
    """One token, scoped monitoring:read; the socket's uid decides for the rest."""

    async def Authenticate(self, request, context):
        if request.token == "monitor-token":
            return identity_pb2.AuthenticateResponse(matched=True, name="token:monitor", access="metrics",
                                                     method="token", scopes=["monitoring:read"])
        if request.token:
            raise errors.unauthenticated("Invalid API token", kind="invalid_token")
        return identity_pb2.AuthenticateResponse(matched=False)


class Plan(plan_pb2_grpc.PlanServicer):
    async def ListServices(self, request, context):
        return plan_pb2.ListServicesResponse()

    async def GetChange(self, request, context):
        raise errors.not_found(f'cannot find change with id "{request.id}"')


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scraped(text: str) -> dict[tuple, float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


# -- the gateway's requests ------------------------------------------------------------------------
async def test_requests_are_counted_by_route_template_family_and_status():
    ok = {"route": "/v1/services", "family": "pebble", "method": "GET", "status": "200"}
    missing = {"route": "/v1/changes/{id}", "family": "pebble", "method": "GET", "status": "404"}
    unmatched = {"route": "unmatched", "family": "", "method": "other", "status": "404"}
    not_allowed = {"route": "/v1/services", "family": "pebble", "method": "other", "status": "405"}
    before = {key: sample("shoal_http_requests_total", **labels) for key, labels in
              (("ok", ok), ("missing", missing), ("unmatched", unmatched), ("not_allowed", not_allowed))}
    timed = sample("shoal_http_request_duration_seconds_count", route="/v1/services", family="pebble", method="GET")
    async with in_process_gateway({"plan": Plan(), "identity": Identity()}) as gw:
        for _ in range(3):
            assert (await gw.unix.get("/v1/services")).status == 200
        for n in range(3):
            assert (await gw.unix.get(f"/v1/changes/{n}")).status == 404
        for n in range(40):  # a scan: one label set, whatever the paths
            assert (await gw.unix.get(f"/scan/{n}/x")).status == 404
        assert (await gw.unix.put("/v1/services")).status == 405
        answer = await gw.unix.get("/api/metrics")
        assert answer.status == 200
        text = await answer.text()
    assert sample("shoal_http_requests_total", **ok) - before["ok"] == 3
    assert sample("shoal_http_requests_total", **missing) - before["missing"] == 3
    assert sample("shoal_http_requests_total", **unmatched) - before["unmatched"] == 40
    assert sample("shoal_http_requests_total", **not_allowed) - before["not_allowed"] == 1
    assert sample("shoal_http_request_duration_seconds_count", route="/v1/services", family="pebble",
                  method="GET") - timed == 3
    routes = {dict(labels)["route"] for (name, labels) in scraped(text) if name == "shoal_http_requests_total"}
    assert not any(route.startswith(("/scan", "/v1/changes/0")) for route in routes)
    assert ("shoal_gateway_long_polls", ()) in scraped(text)
    assert "_created" not in text  # no creation-time series beside each counter


async def test_metrics_route_follows_pebbles_rule_for_metrics():
    async with in_process_gateway({"plan": Plan(), "identity": Identity()}) as gw:
        assert (await gw.http.get("/api/metrics")).status == 401
        refused = await gw.http.get("/api/metrics", headers={"X-API-Token": "no-such-token"})
        assert refused.status == 401 and (await refused.json())["error"] == "invalid_token"
        assert (await gw.http.get("/api/metrics", headers={"X-API-Token": "monitor-token"})).status == 200
        assert (await gw.unix.get("/api/metrics")).status == 200  # the daemon's uid: admin


# -- the services' RPCs -----------------------------------------------------------------------------
@pytest.fixture
async def plan_server():
    root = Path(tempfile.mkdtemp(prefix="obs-", dir="/tmp"))
    server = grpc.aio.server(interceptors=[telemetry.RPCMetrics(), CallerInterceptor(SECRET)])
    plan_pb2_grpc.add_PlanServicer_to_server(Plan(), server)
    server.add_insecure_port(f"unix:{root / 'plan.sock'}")
    await server.start()
    channel = grpc.aio.insecure_channel(f"unix:{root / 'plan.sock'}")
    yield plan_pb2_grpc.PlanStub(channel)
    await channel.close()
    await server.stop(None)


async def test_rpcs_are_timed_by_method_and_the_code_they_ended_with(plan_server):
    def count(method: str, code: str) -> float:
        return sample("shoal_rpc_server_duration_seconds_count", grpc_service="shoal.v1.Plan", grpc_method=method,
                      grpc_code=code)

    before = (count("ListServices", "OK"), count("GetChange", "NOT_FOUND"), count("ListServices", "UNAUTHENTICATED"))
    admin = signing.sign(SECRET, signing.Caller("admin", "admin"))
    await plan_server.ListServices(plan_pb2.ListServicesRequest(), metadata=admin)
    await plan_server.ListServices(plan_pb2.ListServicesRequest(), metadata=admin)
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await plan_server.GetChange(plan_pb2.GetChangeRequest(id="7"), metadata=admin)
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await plan_server.ListServices(plan_pb2.ListServicesRequest())  # no signed caller
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    after = (count("ListServices", "OK"), count("GetChange", "NOT_FOUND"), count("ListServices", "UNAUTHENTICATED"))
    assert [a - b for a, b in zip(after, before, strict=True)] == [2, 1, 1]


# -- JSON logs ---------------------------------------------------------------------------------------
def test_json_log_lines_are_one_object_each_with_the_request_id():
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logs.JSONFormatter("plan"))
    logger = logging.getLogger("shoal.test.json")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        token = logs.REQUEST_ID.set("rid-7")
        logger.warning('two\nlines with "quotes"', extra={"change": "12"})
        logs.REQUEST_ID.reset(token)
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["message"] == 'two\nlines with "quotes"' and first["level"] == "WARNING"
    assert (first["process"], first["logger"], first["request_id"], first["change"]) == (
        "plan", "shoal.test.json", "rid-7", "12")
    assert first["time"].endswith("Z")
    assert "request_id" not in second and "ValueError: boom" in second["exception"]


@pytest.mark.parametrize("offered, kept", [
    ("abc-123", True), ("4bf92f35.77b3:4da6_a3ce", True), ("x" * 64, True),
    ("", False), ("x" * 65, False), ("has space", False), ('quote"', False), ("ünïcode", False),
])
def test_a_clients_request_id_is_kept_only_when_it_is_a_short_plain_token(offered, kept):
    made = telemetry.new_request_id(offered)
    assert (made == offered) is kept
    if not kept:
        assert len(made) == 16 and int(made, 16) >= 0


def test_metrics_addresses_and_log_format_are_read_once_from_the_environment(tmp_path):
    from services.common.config import load_settings

    settings = load_settings({"SHOAL_SECRET": "x", "SHOAL_PLAN_METRICS_ADDR": "127.0.0.1:9464",
                              "SHOAL_LOG_FORMAT": "json"}, home=tmp_path)
    assert settings.metrics_address("plan") == "127.0.0.1:9464" and settings.metrics_address("identity") == ""
    assert settings.log_format == "json"
    with pytest.raises(ValueError, match="SHOAL_LOG_FORMAT"):
        load_settings({"SHOAL_SECRET": "x", "SHOAL_LOG_FORMAT": "xml"}, home=tmp_path)
    assert telemetry.split_listen("unix:/run/m.sock") == ("unix", "/run/m.sock", 0)
    assert telemetry.split_listen(":9464") == ("tcp", "0.0.0.0", 9464)
    with pytest.raises(ValueError, match="HOST:PORT"):
        telemetry.split_listen("nowhere")
    assert not telemetry.tracing_wanted({})
    assert telemetry.tracing_wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    assert not telemetry.tracing_wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x", "OTEL_SDK_DISABLED": "true"})


def test_the_commands_take_the_log_format_and_a_services_metrics_address(tmp_path, monkeypatch):
    from shoal.cli.main import _settings, build_parser

    monkeypatch.setenv("SHOAL_SECRET", "x")
    parser = build_parser()
    run = _settings(parser.parse_args(["--home", str(tmp_path), "run", "--log-format", "json"]))
    assert run.log_format == "json"
    service = _settings(parser.parse_args(["--home", str(tmp_path), "service", "plan",
                                           "--metrics-listen", "127.0.0.1:9464"]))
    assert service.metrics_address("plan") == "127.0.0.1:9464" and service.log_format == "text"
    gateway = parser.parse_args(["gateway", "--log-format", "json"])
    assert gateway.log_format == "json"
    with pytest.raises(SystemExit):
        parser.parse_args(["gateway", "--log-format", "xml"])


def test_a_process_metrics_are_readable_through_its_address_or_another_process_in_multiprocess_mode(monkeypatch):
    from services.common import metrics

    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    assert not metrics.readable("")
    assert metrics.readable("127.0.0.1:9100") and metrics.readable("unix:/run/m.sock")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "/tmp/prom")
    assert metrics.readable("")
