"""RecordAuditEvent: another service's change, signed into the one audit log."""

from __future__ import annotations

import pytest

from services.common.config import Settings
from services.common.errors import DomainError, Failure
from services.identity import audit
from services.identity.audit_rpc import AuditRPC
from shoal.v1 import identity_pb2


class FakeStore:
    def __init__(self):
        self.events = []

    async def add_audit(self, event):
        self.events.append(event)


@pytest.fixture
def rpc(tmp_path):
    return AuditRPC(Settings(home=tmp_path, secret=b"s" * 32), FakeStore())


async def test_an_event_from_another_service_is_recorded_signed(rpc):
    request = identity_pb2.RecordAuditEventRequest(event="beacon_deleted", user="uid:0", ip="local",
                                                   path="/api/v0.2/beacons/eve", success=True,
                                                   details="beacon 127.0.0.1:1 (eve) with 1 instance(s)")
    await rpc.RecordAuditEvent(request, None)
    [event] = rpc.store.events
    assert (event.event, event.user, event.ip, event.path, event.success) == (
        "beacon_deleted", "uid:0", "local", "/api/v0.2/beacons/eve", True)
    assert audit.verify(rpc.audit_key, event)


@pytest.mark.parametrize("fields", [{"event": ""}, {"event": "Beacon Deleted"}, {"event": "x" * 65},
                                    {"event": "beacon_deleted", "details": "d" * 1025}])
async def test_a_malformed_event_is_refused_and_nothing_recorded(rpc, fields):
    with pytest.raises(DomainError) as caught:
        await rpc.RecordAuditEvent(identity_pb2.RecordAuditEventRequest(**fields), None)
    assert caught.value.failure is Failure.INVALID
    assert rpc.store.events == []
