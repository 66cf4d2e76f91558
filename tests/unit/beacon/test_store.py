"""The beacon store on SQLite and PostgreSQL: beacons, instances, aliases,
and the ownership rules (an alias names one thing, a dotted alias is
reserved for its instance, an instance address belongs to one beacon)."""

import asyncio

import pytest

from services.beacon.agents import Reported
from services.beacon.store import (
    MIGRATIONS,
    AliasReserved,
    AliasTaken,
    BeaconStore,
    DuplicateBeacon,
    InstanceTaken,
)
from tests.databases import BACKENDS, service_database


@pytest.fixture(params=BACKENDS)
async def store(request, tmp_path):
    async with service_database(request.param, tmp_path, "beacon", MIGRATIONS) as db:
        yield BeaconStore(db)


def me(address, name="vm", can_access=True):
    return Reported(name, address, "v1", can_access)


async def names(store, alias):
    row = await store.alias(alias)
    return None if row is None else (row["address"], row["kind"], row["beacon_address"])


async def test_a_beacon_is_stored_with_its_alias_and_instances(store):
    await store.add_beacon("a:1", b"sealed", "prod", "ann", [me("a:1"), me("a:2", "other")])
    assert await store.beacons() == [{"address": "a:1", "alias": "prod"}]
    row = await store.beacon("a:1")
    assert bytes(row["token"]) == b"sealed" and row["alias"] == "prod"
    instances = await store.instances("a:1")
    assert [(i["instance_address"], i["alias"], i["name"], bool(i["can_access"])) for i in instances] == [
        ("a:1", "prod.vm", "vm", True), ("a:2", "prod.other", "other", True),
    ]
    assert await names(store, "prod") == ("a:1", "beacon", "a:1")
    assert await names(store, "prod.other") == ("a:2", "instance", "a:1")
    assert await names(store, "a:9") is None


async def test_a_duplicate_beacon_or_taken_alias_changes_nothing(store):
    await store.add_beacon("a:1", b"t", "prod", "ann", [me("a:1")])
    with pytest.raises(DuplicateBeacon):
        await store.add_beacon("a:1", b"t2", "other", "bob", [])
    with pytest.raises(AliasTaken):
        await store.add_beacon("b:1", b"t", "prod", "bob", [me("b:1")])
    assert [b["address"] for b in await store.beacons()] == ["a:1"]
    assert await store.instance("b:1") is None
    assert bytes((await store.beacon("a:1"))["token"]) == b"t"


async def test_concurrent_creates_of_one_beacon_store_one(store):
    results = await asyncio.gather(
        *(store.add_beacon("a:1", b"t", f"alias{n}", "ann", [me("a:1")]) for n in range(4)),
        return_exceptions=True,
    )
    assert sum(r is None for r in results) == 1
    assert all(isinstance(r, DuplicateBeacon) for r in results if r is not None)
    assert len(await store.beacons()) == 1


async def test_an_instance_of_another_beacon_is_not_taken_and_the_beacon_reporting_it_is_refused(store):
    await store.add_beacon("a:1", b"t", "a", "ann", [me("a:1")])
    with pytest.raises(InstanceTaken) as caught:
        await store.add_beacon("b:1", b"t", "b", "eve", [me("b:1"), me("a:1", "stolen")])
    assert (caught.value.address, caught.value.owner) == ("a:1", "a:1")
    assert str(caught.value) == "instance address a:1 already belongs to beacon a:1"
    assert await store.beacon("b:1") is None and await store.instance("b:1") is None  # nothing of it stored
    row = await store.instance("a:1")
    assert row["beacon_address"] == "a:1" and row["name"] == "vm"


async def test_a_beacons_own_address_reported_by_another_beacon_first_is_a_conflict_naming_it(store):
    """The squat: a fake agent reports the real agent's address as its
    instance before the real one registers."""
    await store.add_beacon("fake:1", b"t", "fake", "eve", [me("fake:1"), me("real:1", "real")])
    assert await store.holder("real:1", "real:1") == "fake:1"
    with pytest.raises(InstanceTaken) as caught:
        await store.add_beacon("real:1", b"t", "real", "ann", [me("real:1")])
    assert caught.value.owner == "fake:1"
    assert await store.remove_beacon("fake:1") == 2
    await store.add_beacon("real:1", b"t", "real", "ann", [me("real:1")])
    assert [i["instance_address"] for i in await store.instances("real:1")] == ["real:1"]


async def test_a_registered_beacons_address_cannot_be_reported_by_another_beacon(store):
    await store.add_beacon("a:1", b"t", "a", "ann", [])
    await store.add_beacon("b:1", b"t", "b", "eve", [me("b:1")])
    with pytest.raises(InstanceTaken) as caught:
        await store.record_poll("b:1", [me("b:1"), me("a:1", "theirs")])
    assert caught.value.owner == "a:1"
    assert [i["instance_address"] for i in await store.instances("b:1")] == ["b:1"]  # the poll recorded nothing
    assert await store.instances("a:1") == []


async def test_a_poll_updates_instances_and_marks_vanished_ones_unreachable(store):
    await store.add_beacon("a:1", b"t", "prod", "ann", [me("a:1"), me("a:2", "two")])
    await store.record_poll("a:1", [me("a:1", can_access=False)])
    rows = {r["instance_address"]: bool(r["can_access"]) for r in await store.instances("a:1")}
    assert rows == {"a:1": False, "a:2": False}
    await store.record_poll("a:1", [me("a:1"), me("a:2", "two")])
    await store.mark_unreachable("a:1")
    assert not any(r["can_access"] for r in await store.instances("a:1"))


async def test_aliases_are_set_per_kind_and_unique(store):
    await store.add_beacon("a:1", b"t", "prod", "ann", [me("a:1")])
    await store.add_beacon("b:1", b"t", "test", "ann", [me("b:1")])
    assert await store.beacon_of("a:1") == ("beacon", "a:1")
    await store.set_alias("a:1", "instance", "web", "a:1")
    assert (await store.instance("a:1"))["alias"] == "web"
    assert (await store.beacon("a:1"))["alias"] == "prod"
    with pytest.raises(AliasTaken):
        await store.set_alias("b:1", "beacon", "prod", "b:1")
    with pytest.raises(AliasTaken):
        await store.set_alias("b:1", "instance", "web", "b:1")
    await store.set_alias("a:1", "beacon", "production", "a:1")
    assert await names(store, "production") == ("a:1", "beacon", "a:1") and await names(store, "prod") is None
    # a later poll keeps an alias a user chose
    await store.record_poll("a:1", [me("a:1")])
    assert (await store.instance("a:1"))["alias"] == "web"


async def test_a_dotted_alias_is_reserved_for_the_instance_it_names(store):
    await store.add_beacon("eve:1", b"t", "eve", "eve", [me("eve:1")])
    # Not for a beacon that is not registered yet ...
    with pytest.raises(AliasReserved) as caught:
        await store.set_alias("eve:1", "instance", "prod.vm", "eve:1")
    assert str(caught.value) == (
        'alias "prod.vm" is reserved: it is the name of instance "vm" behind the beacon aliased "prod"'
    )
    # ... nor for a beacon itself ...
    with pytest.raises(AliasReserved):
        await store.set_alias("eve:1", "beacon", "prod.vm", "eve:1")
    with pytest.raises(AliasReserved):
        await store.add_beacon("eve:2", b"t", "prod.vm", "eve", [me("eve:2")])
    # ... nor for an instance of the right name behind another beacon.
    with pytest.raises(AliasReserved):
        await store.set_alias("eve:1", "instance", "prod.vm", "eve:1")
    # So the later beacon's instance gets it.
    await store.add_beacon("prod:1", b"t", "prod", "ann", [me("prod:1")])
    assert await names(store, "prod.vm") == ("prod:1", "instance", "prod:1")
    # Its own name may be given back to an instance that had another alias.
    await store.set_alias("prod:1", "instance", "web", "prod:1")
    await store.set_alias("prod:1", "instance", "prod.vm", "prod:1")
    assert (await store.instance("prod:1"))["alias"] == "prod.vm"


async def test_a_renamed_beacon_takes_its_instances_names_along(store):
    await store.add_beacon("a:1", b"t", "old", "ann", [me("a:1"), me("a:2", "two")])
    await store.set_alias("a:1", "beacon", "new", "a:1")
    assert {i["alias"] for i in await store.instances("a:1")} == {"new.vm", "new.two"}
    assert await names(store, "old.vm") is None
    # "old" is free again, and a beacon taking it gets its own instances' names.
    await store.add_beacon("b:1", b"t", "old", "bob", [me("b:1")])
    assert await names(store, "old.vm") == ("b:1", "instance", "b:1")


async def test_a_beacon_alias_whose_names_another_beacons_instances_hold_is_taken(store):
    """A dotted alias left by an older release under an alias no beacon has
    any more: a beacon taking that alias would see its instance's name
    point elsewhere, so the alias is in use."""
    await store.add_beacon("a:1", b"t", "a", "ann", [me("a:1")])
    await store.db.execute("UPDATE aliases SET alias = 'ghost.vm' WHERE alias = 'a.vm'")
    with pytest.raises(AliasTaken, match='"ghost.vm" names an instance of another beacon'):
        await store.check_alias("x:1", "beacon", "ghost", "x:1")
    with pytest.raises(AliasTaken):
        await store.add_beacon("x:1", b"t", "ghost", "bob", [me("x:1")])
    assert await store.beacon("x:1") is None


async def test_tokens_change_only_for_known_beacons_and_removal_takes_everything(store):
    await store.add_beacon("a:1", b"t", "prod", "ann", [me("a:1"), me("a:2", "two")])
    await store.set_alias("a:2", "instance", "mine", "a:1")
    assert await store.set_token("a:1", b"new") and not await store.set_token("z:1", b"new")
    assert await store.remove_beacon("a:1") == 2
    assert await store.beacons() == [] and await store.instance("a:1") is None
    for alias in ("prod", "prod.vm", "mine"):
        assert await names(store, alias) is None


async def test_aliases_of_a_version_1_database_learn_their_beacon(tmp_path):
    backend = "sqlite"  # (a PostgreSQL test schema lasts one open; migration 2 runs in every test above)
    async with service_database(backend, tmp_path, "beacon", MIGRATIONS[:1]) as db:
        await db.execute("INSERT INTO beacons (address, token, creator, created_at) VALUES ('a:1', $1, 'ann', 0)",
                         b"t")
        await db.execute("INSERT INTO instances VALUES ('a:2', 'vm', TRUE, 'v1', 'a:1')")
        for alias, address, kind in (("prod", "a:1", "beacon"), ("prod.vm", "a:2", "instance"),
                                     ("lost", "z:9", "instance")):
            await db.execute("INSERT INTO aliases (alias, address, kind) VALUES ($1, $2, $3)", alias, address, kind)
    async with service_database(backend, tmp_path, "beacon", MIGRATIONS) as db:
        store = BeaconStore(db)
        assert await names(store, "prod") == ("a:1", "beacon", "a:1")
        assert await names(store, "prod.vm") == ("a:2", "instance", "a:1")
        assert await names(store, "lost") is None  # named nothing
