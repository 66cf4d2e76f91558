"""The read views' own metrics, read off the views when scraped (nothing
is done per request):

- `shoal_gateway_view_live{service}`: 1 while this worker's view of the
  service answers, 0 while reads go to the RPC (a broken stream, before
  the first snapshot).
- `shoal_gateway_view_revisions_behind{service}`: how far the view is
  behind the newest revision any worker of this gateway has seen (0 when
  current): the view's lag, in updates.
- `shoal_gateway_view_catch_ups_total{service, outcome}`: reads that found
  their view behind and waited for it: `caught-up`, or `timed-out` (then
  answered through the RPC).
"""

from __future__ import annotations

from prometheus_client import REGISTRY, Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

CATCH_UPS = Counter("shoal_gateway_view_catch_ups_total",
                    "Reads that waited for their view to reach the newest revision, by outcome",
                    ("service", "outcome"))


class ViewCollector(Collector):
    def __init__(self, views):
        self._views = views

    def collect(self):
        live = GaugeMetricFamily("shoal_gateway_view_live",
                                 "1 while this worker's view of the service answers reads", labels=("service",))
        behind = GaugeMetricFamily("shoal_gateway_view_revisions_behind",
                                   "Revisions this worker's view is behind the newest any worker has seen",
                                   labels=("service",))
        newest = self._views.shared.read()
        for service, view in sorted(self._views.by_service.items()):
            live.add_metric((service,), 1.0 if view.live else 0.0)
            behind.add_metric((service,), float(max(0, newest - view.revision)) if view.live else 0.0)
        yield live
        yield behind


def register(views) -> ViewCollector:
    collector = ViewCollector(views)
    REGISTRY.register(collector)
    return collector


def unregister(collector: ViewCollector) -> None:
    REGISTRY.unregister(collector)
