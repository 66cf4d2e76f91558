"""Lighthouse v0.2 shapes: plain JSON, empty 200 bodies for writes,
errors as {"Cause","Message"}, actions as the newline-delimited STREAM."""

from __future__ import annotations

import orjson
from aiohttp import web

# The Lighthouse module named in "Cause" for each service.
CAUSES = {"identity": "users", "beacon": "beacons", "application": "applications", "plan": "control"}


def answer(method, value, has_result: bool) -> web.Response:
    if not has_result:
        return web.Response(status=200)
    return web.Response(body=orjson.dumps(value), content_type="application/json")


def error(status: int, message: str, cause: str = "control") -> web.Response:
    return web.Response(
        body=orjson.dumps({"Cause": cause, "Message": message}),
        status=status,
        content_type="application/json",
    )
