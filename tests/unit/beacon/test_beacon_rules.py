"""The beacon service's rules without gRPC: the servicer over a real store
(SQLite), with the identity service and the poll faked. The fake poll
records every dial it is asked for, so a refusal is shown to dial nothing."""

from __future__ import annotations

import pytest

from services.beacon import levels
from services.beacon.agents import PollError, Reported
from services.beacon.networks import AddressPolicy, listeners_of
from services.beacon.polls import PollLimiter
from services.beacon.server import BeaconServicer
from services.beacon.store import MIGRATIONS, BeaconStore
from services.common import interceptor
from services.common.config import Settings
from services.common.errors import DomainError, Failure
from services.common.signing import Caller
from shoal.v1 import beacon_pb2, identity_pb2
from tests.databases import service_database

OPERATOR = Caller("uid:0", "admin", origin="local")
EVE = Caller("eve@corp", "read", origin="10.0.0.66")
ANN = Caller("ann@corp", "read", origin="10.0.0.1")


class FakeDirectory:
    """Lighthouse users' beacon levels, and the audit log."""

    def __init__(self):
        self.users: dict[str, dict[str, int]] = {"eve@corp": {}, "ann@corp": {}, "bob@corp": {}}
        self.events: list[tuple] = []
        self.audit_down = False

    async def levels(self, user, access):
        if user in self.users:
            return levels.levels_for(True, access, self.users[user])
        return levels.levels_for(False, access)

    async def set_level(self, user, kind, resource, level):
        if user in self.users:
            self.users[user][resource] = level

    async def record(self, event, caller, path, details, success=True):
        if self.audit_down:
            raise DomainError("identity service unavailable: down", Failure.UNAVAILABLE)
        self.events.append((event, caller.identity, caller.origin, path, details, success))

    async def forget(self, kind, resource, event, caller, path, details):
        await self.record(event, caller, path, details)
        holders = [levels for levels in self.users.values() if resource in levels]
        for held in holders:
            del held[resource]
        return len(holders)

    async def user(self, caller, email):
        if email not in self.users:
            raise DomainError("User does not exist or current permission too low", Failure.NOT_FOUND, kind="users")
        return identity_pb2.User(email=email, permissions=identity_pb2.UserPermissions(beacons=self.users[email]))

    async def grant(self, caller, email, beacon, level):
        self.users[email][beacon] = level


class FakePoller:
    def __init__(self):
        self.dialled: list[tuple[str, str]] = []
        self.reports: dict[str, list[Reported]] = {}

    async def __call__(self, address, target, token):
        self.dialled.append((address, target))
        if address not in self.reports:
            raise PollError(address, f"cannot reach beacon {address}: connection refused (a detail never shown)")
        return self.reports[address]


def vm(address, name="vm"):
    return Reported(name, address, "v1", True)


@pytest.fixture
async def world(tmp_path):
    async with service_database("sqlite", tmp_path, "beacon", MIGRATIONS) as db:
        settings = Settings(home=tmp_path, secret=b"s" * 32, https_address="127.0.0.1:4443",
                            addresses={"plan": "unix:/x"})
        directory, poller = FakeDirectory(), FakePoller()

        async def no_names(host, port):
            raise OSError("no resolver in unit tests")

        policy = AddressPolicy(settings.beacon_networks, listeners_of([settings.https_address]), no_names)
        servicer = BeaconServicer(settings, BeaconStore(db), directory, policy=policy, poller=poller,
                                  limiter=PollLimiter(failures=3, refill=3600))
        yield servicer, directory, poller


async def call(servicer, rpc: str, caller: Caller, **fields):
    request_type = {
        "CreateBeacon": beacon_pb2.CreateBeaconRequest, "SetAlias": beacon_pb2.SetAliasRequest,
        "DeleteBeacon": beacon_pb2.DeleteBeaconRequest, "ResolveInstance": beacon_pb2.ResolveInstanceRequest,
        "RefreshBeacon": beacon_pb2.RefreshBeaconRequest, "GrantBeaconUser": beacon_pb2.GrantBeaconUserRequest,
        "ListBeaconInstances": beacon_pb2.ListBeaconInstancesRequest,
    }[rpc]
    token = interceptor._CALLER.set(caller)
    try:
        return await getattr(servicer, rpc)(request_type(**fields), None)
    finally:
        interceptor._CALLER.reset(token)


async def refused(servicer, rpc, caller, **fields) -> DomainError:
    with pytest.raises(DomainError) as caught:
        await call(servicer, rpc, caller, **fields)
    return caught.value


async def create(servicer, caller, address, alias, token="t"):
    return await call(servicer, "CreateBeacon", caller, address=address, alias=alias, token=token)


async def resolve(servicer, caller, host, level=0):
    return await call(servicer, "ResolveInstance", OPERATOR, host=host, min_level=level,
                      on_behalf_of=caller.identity, on_behalf_of_access=caller.access)


# -- addresses: refused before any dial -----------------------------------------------


@pytest.mark.parametrize("address", [
    "169.254.169.254:80", "[fe80::1]:7000", "[::ffff:169.254.169.254]:80", "0.0.0.0:7000",
    "unix:1234", "unix-abstract:7000", "8.8.8.8:53", "127.0.0.1:4443", "metadata.google.internal:80",
])
async def test_an_address_outside_the_beacon_networks_is_refused_without_a_dial(world, address):
    servicer, _, poller = world
    error = await refused(servicer, "CreateBeacon", EVE, address=address, alias="x", token="t")
    assert (error.failure, error.message) == (
        Failure.INVALID, (f"beacons: not enough or invalid parameters given: address {address} "
                         "is not in a network beacons may use"))
    assert poller.dialled == []
    assert await servicer.store.beacons() == []


async def test_a_failed_poll_says_one_thing_and_a_callers_failures_are_limited(world):
    servicer, _, poller = world
    for port in (7001, 7002, 7003):
        error = await refused(servicer, "CreateBeacon", EVE, address=f"127.0.0.1:{port}", alias=f"p{port}")
        assert (error.failure, error.message) == (
            Failure.INTERNAL, f"beacons: beacon 127.0.0.1:{port} did not answer as a beacon with this token")
    error = await refused(servicer, "CreateBeacon", EVE, address="127.0.0.1:7004", alias="p7004")
    assert error.failure is Failure.RATE_LIMITED and "too many failed beacon polls" in error.message
    assert [a for a, _ in poller.dialled] == ["127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003"]
    assert poller.dialled[0][1] == "ipv4:127.0.0.1:7001"  # the checked address, never the text
    # another caller is not limited by eve's failures
    poller.reports["127.0.0.1:7004"] = [vm("127.0.0.1:7004")]
    await create(servicer, ANN, "127.0.0.1:7004", "ann")


async def test_instances_reported_outside_the_beacon_networks_are_not_recorded(world):
    servicer, _, poller = world
    poller.reports["127.0.0.1:7000"] = [vm("127.0.0.1:7000"), vm("169.254.169.254:80", "metadata"),
                                        vm("unix-abstract:80", "sock"), vm("10.0.0.5:7000", "ok")]
    await create(servicer, OPERATOR, "127.0.0.1:7000", "node")
    assert [i["instance_address"] for i in await servicer.store.instances("127.0.0.1:7000")] == [
        "10.0.0.5:7000", "127.0.0.1:7000"]


# -- aliases ----------------------------------------------------------------------------


async def test_an_alias_a_later_beacons_instance_would_get_cannot_be_squatted(world):
    servicer, directory, poller = world
    poller.reports["127.0.0.1:6666"] = [vm("127.0.0.1:6666", "evil")]
    await create(servicer, EVE, "127.0.0.1:6666", "eve")
    assert directory.users["eve@corp"] == {"127.0.0.1:6666": levels.OWNER}
    for name in ("prod.vm", "eve.vm"):  # the documented form, and the code's form
        for fields in ({"name": name, "value": "127.0.0.1:6666"}, {"name": "127.0.0.1:6666", "value": name}):
            error = await refused(servicer, "SetAlias", EVE, **fields)
            assert (error.failure, error.kind) == (Failure.CONFLICT, "aliases")
            assert error.message.startswith(f'aliases: alias "{name}" is reserved')
    # The operator's beacon gets its instance's own name, and /d/prod.vm reaches it.
    poller.reports["127.0.0.1:7000"] = [vm("127.0.0.1:7000")]
    await create(servicer, OPERATOR, "127.0.0.1:7000", "prod")
    assert (await resolve(servicer, OPERATOR, "prod.vm")).instance_address == "127.0.0.1:7000"
    error = await refused(servicer, "SetAlias", EVE, name="prod", value="127.0.0.1:6666")
    assert (error.failure, error.message) == (
        Failure.CONFLICT, 'aliases: alias "prod" is already in use: it names another address')
    # Taking an alias in use is a conflict (409), not bad input.
    error = await refused(servicer, "CreateBeacon", EVE, address="127.0.0.1:6667", alias="prod")
    assert error.failure is Failure.CONFLICT


async def test_an_alias_resolves_only_within_the_beacons_the_caller_may_use(world):
    servicer, directory, poller = world
    poller.reports["127.0.0.1:7000"] = [vm("127.0.0.1:7000")]
    await create(servicer, OPERATOR, "127.0.0.1:7000", "prod")
    for host in ("prod.vm", "prod"):
        error = await refused(servicer, "ResolveInstance", OPERATOR, host=host, min_level=0,
                              on_behalf_of=EVE.identity, on_behalf_of_access=EVE.access)
        assert (error.failure, error.message) == (Failure.NOT_FOUND, f"beacons: unknown instance {host}")
    assert (await call(servicer, "ListBeaconInstances", EVE, beacon="prod")).instances == []
    directory.users["eve@corp"]["127.0.0.1:7000"] = levels.ACCESS
    found = await resolve(servicer, EVE, "prod.vm")
    assert (found.instance_address, found.dial_target) == ("127.0.0.1:7000", "ipv4:127.0.0.1:7000")
    [listed] = (await call(servicer, "ListBeaconInstances", EVE, beacon="prod")).instances
    assert listed.can_access and listed.can_access_docker


# -- instance addresses, and deleting a beacon -----------------------------------------


async def test_an_instance_address_of_another_beacon_is_a_conflict_and_the_squatter_can_be_deleted(world):
    servicer, directory, poller = world
    real = "127.0.0.1:7000"
    poller.reports["127.0.0.1:6666"] = [vm("127.0.0.1:6666"), vm(real, "stolen")]
    await create(servicer, EVE, "127.0.0.1:6666", "eve")
    poller.reports[real] = [vm(real)]
    error = await refused(servicer, "CreateBeacon", OPERATOR, address=real, alias="real")
    assert (error.failure, error.message) == (
        Failure.CONFLICT, f"beacons: instance address {real} already belongs to beacon 127.0.0.1:6666")
    dialled = len(poller.dialled)
    # ann holds nothing on eve's beacon: for her it does not exist; with access, she still may not delete it.
    error = await refused(servicer, "DeleteBeacon", ANN, beacon="127.0.0.1:6666")
    assert (error.failure, error.message) == (Failure.INVALID, "beacons: no beacon 127.0.0.1:6666")
    directory.users["ann@corp"]["127.0.0.1:6666"] = levels.MODIFY
    assert (await refused(servicer, "DeleteBeacon", ANN, beacon="eve")).failure is Failure.FORBIDDEN
    # The operator deletes it (by alias), and the event is in the audit log.
    await call(servicer, "DeleteBeacon", OPERATOR, beacon="eve")
    assert directory.events == [("beacon_deleted", "uid:0", "local", "/api/v0.2/beacons/eve",
                                 "beacon 127.0.0.1:6666 (eve) with 2 instance(s)", True)]
    assert len(poller.dialled) == dialled  # deleting dials nothing
    assert all("127.0.0.1:6666" not in held for held in directory.users.values())  # its levels went with it
    await create(servicer, OPERATOR, real, "real")
    assert [i["instance_address"] for i in await servicer.store.instances(real)] == [real]


async def test_a_refresh_that_reports_another_beacons_address_records_nothing(world):
    servicer, _, poller = world
    poller.reports["127.0.0.1:7000"] = [vm("127.0.0.1:7000")]
    poller.reports["127.0.0.1:6666"] = [vm("127.0.0.1:6666")]
    await create(servicer, OPERATOR, "127.0.0.1:7000", "real")
    await create(servicer, EVE, "127.0.0.1:6666", "eve")
    poller.reports["127.0.0.1:6666"] = [vm("127.0.0.1:6666"), vm("127.0.0.1:7000", "stolen")]
    error = await refused(servicer, "RefreshBeacon", EVE, beacon="eve")
    assert error.failure is Failure.CONFLICT and "127.0.0.1:7000 already belongs to beacon 127.0.0.1:7000" in error.message
    assert (await servicer.store.instance("127.0.0.1:7000"))["beacon_address"] == "127.0.0.1:7000"


async def test_an_owner_deletes_its_beacon_and_nothing_is_deleted_without_its_audit_event(world):
    servicer, directory, poller = world
    poller.reports["127.0.0.1:7000"] = [vm("127.0.0.1:7000")]
    await create(servicer, ANN, "127.0.0.1:7000", "mine")
    directory.audit_down = True
    error = await refused(servicer, "DeleteBeacon", ANN, beacon="mine")
    assert error.failure is Failure.UNAVAILABLE
    assert await servicer.store.beacon("127.0.0.1:7000") is not None
    directory.audit_down = False
    await call(servicer, "DeleteBeacon", ANN, beacon="mine")
    assert await servicer.store.beacons() == [] and await servicer.store.alias("mine.vm") is None
    assert [e[:2] for e in directory.events] == [("beacon_deleted", "ann@corp")]


# -- PUT /beacons/user/{Beacon}/{Email} -------------------------------------------------


async def test_granting_a_user_a_beacon(world):
    servicer, directory, poller = world
    poller.reports["127.0.0.1:7000"] = [vm("127.0.0.1:7000")]
    await create(servicer, ANN, "127.0.0.1:7000", "mine")
    error = await refused(servicer, "GrantBeaconUser", ANN, beacon="nothing", email="bob@corp")
    assert (error.failure, error.message) == (Failure.INVALID, "beacons: no beacon nothing")
    assert (await refused(servicer, "GrantBeaconUser", EVE, beacon="mine", email="bob@corp")).failure is Failure.INVALID
    error = await refused(servicer, "GrantBeaconUser", ANN, beacon="mine", email="nobody@corp")
    assert (error.failure, error.kind) == (Failure.NOT_FOUND, "users")
    await call(servicer, "GrantBeaconUser", ANN, beacon="mine", email="bob@corp")
    assert directory.users["bob@corp"] == {"127.0.0.1:7000": levels.ACCESS}
    directory.users["bob@corp"]["127.0.0.1:7000"] = levels.MODIFY
    await call(servicer, "GrantBeaconUser", ANN, beacon="127.0.0.1:7000", email="bob@corp")
    assert directory.users["bob@corp"] == {"127.0.0.1:7000": levels.MODIFY}  # never lowered
    directory.users["eve@corp"]["127.0.0.1:7000"] = levels.ACCESS  # may see it, may not grant it
    assert (await refused(servicer, "GrantBeaconUser", EVE, beacon="mine", email="bob@corp")).failure is Failure.FORBIDDEN
