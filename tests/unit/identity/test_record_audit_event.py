"""RecordAuditEvent: another service's change, signed into the one audit log."""

from __future__ import annotations

import pytest

from services.common.config import Settings
from services.common.errors import DomainError, Failure
from services.identity import audit
from services.identity.audit_rpc import AuditRPC
from services.identity.store import MIGRATIONS, AuditQuery, IdentityStore
from shoal.v1 import identity_pb2
from tests.databases import service_database


@pytest.fixture
async def rpc(tmp_path):
    async with service_database("sqlite", tmp_path, "identity", MIGRATIONS) as db:
        yield AuditRPC(Settings(home=tmp_path, secret=b"s" * 32), IdentityStore(db, b"k" * 32))


async def recorded(rpc) -> list:
    events, _ = await rpc.store.audit_events(AuditQuery())
    return events


async def test_an_event_from_another_service_is_recorded_signed(rpc):
    request = identity_pb2.RecordAuditEventRequest(event="beacon_deleted", user="uid:0", ip="local",
                                                   path="/api/v0.2/beacons/eve", success=True,
                                                   details="beacon 127.0.0.1:1 (eve) with 1 instance(s)")
    await rpc.RecordAuditEvent(request, None)
    [event] = await recorded(rpc)
    assert (event.event, event.user, event.ip, event.path, event.success) == (
        "beacon_deleted", "uid:0", "local", "/api/v0.2/beacons/eve", True)
    assert audit.verify(rpc.audit_key, event)


@pytest.mark.parametrize("fields", [{"event": ""}, {"event": "Beacon Deleted"}, {"event": "x" * 65},
                                    {"event": "beacon_deleted", "details": "d" * 1025}])
async def test_a_malformed_event_is_refused_and_nothing_recorded(rpc, fields):
    with pytest.raises(DomainError) as caught:
        await rpc.RecordAuditEvent(identity_pb2.RecordAuditEventRequest(**fields), None)
    assert caught.value.failure is Failure.INVALID
    assert await recorded(rpc) == []
