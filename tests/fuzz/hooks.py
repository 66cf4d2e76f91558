"""Schemathesis hooks for `make fuzz` (loaded through SCHEMATHESIS_HOOKS).

One extra check beyond schemathesis' own: a request answered 4xx changed
nothing. Before each call a digest of the suite's durable state is taken over
the unix socket (as admin); after a 4xx answer it must be the same. Audit
events and lockout counters are excluded: recording a refused login is the
point of them.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import socket

import schemathesis

SOCKET = os.environ.get("SHOAL_FUZZ_SOCKET", "")
# GET routes whose answers make up the durable state, with the fields that
# move on their own (timestamps, live process state) dropped.
STATE_ROUTES = [
    "/v1/plan?format=yaml",
    "/v1/identities",
    "/v1/notices?types=custom",
    "/api/security/tokens",
    "/api/v0.2/users/list",
    "/api/v0.2/beacons/list",
    "/api/v0.2/applications/list",
]
VOLATILE = {"lastUsedAt", "last-repeated", "repeat-count", "current-since"}


class _Unix(http.client.HTTPConnection):
    def __init__(self, path: str):
        super().__init__("localhost", timeout=30)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def _scrub(value):
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def state_digest() -> str:
    digest = hashlib.sha256()
    for route in STATE_ROUTES:
        conn = _Unix(SOCKET)
        try:
            conn.request("GET", route)
            response = conn.getresponse()
            body = response.read()
        finally:
            conn.close()
        try:
            body = json.dumps(_scrub(json.loads(body)), sort_keys=True).encode()
        except ValueError:
            pass
        digest.update(route.encode() + b"\0" + str(response.status).encode() + b"\0" + body)
    return digest.hexdigest()


_before: dict[int, str] = {}


@schemathesis.hook
def filter_query(ctx, query):
    """A followed log stream never ends by design; it is not a fuzz target."""
    return not (isinstance(query, dict) and str(query.get("follow", "")).lower() == "true")


@schemathesis.hook
def before_call(context, case, **kwargs):
    if SOCKET:
        _before[id(case)] = state_digest()


@schemathesis.check
def no_state_change_on_4xx(ctx, response, case):
    before = _before.pop(id(case), None)
    if before is None or not 400 <= response.status_code < 500:
        return
    after = state_digest()
    if after != before:
        raise AssertionError(
            f"{case.method} {case.formatted_path} answered {response.status_code} but changed the suite's state"
        )
