"""The beacon service's gRPC servicer (thin over its domain modules).

Lighthouse v0.2 routes and messages, with what Lighthouse lacked: a level
check on refresh and aliases, tokens encrypted at rest and never returned,
and these rules:

- Addresses are dialled only when the address policy allows them
  (networks.py), before anything is dialled; a failed poll is one message
  whatever happened, with a short deadline, and each caller's failed polls
  are rate limited (polls.py).
- An alias names one thing, a dotted alias is reserved for its instance,
  and an instance address belongs to one beacon (store.py): 409.
- An alias resolves only to something of a beacon the caller may use
  (level ≥ 0); for anyone else it is no alias at all.
- A deleted beacon takes every user's level on it along (with its audit
  event, in the identity service), so no level outlives its beacon.

Levels come from the identity service for the signed caller.
"""

from __future__ import annotations

import logging

import grpc
from google.protobuf import empty_pb2

from services.beacon import agents, levels
from services.beacon.addresses import AddressError, check_address, check_alias, is_address
from services.beacon.networks import AddressPolicy, NotAllowed, listeners_of
from services.beacon.polls import PollLimiter
from services.beacon.store import (
    BEACON,
    INSTANCE,
    AliasReserved,
    AliasTaken,
    BeaconStore,
    DuplicateBeacon,
    InstanceTaken,
)
from services.beacon.tokens import TokenCipher, TokenDecryptError
from services.beacon.users import Directory
from services.common import errors
from services.common.config import Settings
from services.common.errors import DomainError, Failure
from services.common.interceptor import current_caller
from services.common.server import serve
from services.common.signing import Caller
from shoal.v1 import beacon_pb2, beacon_pb2_grpc

log = logging.getLogger("shoal.beacon")

BAD_PARAMS = "beacons: not enough or invalid parameters given"
DUPLICATE = "beacons: tried to add an beacon which already exists"
TOKEN_DENIED = "beacons: user not permitted to access token"
CAUSE = "beacons"
MAX_TOKEN = 4096
BEACON_DELETED = "beacon_deleted"


def _unreachable(message: str) -> errors.DomainError:
    # Lighthouse answers a failed poll with 500 (an internal error).
    return errors.internal(f"beacons: {message}")


def _alias_error(message: str) -> errors.DomainError:
    return errors.invalid(f"aliases: {message}", kind="aliases")


def _conflict(error: Exception, cause: str = CAUSE) -> errors.DomainError:
    return errors.conflict(f"{cause}: {error}", kind=cause)


def _not_allowed(address: str) -> errors.DomainError:
    return errors.invalid(f"{BAD_PARAMS}: address {address} is not in a network beacons may use")


def _no_beacon(name: str) -> errors.DomainError:
    return errors.invalid(f"beacons: no beacon {name}")


def _instance(row) -> beacon_pb2.InstanceInfo:
    can_access = bool(row["can_access"])
    return beacon_pb2.InstanceInfo(
        alias=row["alias"], instance_address=row["instance_address"], name=row["name"],
        can_access=can_access, can_access_docker=can_access, version=row["version"],
        beacon_address=row["beacon_address"],
    )


def _poller_key(caller: Caller) -> str:
    return caller.identity or f"origin:{caller.origin}"


class BeaconServicer(beacon_pb2_grpc.BeaconServicer):
    def __init__(self, settings: Settings, store: BeaconStore, directory: Directory,
                 policy: AddressPolicy | None = None, poller=agents.poll, limiter: PollLimiter | None = None):
        self.settings = settings
        self.store = store
        self.directory = directory
        self.cipher = TokenCipher(settings.secret)
        own = [settings.http_address, settings.https_address, *settings.addresses.values()]
        self.policy = policy or AddressPolicy(settings.beacon_networks, listeners_of(own))
        self.poller = poller
        self.limiter = limiter or PollLimiter()

    async def _levels(self) -> tuple[Caller, levels.Levels]:
        caller = current_caller()
        return caller, await self.directory.levels(caller.identity, caller.access)

    async def _resolve(self, host: str, held: levels.Levels) -> str:
        """The address `host` names for a caller holding `held`: an alias of
        a beacon the caller may use resolves to what it names there; any
        other text is taken as an address."""
        row = await self.store.alias(host)
        if row is None or held.beacon(row["beacon_address"]) < levels.ACCESS:
            return host
        if row["kind"] == INSTANCE:
            instance = await self.store.instance(row["address"])
            if instance is None or instance["beacon_address"] != row["beacon_address"]:
                return host
        return row["address"]

    async def _target(self, address: str) -> str:
        """The gRPC target for `address`, decided before anything is dialled."""
        try:
            return await self.policy.check(address)
        except NotAllowed as refusal:
            log.warning("refused beacon address: %s", refusal)
            raise _not_allowed(address) from None

    async def _poll(self, caller: Caller, address: str, token: str) -> list[agents.Reported]:
        """What the beacon at `address` reports, for `caller`: rate limited,
        checked against the address policy, one message for any failure."""
        key = _poller_key(caller)
        wait = self.limiter.wait(key)
        if wait:
            raise DomainError(f"beacons: too many failed beacon polls; try again in {wait}s",
                              Failure.RATE_LIMITED, kind=CAUSE)
        target = await self._target(address)
        try:
            reported = await self.poller(address, target, token)
        except agents.PollError as error:
            self.limiter.failed(key)
            log.warning("%s: poll of %s failed: %s", caller.identity, address, error.reason)
            raise _unreachable(error.message) from None
        return await self._allowed(address, reported)

    async def _allowed(self, beacon_address: str, reported: list[agents.Reported]) -> list[agents.Reported]:
        """The reported instances whose addresses the policy allows (the others
        are left out, and logged)."""
        kept = []
        for item in reported:
            if item.address != beacon_address:
                try:
                    await self.policy.check(item.address)
                except NotAllowed as refusal:
                    log.warning("beacon %s reported an instance not recorded: %s", beacon_address, refusal)
                    continue
            kept.append(item)
        return kept

    def _token(self, row) -> str:
        try:
            return self.cipher.decrypt(row["token"], row["address"])
        except TokenDecryptError as error:
            raise errors.internal(f"beacons: {error}") from None

    async def _refresh(self, caller: Caller, row) -> None:
        """Poll the beacon of `row` and record what it reports; on failure its
        instances are marked unreachable and the reason raised."""
        try:
            reported = await self._poll(caller, row["address"], self._token(row))
        except errors.DomainError as error:
            if error.failure is Failure.INTERNAL:
                await self.store.mark_unreachable(row["address"])
            raise
        try:
            await self.store.record_poll(row["address"], reported)
        except InstanceTaken as taken:
            raise _conflict(taken) from None

    # -- routes ---------------------------------------------------------------
    async def CreateBeacon(self, request, context):
        caller = current_caller()
        try:
            address = check_address(request.address)
            alias = check_alias(request.alias)
        except AddressError as error:
            raise errors.invalid(f"{BAD_PARAMS}: {error}") from None
        if len(request.token) > MAX_TOKEN:
            raise errors.invalid(f"{BAD_PARAMS}: token longer than {MAX_TOKEN} characters")
        if await self.store.beacon(address) is not None:
            raise errors.invalid(DUPLICATE)
        holder = await self.store.holder(address, address)
        if holder is not None:
            raise _conflict(InstanceTaken(address, holder))
        try:
            await self.store.check_alias(address, BEACON, alias, address)
        except (AliasTaken, AliasReserved) as error:
            raise _conflict(error) from None
        reported = await self._poll(caller, address, request.token)
        try:
            await self.store.add_beacon(
                address, self.cipher.encrypt(request.token, address), alias, caller.identity, reported
            )
        except DuplicateBeacon:
            raise errors.invalid(DUPLICATE) from None
        except (AliasTaken, AliasReserved, InstanceTaken) as error:
            raise _conflict(error) from None
        try:
            await self.directory.set_level(caller.identity, levels.BEACONS, address, levels.OWNER)
        except errors.DomainError:
            await self.store.remove_beacon(address)
            raise
        log.info("%s created beacon %s (%s) with %d instance(s)", caller.identity, address, alias, len(reported))
        return empty_pb2.Empty()

    async def SetBeaconToken(self, request, context):
        caller, held = await self._levels()
        address = await self._resolve(request.beacon, held)
        if held.beacon(address) < levels.MODIFY:
            raise errors.denied(TOKEN_DENIED)
        if len(request.token) > MAX_TOKEN:
            raise errors.invalid(f"{BAD_PARAMS}: token longer than {MAX_TOKEN} characters")
        if not await self.store.set_token(address, self.cipher.encrypt(request.token, address)):
            raise _no_beacon(request.beacon)
        log.info("%s changed the token of beacon %s", caller.identity, address)
        return empty_pb2.Empty()

    async def ListBeacons(self, request, context):
        _, held = await self._levels()
        rows = await self.store.beacons()
        return beacon_pb2.ListBeaconsResponse(beacons=[
            beacon_pb2.BeaconInfo(alias=r["alias"], address=r["address"])
            for r in rows if held.beacon(r["address"]) >= levels.ACCESS
        ])

    async def ListBeaconInstances(self, request, context):
        caller, held = await self._levels()
        address = await self._resolve(request.beacon, held)
        if held.beacon(address) < levels.ACCESS:
            return beacon_pb2.ListBeaconInstancesResponse()  # as Lighthouse: [] rather than 403
        row = await self.store.beacon(address)
        if row is None:
            return beacon_pb2.ListBeaconInstancesResponse()
        if request.refresh:
            try:
                await self._refresh(caller, row)
            except errors.DomainError as error:
                log.warning("refresh of %s: %s", address, error.message)  # listed as CanAccess false
        rows = await self.store.instances(address)
        return beacon_pb2.ListBeaconInstancesResponse(instances=[_instance(r) for r in rows])

    async def RefreshBeacon(self, request, context):
        caller, held = await self._levels()
        address = await self._resolve(request.beacon, held)
        if held.beacon(address) < levels.MODIFY:
            raise errors.denied("beacons: user not permitted to refresh beacon")
        row = await self.store.beacon(address)
        if row is None:
            raise _no_beacon(request.beacon)
        await self._refresh(caller, row)
        return empty_pb2.Empty()

    async def SetAlias(self, request, context):
        caller, held = await self._levels()
        if is_address(request.name) and not is_address(request.value):
            address, alias = request.name, request.value  # PUT /aliases/{Address} "alias"
        else:
            alias, address = request.name, request.value  # PUT /aliases/{Alias} "address" (documented)
        try:
            alias = check_alias(alias)
        except AddressError as error:
            raise _alias_error(str(error)) from None
        owner = await self.store.beacon_of(address)
        if owner is None:
            raise _alias_error(f"no beacon or instance has the address {address}")
        kind, beacon_address = owner
        if held.beacon(beacon_address) < levels.MODIFY:
            raise errors.denied("aliases: user not permitted to change this alias", kind="aliases")
        try:
            await self.store.set_alias(address, kind, alias, beacon_address)
        except (AliasTaken, AliasReserved) as error:
            raise _conflict(error, "aliases") from None
        log.info("%s set alias %s for %s %s", caller.identity, alias, kind, address)
        return empty_pb2.Empty()

    async def DeleteBeacon(self, request, context):
        caller, held = await self._levels()
        address = await self._resolve(request.beacon, held)
        level = held.beacon(address)
        if level < levels.ACCESS:
            raise _no_beacon(request.beacon)  # a beacon the caller may not use is none of its business
        if level < levels.OWNER:
            raise errors.denied("beacons: only an owner of the beacon or the operator may delete it")
        row = await self.store.beacon(address)
        if row is None:
            raise _no_beacon(request.beacon)
        count = len(await self.store.instances(address))
        path = f"/api/v0.2/beacons/{request.beacon}"
        details = f"beacon {address} ({row['alias']}) with {count} instance(s)"
        # Every user's level on it goes first, with the event: no event, no delete,
        # and a later beacon at this address starts with its creator alone.
        await self.directory.forget(levels.BEACONS, address, BEACON_DELETED, caller, path, details)
        try:
            await self.store.remove_beacon(address)
        except Exception as error:
            await self.directory.record(BEACON_DELETED, caller, path, f"{details}: failed: {error}", success=False)
            raise
        log.info("%s deleted %s", caller.identity, details)
        return empty_pb2.Empty()

    async def GrantBeaconUser(self, request, context):
        caller, held = await self._levels()
        address = await self._resolve(request.beacon, held)
        level = held.beacon(address)
        if level < levels.ACCESS or await self.store.beacon(address) is None:
            raise _no_beacon(request.beacon)
        if level < levels.MODIFY:
            raise errors.denied("beacons: user not permitted to grant access to this beacon")
        user = await self.directory.user(caller, request.email)
        if user.permissions.beacons.get(address, levels.NO_ACCESS) >= levels.ACCESS:
            return empty_pb2.Empty()  # a level held already is kept (never lowered here)
        await self.directory.grant(caller, request.email, address, levels.ACCESS)
        log.info("%s gave %s access to beacon %s", caller.identity, request.email, address)
        return empty_pb2.Empty()

    async def ResolveInstance(self, request, context):
        try:
            min_level = levels.check_min_level(request.min_level)
        except ValueError as error:
            raise errors.invalid(str(error)) from None
        if not request.on_behalf_of:
            raise errors.invalid("on_behalf_of must name the user")
        held = await self.directory.levels(request.on_behalf_of, request.on_behalf_of_access)
        address = await self._resolve(request.host, held)
        instance = await self.store.instance(address)
        if instance is None:
            raise errors.not_found(f"beacons: unknown instance {request.host}", kind=CAUSE)
        if held.beacon(instance["beacon_address"]) < min_level:
            raise errors.denied(f"beacons: user not permitted to access instance {request.host}")
        try:
            target = await self.policy.check(instance["instance_address"])
        except NotAllowed as refusal:
            log.warning("refused to dial instance: %s", refusal)
            raise errors.denied(f"beacons: instance {request.host} is not in a network beacons may use") from None
        beacon = await self.store.beacon(instance["beacon_address"])
        return beacon_pb2.ResolvedInstance(
            instance_address=instance["instance_address"],
            beacon_address=beacon["address"],
            token=self._token(beacon),
            dial_target=target,
        )


async def run(settings: Settings, args) -> None:
    store = await BeaconStore.open(settings)
    directory = Directory(settings, "beacon")

    async def register(server: grpc.aio.Server):
        beacon_pb2_grpc.add_BeaconServicer_to_server(BeaconServicer(settings, store, directory), server)

        async def cleanup() -> None:
            await directory.close()
            await store.close()

        return cleanup

    await serve("beacon", settings, register, address=getattr(args, "listen", "") or None)
