"""Loki: the push API's JSON, one stream per service.

    POST <location>   Content-Type: application/json; charset=utf-8
    {"streams": [{"stream": {<labels>, "pebble_service": "<service>"},
                  "values": [["<unix ns>", "<line>"], ...]}, ...]}

The location is the full push URL (`http://host:3100/loki/api/v1/push`).
Streams are sorted by service name and label keys sorted; a service whose
labels were forgotten while its entries waited is sent `"stream": null`, as
Pebble sends it.
"""

from __future__ import annotations

import orjson

from services.plan.logforward.client import by_service
from services.plan.logforward.httppost import HTTPClient


class LokiClient(HTTPClient):
    content_type = "application/json; charset=utf-8"

    def __init__(self, target_name: str, location: str, user_agent: str, **options):
        super().__init__(target_name, location, user_agent, **options)
        self._labels: dict[str, dict[str, str]] = {}

    def set_labels(self, service: str, labels: dict[str, str] | None) -> None:
        if labels is None:
            self._labels.pop(service, None)
            return
        self._labels[service] = dict(sorted({**labels, "pebble_service": service}.items()))

    def request_body(self) -> bytes:
        streams = [
            {"stream": self._labels.get(service),
             "values": [[str(e.unix_nanos), e.message] for e in entries]}
            for service, entries in by_service(self.entries)
        ]
        return orjson.dumps({"streams": streams})
