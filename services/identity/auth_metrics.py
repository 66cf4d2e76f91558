"""The identity service's Prometheus metrics: how each authentication
ended, and the lockouts it caused.

- `shoal_auth_attempts_total{method, outcome}`: `method` is how the caller
  presented itself (`basic` credentials, a `login`, a `token`, a `session`,
  a client `cert`, a `local` identity's uid, a `peer` uid no identity
  names); `outcome` is `accepted`,
  `refused` (wrong password, unknown or expired token, stale session),
  `locked` (refused by a lockout) or `busy` (too many hashes waiting).
  Each is an answer of the identity service (a gateway keeps an answer
  for a second, so a burst of requests with one credential counts once).
- `shoal_auth_lockouts_total`: failures that locked a username or an address.
"""

from __future__ import annotations

from services.common import metrics

AUTH_ATTEMPTS = metrics.counter(
    "shoal_auth_attempts_total",
    "Authentication attempts, by how the caller presented itself and how it ended",
    ("method", "outcome"),
)
LOCKOUTS = metrics.counter("shoal_auth_lockouts_total", "Failed attempts that locked a username or a client address")


def attempt(method: str, outcome: str) -> None:
    AUTH_ATTEMPTS.labels(method, outcome).inc()
