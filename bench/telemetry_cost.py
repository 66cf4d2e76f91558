"""What Shoal's own telemetry costs, measured side by side in one run (wrk,
HTTPS, 32 connections, token `GET /v1/services`), three suites at once:

- the default (metrics on, tracing off, text logs);
- tracing on (spans exported over OTLP/HTTP to a loopback receiver) ÷ the
  default: what turning it on costs;
- JSON logs (request ids, one access line per request and per RPC) ÷ the
  default.

Off, tracing imports and installs nothing (tests/integration/
test_observability.py proves it), so the default pays only for metrics: the
last rows time one request's metric work (a counter and a histogram, looked
up by route) and give its share of one request at the default's rate.
"""

from __future__ import annotations

import contextlib
import time

from bench.load import run_wrk, wrk_available
from bench.suite import call, running_suite

SECONDS = 8
OBSERVES = 200_000


def _metric_work_us() -> float:
    """Microseconds of the gateway's per-request metric work (the middleware's finally)."""
    from gateway.observability import _Labels

    labels = _Labels("/v1/services", "GET")
    count = labels.count
    started = time.perf_counter()
    for _ in range(OBSERVES):
        labels.seconds.observe(0.0012)
        count(200).inc()
    return (time.perf_counter() - started) / OBSERVES * 1e6


async def main() -> dict:
    if not wrk_available():
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    from tests.logreceivers import HTTPReceiver

    receiver = HTTPReceiver("otlp-traces").start()
    variants = {
        "default": {},
        "tracing": {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.location},
        "json logs": {"SHOAL_LOG_FORMAT": "json"},
    }
    try:
        with contextlib.ExitStack() as stack:
            urls, headers = {}, {}
            for name, env in variants.items():
                suite = stack.enter_context(running_suite(env))
                token = call(suite, "POST", "/api/security/tokens", {"name": "bench"})["token"]
                urls[name] = f"https://127.0.0.1:{suite.https_port}/v1/services"
                headers[name] = {"X-API-Token": token}
            for name in variants:  # warm up caches and connections
                run_wrk(urls[name], headers[name], seconds=2)
            runs: dict[str, list] = {name: [] for name in variants}
            for _ in range(2):  # alternating, so drift in the machine hits all alike
                for name in variants:
                    runs[name].append(run_wrk(urls[name], headers[name], seconds=SECONDS // 2))
    finally:
        receiver.stop()
    rate = {name: sum(r.requests_per_second for r in results) / len(results) for name, results in runs.items()}
    spans = len(receiver.otlp_spans())
    metric_us = _metric_work_us()
    request_us = 1e6 / rate["default"] if rate["default"] else float("nan")
    return {
        "title": "Telemetry cost (HTTPS, token GET /v1/services, 32 connections)",
        "rows": [
            ("default (tracing off) req/s", round(rate["default"], 1), ""),
            ("tracing on ÷ off", round(rate["tracing"] / rate["default"], 3), ""),
            ("spans received while tracing", spans, "> 0"),
            ("JSON logs ÷ text logs", round(rate["json logs"] / rate["default"], 3), ""),
            ("metric work per request (µs)", round(metric_us, 2), ""),
            ("its share of one request at the default rate", round(metric_us / request_us, 4), "≤ 0.01"),
        ],
        "latency": {},
    }
