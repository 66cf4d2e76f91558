"""The beacon store on SQLite and PostgreSQL."""

import asyncio

import pytest

from services.beacon.agents import Reported
from services.beacon.store import MIGRATIONS, AliasTaken, BeaconStore, DuplicateBeacon
from tests.databases import BACKENDS, service_database


@pytest.fixture(params=BACKENDS)
async def store(request, tmp_path):
    async with service_database(request.param, tmp_path, "beacon", MIGRATIONS) as db:
        yield BeaconStore(db)


def me(address, name="vm", can_access=True):
    return Reported(name, address, "v1", can_access)


async def test_a_beacon_is_stored_with_its_alias_and_instances(store):
    await store.add_beacon("a:1", b"sealed", "prod", "ann", [me("a:1"), me("a:2", "other")])
    assert await store.beacons() == [{"address": "a:1", "alias": "prod"}]
    row = await store.beacon("a:1")
    assert bytes(row["token"]) == b"sealed" and row["alias"] == "prod"
    instances = await store.instances("a:1")
    assert [(i["instance_address"], i["alias"], i["name"], bool(i["can_access"])) for i in instances] == [
        ("a:1", "prod.vm", "vm", True), ("a:2", "prod.other", "other", True),
    ]
    assert await store.resolve("prod") == "a:1"
    assert await store.resolve("prod.other") == "a:2"
    assert await store.resolve("a:9") == "a:9"


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


async def test_an_instance_of_another_beacon_is_not_taken_over(store):
    await store.add_beacon("a:1", b"t", "a", "ann", [me("a:1")])
    await store.add_beacon("b:1", b"t", "b", "eve", [me("b:1"), me("a:1", "stolen")])
    row = await store.instance("a:1")
    assert row["beacon_address"] == "a:1" and row["name"] == "vm"


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
    await store.set_alias("a:1", "instance", "web")
    assert (await store.instance("a:1"))["alias"] == "web"
    assert (await store.beacon("a:1"))["alias"] == "prod"
    with pytest.raises(AliasTaken):
        await store.set_alias("b:1", "beacon", "prod")
    await store.set_alias("a:1", "beacon", "production")
    assert await store.resolve("production") == "a:1" and await store.resolve("prod") == "prod"
    # a later poll keeps an alias a user chose
    await store.record_poll("a:1", [me("a:1")])
    assert (await store.instance("a:1"))["alias"] == "web"


async def test_tokens_change_only_for_known_beacons_and_removal_takes_everything(store):
    await store.add_beacon("a:1", b"t", "prod", "ann", [me("a:1")])
    assert await store.set_token("a:1", b"new") and not await store.set_token("z:1", b"new")
    await store.remove_beacon("a:1")
    assert await store.beacons() == [] and await store.instance("a:1") is None
    assert await store.resolve("prod") == "prod"
