"""The identity store on both backends (SQLite and PostgreSQL): what it
keeps, what it never keeps in the clear, and its atomic updates."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.identity import audit
from services.identity.identities import parse_identity
from services.identity.lockout import LockRecord
from services.identity.recovery import RecoveryToken
from services.identity.store import MIGRATIONS, AuditQuery, IdentityStore, Session
from services.identity.tokens import create_token, hash_token
from tests.databases import BACKENDS, service_database

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
async def store(request, tmp_path):
    async with service_database(request.param, tmp_path, "identity", MIGRATIONS) as db:
        yield IdentityStore(db)


async def test_identities_change_atomically_with_revisions(store):
    def add(current):
        return {**current, "alice": parse_identity("alice", {"access": "admin", "local": {"user-id": 42}}),
                "web": parse_identity("web", {"access": "metrics", "basic": {"password": "$6$salt$hash"}})}

    before, after = await store.change_identities(add)
    assert before == {} and set(after) == {"alice", "web"}
    stored = await store.identities()
    assert stored["alice"].revision == 1 and stored["alice"].identity.local.user_id == 42
    assert (await store.identity_by_uid(42))[0] == "alice"

    def refuse(current):
        current.pop("alice")
        raise ValueError("refused")

    with pytest.raises(ValueError):
        await store.change_identities(refuse)
    assert set(await store.identities()) == {"alice", "web"}  # a refused change left everything

    await store.change_identities(lambda c: {**c, "alice": parse_identity("alice", {"access": "read",
                                                                                      "local": {"user-id": 42}})})
    stored = await store.identities()
    assert stored["alice"].revision == 2 and stored["web"].revision == 1  # only the changed one moves
    await store.change_identities(lambda c: {k: v for k, v in c.items() if k != "web"})
    assert await store.identity("web") is None


async def test_concurrent_identity_changes_do_not_lose_each_other(store):
    async def add(name):
        await store.change_identities(lambda c: {**c, name: parse_identity(name, {"access": "read",
                                                                                   "local": {"user-id": 1}})})

    await asyncio.gather(*(add(f"user{n}") for n in range(8)))
    assert set(await store.identities()) == {f"user{n}" for n in range(8)}


async def test_tokens_are_kept_only_as_hashes(store):
    raw, record = create_token("ci", NOW, ("monitoring:read",), timedelta(hours=1))
    await store.add_token(record)
    found = await store.token_by_hash(hash_token(raw))
    assert found.id == record.id and found.scopes == ("monitoring:read",)
    assert found.expires_at == NOW + timedelta(hours=1)
    rows = await store.db.fetch("SELECT * FROM tokens")
    assert raw not in repr([dict(r) for r in rows])
    await store.touch_token(record.id, NOW + timedelta(minutes=5))
    assert (await store.token(record.id)).last_used_at == NOW + timedelta(minutes=5)
    renamed = replace(found, name="renamed")
    assert await store.save_token(renamed, found.hash)
    assert not await store.save_token(renamed, "some-other-hash")  # a rotated token is not overwritten
    assert await store.delete_token(record.id) and not await store.delete_token(record.id)
    assert await store.tokens() == []


async def test_sessions_expire_and_are_deleted(store):
    session = Session("user", "a@example.com", "127.0.0.1", NOW + timedelta(hours=1))
    await store.add_session("hash-1", session, NOW)
    assert await store.session("hash-1", NOW) == session
    assert await store.session("hash-1", NOW + timedelta(hours=2)) is None
    assert await store.delete_session("hash-1") == session
    assert await store.session("hash-1", NOW) is None


async def test_users_and_resource_levels(store):
    assert await store.create_user("boss@example.com", "$6$x$y", 2)
    assert not await store.create_user("boss@example.com", "$6$x$z", 0)
    user = await store.set_resource_level("boss@example.com", "beacons", "10.0.0.1:9000", 1)
    assert user.permissions["beacons"] == {"10.0.0.1:9000": 1}
    stored = await store.user("boss@example.com")
    assert stored.password_hash == "$6$x$y" and stored.user.auth_level == 2
    await store.set_resource_level("boss@example.com", "beacons", "10.0.0.1:9000", -1)
    assert (await store.lighthouse_user("boss@example.com")).permissions["beacons"] == {}
    assert [u.email for u in await store.users()] == ["boss@example.com"]
    assert await store.set_resource_level("nobody@example.com", "beacons", "x", 1) is None


async def test_lockout_records_update_atomically(store):
    def fail(current):
        records = {key: LockRecord((record.failures if record else 0) + 1, None, NOW)
                   for key, record in current.items()}
        return records, "extra"

    results = await asyncio.gather(*(store.update_lock_records(["user:a", "ip:1.2.3.4"], fail) for _ in range(5)))
    assert results == ["extra"] * 5
    records = await store.lock_records(["user:a", "ip:1.2.3.4", "user:b"])
    assert records["user:a"].failures == 5 and records["ip:1.2.3.4"].failures == 5 and records["user:b"] is None
    assert await store.reset_lockouts(["user:a"]) == 1
    assert (await store.lock_records(["user:a"]))["user:a"] is None
    assert await store.reset_all_lockouts() == 1


async def test_recovery_tokens_are_single_use_and_bound_to_their_address(store):
    await store.add_recovery_token(RecoveryToken("rhash", "127.0.0.1", NOW, NOW + timedelta(minutes=15)))
    assert not await store.consume_recovery_token("rhash", "10.0.0.9", NOW)
    assert not await store.consume_recovery_token("rhash", "127.0.0.1", NOW + timedelta(minutes=16))
    assert await store.consume_recovery_token("rhash", "127.0.0.1", NOW)
    assert not await store.consume_recovery_token("rhash", "127.0.0.1", NOW)


async def test_audit_events_filter_page_and_verify(store):
    key = b"k" * 32
    for n in range(5):
        event = audit.AuditEvent.new(audit.LOGIN, user=f"u{n % 2}", ip="127.0.0.1", path="/api/login",
                                     success=n != 3, timestamp=NOW + timedelta(seconds=n))
        await store.add_audit(audit.signed(key, event))
    events, total = await store.audit_events(AuditQuery(limit=2))
    assert total == 5 and len(events) == 2
    assert all(audit.verify(key, e) for e in (await store.audit_events(AuditQuery(limit=10)))[0])
    assert (await store.audit_events(AuditQuery(user="u1")))[1] == 2
    assert (await store.audit_events(AuditQuery(success=False)))[1] == 1
    assert (await store.audit_events(AuditQuery(start=NOW + timedelta(seconds=3))))[1] == 2
    one = events[0]
    await store.db.execute("UPDATE audit_events SET username = 'mallory' WHERE id = $1", one.id)
    assert not audit.verify(key, await store.audit_event(one.id))  # an edited row no longer verifies
