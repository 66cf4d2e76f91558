"""Pebble's metrics text (spec §6): service then check metrics, each block
`# HELP`, `# TYPE`, samples, then a blank line."""

from __future__ import annotations

import json


def _block(name: str, help_text: str, kind: str, label: str, samples: list[tuple[str, int]]) -> str:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    lines += [f"{name}{{{label}={json.dumps(value)}}} {number}" for value, number in samples]
    return "\n".join(lines) + "\n\n"


def metrics_text(services: list[tuple[str, bool, int]], checks: list[tuple[str, str, int, int]]) -> str:
    """`services`: (name, active, start count) for services started since the
    daemon started; `checks`: (name, status, successes, failures)."""
    out = []
    for name, active, starts in sorted(services):
        out.append(_block("pebble_service_active", "Whether the service is currently active (1) or not (0)",
                          "gauge", "service", [(name, int(active))]))
        out.append(_block("pebble_service_start_count", "Number of times the service has started",
                          "counter", "service", [(name, starts)]))
    for name, status, successes, failures in sorted(checks):
        if status != "inactive":
            out.append(_block("pebble_check_up", "Whether the health check is up (1) or not (0)",
                              "gauge", "check", [(name, int(status == "up"))]))
        out.append(_block("pebble_check_success_count", "Number of times the check has succeeded",
                          "counter", "check", [(name, successes)]))
        out.append(_block("pebble_check_failure_count", "Number of times the check has failed",
                          "counter", "check", [(name, failures)]))
    return "".join(out)
