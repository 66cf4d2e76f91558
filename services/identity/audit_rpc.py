"""GET /api/audit and /api/audit/{id}/verify over the signed, chained audit
log: verify checks the event's own signature and its place in the chain
(its neighbours and the signed head), so an edited, deleted or cut-off
event is found. RecordAuditEvent (INTERNAL) is how other services add to it."""

from __future__ import annotations

import re

from google.protobuf import empty_pb2

from services.common import errors
from services.identity import audit
from services.identity.core import IdentityCore
from services.identity.store import AuditQuery
from services.identity.times import format_rfc3339, parse_rfc3339
from shoal.v1 import identity_pb2

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
EVENT_NAME = re.compile(r"^[a-z][a-z_]{0,63}$")
MAX_FIELD = 1024


def _int(text: str, default: int, kind: str, what: str, minimum: int) -> int:
    if text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise errors.invalid(f"{what} must be an integer of at least {minimum}", kind=kind)
    return value


def _time(text: str, what: str):
    if not text:
        return None
    try:
        return parse_rfc3339(text)
    except ValueError:
        raise errors.invalid(f"{what} must be an RFC3339 time", kind="invalid_time") from None


def query_of(request) -> AuditQuery:
    success = {"": None, "true": True, "false": False}.get(request.success.lower(), ...)
    if success is ...:
        raise errors.invalid('success must be "true" or "false"', kind="invalid_success")
    return AuditQuery(
        limit=min(_int(request.limit, DEFAULT_LIMIT, "invalid_limit", "limit", 1), MAX_LIMIT),
        offset=_int(request.offset, 0, "invalid_offset", "offset", 0),
        event=request.event,
        user=request.user,
        success=success,
        start=_time(request.start_time, "startTime"),
        end=_time(request.end_time, "endTime"),
    )


def _message(event: audit.AuditEvent) -> identity_pb2.AuditEvent:
    return identity_pb2.AuditEvent(
        id=event.id, timestamp=format_rfc3339(event.timestamp), event=event.event, user=event.user,
        ip=event.ip, path=event.path, success=event.success, details=event.details, signature=event.signature,
        sequence=event.seq, previous_signature=event.previous or "",
    )


def recorded_event(request: identity_pb2.RecordAuditEventRequest) -> audit.AuditEvent:
    """The event another service asks to record, or a 400 saying why not."""
    if not EVENT_NAME.match(request.event):
        raise errors.invalid("event must be a lower-case name (letters and _, at most 64)")
    fields = (request.user, request.ip, request.path, request.details)
    if any(len(text) > MAX_FIELD for text in fields):
        raise errors.invalid(f"audit fields are limited to {MAX_FIELD} characters")
    return IdentityCore.event(request.event, user=request.user, ip=request.ip, path=request.path,
                              success=request.success, details=request.details)


class AuditRPC(IdentityCore):
    async def ListAuditEvents(self, request, context):
        events, total = await self.store.audit_events(query_of(request))
        return identity_pb2.ListAuditEventsResponse(
            events=[_message(e) for e in events], total=total, persistent_logging=True
        )

    async def VerifyAuditEvent(self, request, context):
        if not request.id.strip():
            raise errors.invalid("an event id is required", kind="missing_id")
        event = await self.store.audit_event(request.id)
        if event is None:
            raise errors.not_found("audit event not found", kind="not_found")
        before, after, head = await self.store.audit_neighbours(event)
        checked = audit.check_chain(self.audit_key, event, before, after, head)
        return identity_pb2.VerifyAuditEventResponse(available=True, verified=checked.verified,
                                                     message=checked.message)

    async def RecordAuditEvent(self, request, context):
        await self.store.add_audit(recorded_event(request))
        return empty_pb2.Empty()
