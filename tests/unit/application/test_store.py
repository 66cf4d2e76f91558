"""The application store on SQLite and PostgreSQL."""

import asyncio

import pytest

from services.application.model import NO_DEPLOYMENT
from services.application.store import MIGRATIONS, ApplicationStore, Busy, NameTaken, instances_of
from tests.databases import BACKENDS, service_database


@pytest.fixture(params=BACKENDS)
async def store(request, tmp_path):
    async with service_database(request.param, tmp_path, "application", MIGRATIONS) as db:
        yield ApplicationStore(db)


async def test_create_stores_the_application_and_its_first_deployment_leased(store):
    app_id, deployment_id, lease = await store.create("web", ["a:1", "b:1"], {"command": "x"}, "ann")
    row = await store.application("web")
    assert row["id"] == app_id and instances_of(row) == ["a:1", "b:1"]
    assert row["current_deployment"] == NO_DEPLOYMENT
    assert await store.application(app_id) == row
    [deployment] = await store.deployments(app_id)
    assert (deployment.id, deployment.command, deployment.creator) == (deployment_id, {"command": "x"}, "ann")
    with pytest.raises(Busy):
        await store.acquire(app_id)
    await store.release(app_id, lease)
    await store.release(app_id, await store.acquire(app_id))


async def test_names_are_unique(store):
    await store.create("web", [], {"command": "x"}, "ann")
    with pytest.raises(NameTaken):
        await store.create("web", [], {"command": "y"}, "bob")
    assert len(await store.applications()) == 1


async def test_concurrent_deployments_get_distinct_increasing_ids(store):
    app_id, first, _ = await store.create("web", [], {"command": "x"}, "ann")
    ids = await asyncio.gather(*(store.add_deployment(app_id, {"command": str(n)}, "ann") for n in range(8)))
    assert len(set(ids)) == 8 and min(ids) > first
    assert [d.id for d in await store.deployments(app_id)] == sorted([first, *ids])


async def test_only_one_action_holds_the_lease(store):
    app_id, _, lease = await store.create("web", [], {"command": "x"}, "ann")
    await store.release(app_id, lease)
    results = await asyncio.gather(*(store.acquire(app_id) for _ in range(5)), return_exceptions=True)
    leases = [r for r in results if isinstance(r, str)]
    assert len(leases) == 1 and all(isinstance(r, Busy) for r in results if not isinstance(r, str))
    assert not await store.set_current(app_id, 1, "someone-else")
    assert await store.set_current(app_id, 1, leases[0])
    assert await store.set_instances(app_id, ["c:1"], leases[0])
    assert instances_of(await store.application(app_id)) == ["c:1"]


async def test_delete_takes_the_deployments_too(store):
    app_id, deployment_id, _ = await store.create("web", [], {"command": "x"}, "ann")
    await store.delete(app_id)
    assert await store.application("web") is None and await store.deployment(deployment_id) is None
