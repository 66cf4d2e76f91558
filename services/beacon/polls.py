"""How often one caller's beacon polls may fail (pure).

A poll dials an address the caller names, so failed polls are what a port
scan through the beacon service looks like: each caller has a bucket of
FAILURES failed polls, refilled by one every REFILL seconds; with it empty,
the next poll is refused before anything is dialled. Successful polls cost
nothing. Kept per beacon-service process (replicas each keep their own).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

FAILURES = 5
REFILL = 12.0  # seconds per failed poll regained: 5 a minute at most
MAX_CALLERS = 10_000


@dataclass
class _Bucket:
    tokens: float
    at: float


class PollLimiter:
    def __init__(self, failures: int = FAILURES, refill: float = REFILL,
                 clock: Callable[[], float] = time.monotonic):
        self.failures = failures
        self.refill = refill
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def _bucket(self, caller: str) -> _Bucket:
        now = self._clock()
        bucket = self._buckets.pop(caller, None) or _Bucket(float(self.failures), now)
        bucket.tokens = min(float(self.failures), bucket.tokens + (now - bucket.at) / self.refill)
        bucket.at = now
        self._buckets[caller] = bucket
        while len(self._buckets) > MAX_CALLERS:
            self._buckets.popitem(last=False)  # the longest idle: its bucket would be full again soon
        return bucket

    def wait(self, caller: str) -> int:
        """Seconds until `caller` may poll again; 0 when it may now."""
        bucket = self._bucket(caller)
        if bucket.tokens >= 1:
            return 0
        return max(1, math.ceil((1 - bucket.tokens) * self.refill))

    def failed(self, caller: str) -> None:
        bucket = self._bucket(caller)
        bucket.tokens = max(0.0, bucket.tokens - 1)
