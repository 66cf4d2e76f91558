"""OpenTelemetry: OTLP/HTTP with the JSON encoding, one resource per service.

    POST <location>/v1/logs   Content-Type: application/json
    {"resourceLogs": [{"resource": {"attributes": [
                           {"key": "service.name", "value": {"stringValue": "<service>"}},
                           <labels, sorted by key>]},
                       "scopeLogs": [{"scope": {"name": "pebble"},
                                      "logRecords": [{"timeUnixNano": "<unix ns>",
                                                      "body": {"stringValue": "<line>"}}, ...]}]},
                      ...]}

This is what Pebble sends (JSON, not protobuf); any OTLP/HTTP receiver
decodes it into `ExportLogsServiceRequest`. The location is the receiver's
base URL (normally port 4318); `/v1/logs` is appended as text.
"""

from __future__ import annotations

import orjson

from services.plan.logforward.client import by_service
from services.plan.logforward.httppost import HTTPClient

SCOPE_NAME = "pebble"  # the instrumentation scope Pebble names (its program name)


def _string(value: str) -> dict:
    return {"stringValue": value}


class OpenTelemetryClient(HTTPClient):
    def __init__(self, target_name: str, location: str, user_agent: str, **options):
        super().__init__(target_name, location + "/v1/logs", user_agent, **options)
        self._attributes: dict[str, list[dict]] = {}

    def set_labels(self, service: str, labels: dict[str, str] | None) -> None:
        if labels is None:
            self._attributes.pop(service, None)
            return
        attributes = [{"key": "service.name", "value": _string(service)}]
        attributes += [{"key": k, "value": _string(labels[k])} for k in sorted(labels)]
        self._attributes[service] = attributes

    def request_body(self) -> bytes:
        resources = [
            {"resource": {"attributes": self._attributes.get(service)},
             "scopeLogs": [{"scope": {"name": SCOPE_NAME},
                            "logRecords": [{"timeUnixNano": str(e.unix_nanos), "body": _string(e.message)}
                                           for e in entries]}]}
            for service, entries in by_service(self.entries)
        ]
        return orjson.dumps({"resourceLogs": resources})
