"""One error hierarchy for everything the client can report."""

from __future__ import annotations

import builtins


class ShoalError(Exception):
    """Anything the Shoal client reports."""


class APIError(ShoalError):
    """The gateway answered with an error: `status` (HTTP), `kind` (Pebble's
    kind, Pulse's `error`, or Lighthouse's `Cause`) and its message."""

    def __init__(self, status: int, message: str, kind: str = "", body=None):
        super().__init__(f"{status} {kind + ': ' if kind else ''}{message}")
        self.status = status
        self.message = message
        self.kind = kind
        self.body = body


class ConnectionError(ShoalError, builtins.ConnectionError):
    """No gateway could be reached (`causes`: address → why), or the
    connection broke."""

    def __init__(self, message: str, causes: dict[str, str] | None = None):
        super().__init__(message)
        self.causes = dict(causes or {})


class CertificateError(ConnectionError):
    """The gateway's certificate is not trusted: never retried."""


class TimeoutError(ShoalError, builtins.TimeoutError):
    """Dial, login or a wait took longer than allowed."""


class ChangeError(ShoalError):
    """A change finished with an error (`change.err`)."""

    def __init__(self, change):
        super().__init__(change.err or f"change {change.id} failed")
        self.change = change


class PathError(ShoalError):
    """One path of a files call failed (Pebble's per-path `error`: its kind,
    such as not-found or permission-denied, and its message)."""

    def __init__(self, path: str, message: str, kind: str = ""):
        super().__init__(message)
        self.path = path
        self.message = message
        self.kind = kind


class RedirectError(ShoalError):
    """The gateway sent the client elsewhere (`location`). Followed once,
    without credentials, only when the dial options say so."""

    def __init__(self, location: str, status: int = 307):
        super().__init__(f"redirected to {location}")
        self.location = location
        self.status = status


class LoginRequired(ShoalError):
    """A login provider has nothing to send yet: log in first."""
