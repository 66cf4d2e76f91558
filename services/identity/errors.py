"""The identity domain's error types.

Every rule in the pure modules fails with a `DomainError` subclass carrying the
HTTP status the API answers with and the exact message; the servicer turns
them into gRPC statuses (and the gateway into each API family's error body)
in one place.
"""

from __future__ import annotations


class DomainError(Exception):
    """A rule refused the request: `http_status` and the exact `message`."""

    http_status: int = 400

    def __init__(self, message: str, http_status: int | None = None):
        super().__init__(message)
        self.message = message
        if http_status is not None:
            self.http_status = http_status

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.http_status}, {self.message!r})"
