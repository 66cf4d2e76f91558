"""The services' own Prometheus metrics, kept only where someone can read them.

A service process's metrics are read through its metrics address
(`--metrics-listen`, `SHOAL_<NAME>_METRICS_ADDR`) or, in prometheus-client's
multiprocess mode (`PROMETHEUS_MULTIPROC_DIR`), through another process's.
A process with neither (the default configuration) calls `keep_none()`
before its modules define their metrics: they are then stand-ins that count
nothing, and prometheus-client, which imports an HTTP server, a WSGI server,
urllib and the email package with it, is never imported (about 2.7 MB of
each service's idle RSS). Everywhere else (the gateway, tests, tools) the
metrics are prometheus-client's.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

_state = {"kept": True}


def readable(metrics_address: str) -> bool:
    """Whether a process with this metrics address ("" for none) has readers."""
    return bool(metrics_address or os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def keep_none() -> None:
    """Metrics defined from now on count nothing (see the module's text)."""
    _state["kept"] = False


class _Uncounted:
    """What a metric is where nobody reads it: every call does nothing."""

    def labels(self, *values, **labels) -> _Uncounted:
        return self

    def inc(self, amount: float = 1) -> None:
        pass

    def observe(self, amount: float) -> None:
        pass


_UNCOUNTED = _Uncounted()


def counter(name: str, documentation: str, labelnames: Sequence[str] = ()):
    if not _state["kept"]:
        return _UNCOUNTED
    from prometheus_client import Counter

    return Counter(name, documentation, labelnames)


def histogram(name: str, documentation: str, labelnames: Sequence[str], buckets: Sequence[float]):
    if not _state["kept"]:
        return _UNCOUNTED
    from prometheus_client import Histogram, disable_created_metrics

    disable_created_metrics()  # no `_created` series beside every counter and histogram
    return Histogram(name, documentation, labelnames, buckets=buckets)
