"""Lighthouse's STREAM lines: `Starting` before a step, one line per
instance as it answers, `Complete` after the step, `Finalized` at the end.
Every field is always present."""

from __future__ import annotations

from dataclasses import dataclass

from shoal.v1 import application_pb2

MESSAGE_LIMIT = 80
OK, WARNING, ERROR = "OK", "Warning", "Error"


@dataclass(frozen=True)
class Outcome:
    """What one instance answered in one step."""

    instance: str
    status: str  # OK | Warning | Error
    code: int  # HTTP-style status; 502 when the instance could not be reached
    message: str

    @property
    def ok(self) -> bool:
        return self.status != ERROR


def ok(instance: str, message: str, code: int = 200) -> Outcome:
    return Outcome(instance, OK, code, message)


def failed(instance: str, message: str, code: int = 500) -> Outcome:
    return Outcome(instance, ERROR, code, message)


def clip(text: str) -> str:
    """The first 80 bytes of a reply, then "..." (as Lighthouse)."""
    raw = text.encode()
    if len(raw) <= MESSAGE_LIMIT:
        return text
    return raw[:MESSAGE_LIMIT].decode(errors="ignore") + "..."


def starting(description: str, method: str, endpoint: str, total: int) -> application_pb2.StreamEvent:
    return application_pb2.StreamEvent(
        status="Starting", method=method, endpoint=endpoint, message=description, item=0, total=total
    )


def answered(outcome: Outcome, method: str, endpoint: str, item: int, total: int) -> application_pb2.StreamEvent:
    message = outcome.message if outcome.status == ERROR else clip(outcome.message)
    return application_pb2.StreamEvent(
        status=outcome.status, method=method, endpoint=endpoint, message=message, code=outcome.code,
        instance=outcome.instance, item=item, total=total,
    )


def complete(description: str, method: str, endpoint: str, total: int) -> application_pb2.StreamEvent:
    return application_pb2.StreamEvent(
        status="Complete", method=method, endpoint=endpoint, message=description, item=total, total=total
    )


def finalized() -> application_pb2.StreamEvent:
    return application_pb2.StreamEvent(status="Finalized")
