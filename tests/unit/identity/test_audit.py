"""Audit events: the canonical signed bytes, sign/verify, tamper detection, the key file."""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
import struct
import threading
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.identity.audit import (
    VERIFIED,
    AuditEvent,
    Head,
    canonical_bytes,
    chained,
    check_chain,
    load_or_create_key,
    new_head,
    sign,
    signed,
    verify,
)

KEY = bytes(range(32))
EVENT = AuditEvent(
    id="0b7e4f8e-2f57-4c37-9d2a-1f1f4c2b1a00",
    timestamp=datetime(2025, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
    event="login",
    user="admin",
    ip="10.0.0.1",
    path="/api/login",
    success=False,
    details="bad password",
)


def test_new_event_has_uuid4_and_utc_time():
    event = AuditEvent.new("logout", user="u")
    assert uuid.UUID(event.id).version == 4
    assert event.timestamp.tzinfo is not None
    assert event.signature == ""


def test_canonical_bytes_follow_the_documented_layout():
    def field(text: str) -> bytes:
        data = text.encode()
        return struct.pack(">Q", len(data)) + data

    body = (
        field(EVENT.id)
        + struct.pack(">q", 1735787045)
        + field("login")
        + field("admin")
        + field("10.0.0.1")
        + field("/api/login")
        + b"\x00"
        + field("bad password")
    )
    event = replace(EVENT, seq=7, previous="v3:" + "a" * 64)
    assert canonical_bytes(event) == (
        b"shoal.audit.event\x00v3\x00" + struct.pack(">Q", 7) + field("v3:" + "a" * 64) + body)
    assert canonical_bytes(event, legacy=True) == b"shoal.audit.event\x00v2\x00" + body


def test_signature_is_v3_prefixed_hmac_sha256_hex():
    signature = sign(KEY, EVENT)
    mac = hmac.new(KEY, canonical_bytes(EVENT), hashlib.sha256).hexdigest()
    assert signature == "v3:" + mac
    assert len(signature) == 3 + 64


def test_an_event_from_before_chaining_verifies_as_v2_only():
    legacy = replace(EVENT, previous=None, seq=3)
    legacy = replace(legacy, signature=sign(KEY, legacy, legacy=True))
    assert legacy.signature.startswith("v2:") and verify(KEY, legacy)
    assert not verify(KEY, replace(legacy, previous=""))  # a v2 signature never stands in the chain
    assert not verify(KEY, replace(signed(KEY, EVENT), previous=None))  # nor a v3 one outside it


@pytest.mark.parametrize("change", [{"seq": 8}, {"previous": "v3:" + "b" * 64}])
def test_the_place_in_the_chain_is_signed(change):
    event = chained(KEY, EVENT, 7, "v3:" + "a" * 64)
    assert verify(KEY, event) and not verify(KEY, replace(event, **change))


def test_signed_event_verifies():
    assert verify(KEY, signed(KEY, EVENT))


@pytest.mark.parametrize(
    "change",
    [
        {"id": "other"},
        {"event": "logout"},
        {"user": "root"},
        {"ip": "10.0.0.2"},
        {"path": "/api/logout"},
        {"success": True},
        {"details": "bad passwordX"},
        {"timestamp": datetime(2025, 1, 2, 3, 4, 6, tzinfo=UTC)},
    ],
)
def test_any_tampered_field_fails_verification(change):
    event = signed(KEY, EVENT)
    assert not verify(KEY, replace(event, **change))


def test_subsecond_precision_is_not_signed():
    event = signed(KEY, EVENT)
    assert verify(KEY, replace(event, timestamp=event.timestamp.replace(microsecond=0)))


def test_same_instant_in_another_zone_verifies():
    event = signed(KEY, EVENT)
    other = event.timestamp.astimezone(timezone(timedelta(hours=5)))
    assert verify(KEY, replace(event, timestamp=other))


def test_moving_bytes_between_fields_breaks_signature():
    a = replace(EVENT, user="ab", ip="c")
    b = replace(EVENT, user="a", ip="bc")
    assert canonical_bytes(a) != canonical_bytes(b)
    assert not verify(KEY, replace(b, signature=sign(KEY, a)))


def test_wrong_key_fails():
    assert not verify(b"\x01" * 32, signed(KEY, EVENT))


@pytest.mark.parametrize(
    "signature",
    [
        "",
        "v2:",
        "v2:zz",
        "v3:" + "0" * 64,
        "0" * 64,  # a bare legacy-style MAC is not accepted
        "V2:" + "a" * 64,
        "v2:" + "A" * 64,
        "v2:" + "a" * 63,
        "v2:" + "a" * 65,
        "v4:" + "a" * 64,
    ],
)
def test_malformed_or_unknown_signature_fails_closed(signature):
    assert not verify(KEY, replace(EVENT, signature=signature))


def test_legacy_style_mac_over_the_right_bytes_still_fails():
    mac = hmac.new(KEY, canonical_bytes(EVENT), hashlib.sha256).hexdigest()
    assert not verify(KEY, replace(EVENT, signature=mac))


def test_empty_key_fails_closed():
    assert not verify(b"", signed(KEY, EVENT))
    with pytest.raises(ValueError):
        sign(b"", EVENT)


def test_event_json_shape():
    assert signed(KEY, EVENT).to_dict() == {
        "id": EVENT.id,
        "timestamp": "2025-01-02T03:04:05.678Z",
        "event": "login",
        "user": "admin",
        "ip": "10.0.0.1",
        "path": "/api/login",
        "success": False,
        "details": "bad password",
        "signature": sign(KEY, EVENT),
        "sequence": 0,
        "previousSignature": "",
    }


# --- the chain --------------------------------------------------------------------


def _chain(n: int) -> list[AuditEvent]:
    events, previous = [], ""
    for seq in range(1, n + 1):
        event = chained(KEY, AuditEvent.new("login", user=f"u{seq}"), seq, previous)
        events.append(event)
        previous = event.signature
    return events


def _check(events, index, head):
    event = events[index]
    before = next((e for e in events if e.seq == event.seq - 1), None)
    after = min((e for e in events if e.seq > event.seq), key=lambda e: e.seq, default=None)
    return check_chain(KEY, event, before, after, head)


def test_an_untouched_chain_verifies_everywhere():
    events = _chain(4)
    head = new_head(KEY, events[-1])
    assert all(_check(events, i, head).verified for i in range(4))
    assert _check(events, 0, head).message == VERIFIED


def test_a_deleted_event_breaks_the_chain_at_both_neighbours():
    events = _chain(4)
    head = new_head(KEY, events[-1])
    del events[1]  # seq 2
    assert not _check(events, 0, head).verified
    assert "#2, after this one" in _check(events, 0, head).message
    assert "#2, before this one" in _check(events, 1, head).message  # seq 3
    assert _check(events, 2, head).verified  # seq 4 still has its own neighbour


def test_events_cut_from_the_end_are_noticed_by_the_signed_head():
    events = _chain(4)
    head = new_head(KEY, events[-1])
    assert "after this one are missing" in _check(events[:3], 2, head).message
    forged = Head(3, events[2].signature, "0" * 64)  # a head rewritten without the key
    assert not _check(events[:3], 2, forged).verified
    assert not _check(events, 3, None).verified  # a chained event needs a head when it is the last


def test_an_edited_event_fails_its_own_signature_first():
    events = _chain(3)
    events[1] = replace(events[1], user="mallory")
    assert _check(events, 1, new_head(KEY, events[-1])).message == "Event signature verification failed"


# --- key file -----------------------------------------------------------------


def test_key_is_created_with_mode_0600_and_reused(tmp_path):
    path = tmp_path / "audit" / "signing.key"
    key = load_or_create_key(path)
    assert len(key) == 32
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_or_create_key(path) == key
    assert [p.name for p in path.parent.iterdir()] == ["signing.key"]  # no temp files left


def test_wrong_size_key_file_is_an_error_not_replaced(tmp_path):
    path = tmp_path / "signing.key"
    path.write_bytes(b"short")
    with pytest.raises(ValueError):
        load_or_create_key(path)
    assert path.read_bytes() == b"short"


def test_concurrent_creation_agrees_on_one_key(tmp_path):
    path = tmp_path / "signing.key"
    keys: list[bytes] = []
    barrier = threading.Barrier(8)

    def load():
        barrier.wait()
        keys.append(load_or_create_key(path))

    threads = [threading.Thread(target=load) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(keys)) == 1
    assert path.read_bytes() == keys[0]
