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
from services.identity.store import MIGRATIONS, AuditQuery, IdentityStore, NameTaken, Session
from services.identity.tokens import create_token, hash_token
from tests.databases import BACKENDS, service_database

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
KEY = b"k" * 32
HASH = "$6$abcdefgh$KQeXafAQAaOoKTevphVU215RvJdgzyfASRasIOuh12hO8u0r1bGW92ZnTmC9IjsiQ8VPiTXBiZF49dFL1U4wX/"


@pytest.fixture(params=BACKENDS)
async def store(request, tmp_path):
    async with service_database(request.param, tmp_path, "identity", MIGRATIONS) as db:
        yield IdentityStore(db, KEY)


def _event(name: str = audit.USER_CREATED, **fields) -> audit.AuditEvent:
    return audit.AuditEvent.new(name, **fields)


async def test_identities_change_atomically_with_revisions(store):
    def add(current):
        return {**current, "alice": parse_identity("alice", {"access": "admin", "local": {"user-id": 42}}),
                "web": parse_identity("web", {"access": "metrics", "basic": {"password": HASH}})}

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
    assert not await store.create_user("BOSS@Example.com", "$6$x$z", 0)  # one user, whatever the case
    user = await store.set_resource_level("boss@example.com", "beacons", "10.0.0.1:9000", 1)
    assert user.permissions["beacons"] == {"10.0.0.1:9000": 1}
    stored = await store.user("boss@example.com")
    assert stored.password_hash == "$6$x$y" and stored.user.auth_level == 2
    await store.set_resource_level("boss@example.com", "beacons", "10.0.0.1:9000", -1)
    assert (await store.lighthouse_user("boss@example.com")).permissions["beacons"] == {}
    assert [u.email for u in await store.users()] == ["boss@example.com"]
    assert await store.set_resource_level("nobody@example.com", "beacons", "x", 1) is None
    assert (await store.user("Boss@EXAMPLE.com")).user.email == "boss@example.com"  # its own spelling kept


async def test_forgetting_a_resource_removes_every_holders_level_with_its_event(store):
    for email, levels in (("ann", {"10.0.0.1:9000": 2, "10.0.0.2:9000": 1}), ("Bob", {"10.0.0.1:9000": 0}),
                          ("cy", {"10.0.0.2:9000": 2})):
        assert await store.create_user(email, HASH)
        for beacon, level in levels.items():
            await store.set_resource_level(email, "Beacons", beacon, level)
    event = _event("beacon_deleted", user="uid:0", details="beacon 10.0.0.1:9000")
    assert await store.forget_resource("Beacons", "10.0.0.1:9000", event) == 2
    held = {u.email: dict(u.permissions["Beacons"]) for u in await store.users()}
    assert held == {"ann": {"10.0.0.2:9000": 1}, "Bob": {}, "cy": {"10.0.0.2:9000": 2}}
    [recorded], _ = await store.audit_events(AuditQuery(event="beacon_deleted"))
    assert recorded.details == "beacon 10.0.0.1:9000" and audit.verify(KEY, recorded)
    assert await store.forget_resource("Beacons", "10.0.0.1:9000", _event("beacon_deleted")) == 0  # none left


async def test_user_and_identity_names_never_coincide(store):
    await store.change_identities(lambda c: {**c, "Ops": parse_identity("Ops", {"access": "read",
                                                                            "local": {"user-id": 5}})})
    with pytest.raises(NameTaken):
        await store.create_user("ops", "$6$x$y")
    assert await store.create_user("intern", "$6$x$y")
    with pytest.raises(NameTaken):
        await store.change_identities(lambda c: {**c, "Intern": parse_identity("Intern", {"access": "read",
                                                                                      "local": {"user-id": 6}})})
    assert set(await store.identities()) == {"Ops"}


async def test_a_change_and_its_audit_event_commit_together(store):
    assert await store.create_user("kept", "$6$x$y", event=_event(details="kept"))
    def add(current):
        return {**current, "idn": parse_identity("idn", {"access": "read", "local": {"user-id": 7}})}

    _, record = create_token("ci", NOW)
    store.audit_key = b""  # the event cannot be signed: each write fails whole
    with pytest.raises(ValueError):
        await store.create_user("lost", "$6$x$y", event=_event(details="lost"))
    with pytest.raises(ValueError):
        await store.add_token(record, _event(audit.TOKEN_CREATED))
    with pytest.raises(ValueError):
        await store.change_identities(add, lambda before, after: _event(audit.IDENTITIES_CHANGED))
    store.audit_key = KEY
    assert await store.user("lost") is None and await store.token(record.id) is None
    assert await store.identities() == {}
    events, total = await store.audit_events(AuditQuery())
    assert total == 1 and events[0].details == "kept"


async def test_the_bootstrap_token_is_made_once_and_used_once(store):
    assert await store.bootstrap_state() == (None, False)
    assert await store.create_bootstrap_token("h1", NOW, _event(audit.BOOTSTRAP_TOKEN_CREATED))
    assert not await store.create_bootstrap_token("h2", NOW, _event(audit.BOOTSTRAP_TOKEN_CREATED))
    assert await store.bootstrap_state() == ("h1", False)
    admin = parse_identity("admin", {"access": "admin", "basic": {"password": HASH}})
    raw, token = create_token("primary", NOW, token_id="primary")
    setup = (NOW, "admin", admin, token, _event(audit.QUICK_SETUP))
    assert await store.quick_setup(lambda h: h == "h2", *setup) == "invalid_token"
    assert await store.quick_setup(lambda h: h == "h1", *setup) == "done"
    assert (await store.identity("admin")).identity.access == "admin"
    assert (await store.token_by_hash(hash_token(raw))).id == "primary"
    assert await store.bootstrap_state() == (None, True)
    assert await store.quick_setup(lambda h: True, *setup) == "invalid_token"  # used up


async def test_an_admin_made_otherwise_ends_the_bootstrap(store):
    assert await store.create_bootstrap_token("h1", NOW, _event(audit.BOOTSTRAP_TOKEN_CREATED))
    _, token = create_token("all", NOW)
    await store.add_token(token)
    assert await store.bootstrap_state() == ("h1", True)
    admin = parse_identity("admin", {"access": "admin", "basic": {"password": HASH}})
    assert await store.quick_setup(lambda h: True, NOW, "admin", admin, None, _event()) == "already_set_up"
    assert await store.bootstrap_state() == (None, True)


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


async def test_recovery_tokens_are_single_use_and_expire(store):
    await store.add_recovery_token(RecoveryToken("rhash", "local", NOW, NOW + timedelta(minutes=15)))
    assert await store.count_recovery_tokens(NOW) == 1
    assert not await store.consume_recovery_token("other", NOW)
    assert not await store.consume_recovery_token("rhash", NOW + timedelta(minutes=16))
    assert await store.consume_recovery_token("rhash", NOW)
    assert not await store.consume_recovery_token("rhash", NOW)
    assert await store.count_recovery_tokens(NOW) == 0


async def test_audit_events_filter_page_and_verify(store):
    for n in range(5):
        event = audit.AuditEvent.new(audit.LOGIN, user=f"u{n % 2}", ip="127.0.0.1", path="/api/login",
                                     success=n != 3, timestamp=NOW + timedelta(seconds=n))
        stored = await store.add_audit(event)
        assert stored.seq == n + 1 and audit.verify(KEY, stored)
    events, total = await store.audit_events(AuditQuery(limit=2))
    assert total == 5 and len(events) == 2
    assert all(audit.verify(KEY, e) for e in (await store.audit_events(AuditQuery(limit=10)))[0])
    assert (await store.audit_events(AuditQuery(user="u1")))[1] == 2
    assert (await store.audit_events(AuditQuery(success=False)))[1] == 1
    assert (await store.audit_events(AuditQuery(start=NOW + timedelta(seconds=3))))[1] == 2
    one = events[0]
    await store.db.execute("UPDATE audit_events SET username = 'mallory' WHERE id = $1", one.id)
    assert not audit.verify(KEY, await store.audit_event(one.id))  # an edited row no longer verifies


async def _chain_check(store, event_id):
    event = await store.audit_event(event_id)
    return audit.check_chain(KEY, event, *await store.audit_neighbours(event))


async def test_the_audit_chain_finds_a_deleted_event(store):
    ids = [(await store.add_audit(_event(audit.LOGIN, user=f"u{n}"))).id for n in range(4)]
    assert all([(await _chain_check(store, i)).verified for i in ids])
    await store.db.execute("DELETE FROM audit_events WHERE id = $1", ids[1])
    assert not (await _chain_check(store, ids[0])).verified
    assert not (await _chain_check(store, ids[2])).verified
    await store.db.execute("DELETE FROM audit_events WHERE id = $1", ids[3])  # the last one: the head knows
    assert "missing" in (await _chain_check(store, ids[2])).message


async def test_events_from_before_chaining_still_verify_and_the_chain_goes_on_from_them(store):
    legacy = replace(_event(audit.LOGIN, user="old"), previous=None)
    legacy = replace(legacy, signature=audit.sign(KEY, legacy, legacy=True))
    await store.db.execute(
        "INSERT INTO audit_events (id, seq, timestamp, event, username, ip, path, success, details, signature) "
        "VALUES ($1, 1, $2, $3, $4, '', '', TRUE, '', $5)",
        legacy.id, legacy.timestamp.timestamp(), legacy.event, legacy.user, legacy.signature)
    new = await store.add_audit(_event(audit.LOGIN, user="new"))
    assert new.seq == 2 and new.previous == legacy.signature
    assert (await _chain_check(store, legacy.id)).verified and (await _chain_check(store, new.id)).verified
