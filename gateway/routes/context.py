"""What a route handler is given: the gate that authorizes a request and
the calls it makes. The gateway's own are the Gatekeeper and ServiceCalls;
behind the instance proxy, an already authorized caller and one instance's
plan agent."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gateway.access import Authorizer
from gateway.calls import Calls
from gateway.shaping import Handler
from gateway.views import Views
from services.common.config import Settings
from shoal.descriptors import Method

__all__ = ["Handler", "HandlerFactory", "RouteContext"]


@dataclass(frozen=True)
class RouteContext:
    settings: Settings
    gate: Authorizer
    calls: Calls
    views: Views | None = None  # this worker's views (none behind the instance proxy)


HandlerFactory = Callable[[RouteContext, list[Method]], Handler]
