"""The beacon service's gRPC servicer (thin over its domain modules).

Lighthouse v0.2 routes and messages, with what Lighthouse lacked: a level
check on refresh and aliases, and tokens encrypted at rest and never
returned. Levels come from the identity service for the signed caller.
"""

from __future__ import annotations

import logging

import grpc
from google.protobuf import empty_pb2

from services.beacon import agents, levels
from services.beacon.addresses import AddressError, check_address, check_alias
from services.beacon.store import AliasTaken, BeaconStore, DuplicateBeacon
from services.beacon.tokens import TokenCipher, TokenDecryptError
from services.beacon.users import Directory
from services.common import errors
from services.common.config import Settings
from services.common.interceptor import caller_of
from services.common.server import serve
from shoal.v1 import beacon_pb2, beacon_pb2_grpc

log = logging.getLogger("shoal.beacon")

BAD_PARAMS = "beacons: not enough or invalid parameters given"
DUPLICATE = "beacons: tried to add an beacon which already exists"
TOKEN_DENIED = "beacons: user not permitted to access token"
MAX_TOKEN = 4096


def _unreachable(message: str) -> errors.ServiceError:
    # Lighthouse answers a failed poll with 500 and the beacon's reason: the
    # service failed at what it was asked (INTERNAL), it is not down itself.
    return errors.internal(f"beacons: {message}")


def _alias_error(message: str) -> errors.ServiceError:
    return errors.invalid(f"aliases: {message}", kind="aliases")


def _instance(row) -> beacon_pb2.InstanceInfo:
    return beacon_pb2.InstanceInfo(
        alias=row["alias"], instance_address=row["instance_address"], name=row["name"],
        can_access=bool(row["can_access"]), version=row["version"], beacon_address=row["beacon_address"],
    )


class BeaconServicer(beacon_pb2_grpc.BeaconServicer):
    def __init__(self, settings: Settings, store: BeaconStore, directory: Directory):
        self.settings = settings
        self.store = store
        self.directory = directory
        self.cipher = TokenCipher(settings.secret)

    async def _levels(self, context) -> tuple[str, levels.Levels]:
        caller = caller_of(context, self.settings.secret)
        return caller.identity, await self.directory.levels(caller.identity, caller.access)

    async def _poll(self, address: str, token: str) -> list[agents.Reported]:
        try:
            return await agents.poll(address, token)
        except agents.PollError as error:
            raise _unreachable(str(error)) from None

    def _token(self, row) -> str:
        try:
            return self.cipher.decrypt(row["token"], row["address"])
        except TokenDecryptError as error:
            raise errors.internal(f"beacons: {error}") from None

    async def _refresh(self, row) -> None:
        """Poll the beacon of `row` and record what it reports; on failure its
        instances are marked unreachable and the reason raised."""
        try:
            reported = await agents.poll(row["address"], self._token(row))
        except agents.PollError as error:
            await self.store.mark_unreachable(row["address"])
            raise _unreachable(str(error)) from None
        await self.store.record_poll(row["address"], reported)

    # -- routes ---------------------------------------------------------------
    async def CreateBeacon(self, request, context):
        user = caller_of(context, self.settings.secret).identity
        try:
            address = check_address(request.address)
            alias = check_alias(request.alias)
        except AddressError as error:
            raise errors.invalid(f"{BAD_PARAMS}: {error}") from None
        if len(request.token) > MAX_TOKEN:
            raise errors.invalid(f"{BAD_PARAMS}: token longer than {MAX_TOKEN} characters")
        if await self.store.beacon(address) is not None:
            raise errors.invalid(DUPLICATE)
        reported = await self._poll(address, request.token)
        try:
            await self.store.add_beacon(
                address, self.cipher.encrypt(request.token, address), alias, user, reported
            )
        except DuplicateBeacon:
            raise errors.invalid(DUPLICATE) from None
        except AliasTaken as error:
            raise errors.invalid(f"beacons: {error}") from None
        try:
            await self.directory.set_level(user, levels.BEACONS, address, levels.OWNER)
        except errors.ServiceError:
            await self.store.remove_beacon(address)
            raise
        log.info("%s created beacon %s (%s) with %d instance(s)", user, address, alias, len(reported))
        return empty_pb2.Empty()

    async def SetBeaconToken(self, request, context):
        user, held = await self._levels(context)
        address = await self.store.resolve(request.beacon)
        if held.beacon(address) < levels.MODIFY:
            raise errors.denied(TOKEN_DENIED)
        if len(request.token) > MAX_TOKEN:
            raise errors.invalid(f"{BAD_PARAMS}: token longer than {MAX_TOKEN} characters")
        if not await self.store.set_token(address, self.cipher.encrypt(request.token, address)):
            raise errors.invalid(f"beacons: no beacon {request.beacon}")
        log.info("%s changed the token of beacon %s", user, address)
        return empty_pb2.Empty()

    async def ListBeacons(self, request, context):
        _, held = await self._levels(context)
        rows = await self.store.beacons()
        return beacon_pb2.ListBeaconsResponse(beacons=[
            beacon_pb2.BeaconInfo(alias=r["alias"], address=r["address"])
            for r in rows if held.beacon(r["address"]) >= levels.ACCESS
        ])

    async def ListBeaconInstances(self, request, context):
        _, held = await self._levels(context)
        address = await self.store.resolve(request.beacon)
        if held.beacon(address) < levels.ACCESS:
            return beacon_pb2.ListBeaconInstancesResponse()  # as Lighthouse: [] rather than 403
        row = await self.store.beacon(address)
        if row is None:
            return beacon_pb2.ListBeaconInstancesResponse()
        if request.refresh:
            try:
                await self._refresh(row)
            except errors.ServiceError as error:
                log.warning("refresh of %s: %s", address, error.message)  # listed as CanAccess false
        rows = await self.store.instances(address)
        return beacon_pb2.ListBeaconInstancesResponse(instances=[_instance(r) for r in rows])

    async def RefreshBeacon(self, request, context):
        _, held = await self._levels(context)
        address = await self.store.resolve(request.beacon)
        if held.beacon(address) < levels.MODIFY:
            raise errors.denied("beacons: user not permitted to refresh beacon")
        row = await self.store.beacon(address)
        if row is None:
            raise errors.invalid(f"beacons: no beacon {request.beacon}")
        await self._refresh(row)
        return empty_pb2.Empty()

    async def SetAlias(self, request, context):
        user, held = await self._levels(context)
        try:
            alias = check_alias(request.alias)
        except AddressError as error:
            raise _alias_error(str(error)) from None
        owner = await self.store.beacon_of(request.address)
        if owner is None:
            raise _alias_error(f"no beacon or instance has the address {request.address}")
        kind, beacon_address = owner
        if held.beacon(beacon_address) < levels.MODIFY:
            raise errors.denied("aliases: user not permitted to change this alias", kind="aliases")
        try:
            await self.store.set_alias(request.address, kind, alias)
        except AliasTaken as error:
            raise _alias_error(str(error)) from None
        log.info("%s set alias %s for %s %s", user, alias, kind, request.address)
        return empty_pb2.Empty()

    async def ResolveInstance(self, request, context):
        try:
            min_level = levels.check_min_level(request.min_level)
        except ValueError as error:
            raise errors.invalid(str(error)) from None
        if not request.on_behalf_of:
            raise errors.invalid("on_behalf_of must name the user")
        address = await self.store.resolve(request.host)
        instance = await self.store.instance(address)
        if instance is None:
            raise errors.not_found(f"beacons: unknown instance {request.host}", kind="beacons")
        held = await self.directory.levels(request.on_behalf_of, request.on_behalf_of_access)
        if held.beacon(instance["beacon_address"]) < min_level:
            raise errors.denied(f"beacons: user not permitted to access instance {request.host}")
        beacon = await self.store.beacon(instance["beacon_address"])
        return beacon_pb2.ResolvedInstance(
            instance_address=instance["instance_address"],
            beacon_address=beacon["address"],
            token=self._token(beacon),
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
