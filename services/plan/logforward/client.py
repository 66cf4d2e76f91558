"""What every target type's client offers the gatherer, and the window of
entries it holds.

A client keeps at most `max_entries` (100) entries: adding one more drops
the oldest, so a target that is down costs a bounded amount of memory and,
once it is back, receives the most recent lines. `flush` sends what is held;
on success (or a refusal that retrying cannot fix) the window is emptied, on
any other failure it is kept for the next flush and `FlushError` says why.
"""

from __future__ import annotations

from collections import deque

from services.plan.logforward.entries import Entry

MAX_REQUEST_ENTRIES = 100
REQUEST_TIMEOUT = 10.0  # seconds, for one HTTP request or one TCP connect/write


class FlushError(Exception):
    """A flush that did not deliver; the entries it held are kept unless the
    target refused them for good."""


class BufferedClient:
    def __init__(self, max_entries: int = MAX_REQUEST_ENTRIES):
        self.entries: deque[Entry] = deque(maxlen=max_entries)

    def add(self, entry: Entry) -> None:
        self.entries.append(entry)

    def reset(self) -> None:
        self.entries.clear()

    def set_labels(self, service: str, labels: dict[str, str] | None) -> None:
        """The labels for `service`'s entries from now on; None forgets them."""
        raise NotImplementedError

    async def flush(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        """Release connections (the client is not used again)."""


def by_service(entries: deque[Entry]) -> list[tuple[str, list[Entry]]]:
    """Entries grouped per service, services sorted by name, each group in order."""
    groups: dict[str, list[Entry]] = {}
    for entry in entries:
        groups.setdefault(entry.service, []).append(entry)
    return sorted(groups.items())
