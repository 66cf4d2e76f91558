"""Lighthouse users: /api/v0.2/users/* (rules in userlevels.py). Passwords
are stored as sha512-crypt hashes, made off the event loop."""

from __future__ import annotations

from google.protobuf import empty_pb2, json_format

from services.common import errors
from services.common.errors import Failure
from services.common.interceptor import current_caller
from services.identity import audit
from services.identity.core import IdentityCore
from services.identity.userlevels import (
    APPLICATIONS,
    BEACONS,
    CAUSE,
    NOT_VISIBLE,
    UserLevelError,
    apply_user_update,
    can_create_user,
    check_view,
    validate_user_update,
    visible_users,
)
from shoal.v1 import identity_pb2

MAX_EMAIL = 254


def _user_message(user) -> identity_pb2.User:
    return json_format.ParseDict(user.to_api(), identity_pb2.User(), ignore_unknown_fields=True)


class UsersRPC(IdentityCore):
    async def ListUsers(self, request, context):
        me = await self.lighthouse_caller(current_caller())
        return identity_pb2.ListUsersResponse(emails=visible_users(me, await self.store.users()))

    async def GetUser(self, request, context):
        me = await self.lighthouse_caller(current_caller())
        return _user_message(check_view(me, await self.store.lighthouse_user(request.email)))

    async def UpdateUser(self, request, context):
        caller = current_caller()
        body: dict = {BEACONS: dict(request.beacons), APPLICATIONS: dict(request.applications)}
        if request.HasField("auth_level"):
            body["AuthLevel"] = request.auth_level
        if request.HasField("password"):
            body["Password"] = request.password
        me = await self.lighthouse_caller(caller, body)
        update = validate_user_update(me, await self.store.lighthouse_user(request.email), body)
        password_hash = await self.hasher.hash(update.password) if update.password else None
        updated = await self.store.update_user(request.email, lambda u: apply_user_update(u, update), password_hash)
        if updated is None:
            raise UserLevelError(Failure.NOT_FOUND, CAUSE, NOT_VISIBLE)
        if password_hash and self.hasher.cache is not None:
            self.hasher.cache.invalidate(request.email)
        details = f"AuthLevel={updated.auth_level}" + (", password changed" if password_hash else "")
        await self.record(audit.USER_UPDATED, user=caller.identity, ip=caller.origin,
                          path=f"/api/v0.2/users/{request.email}", details=f"{request.email}: {details}")
        return empty_pb2.Empty()

    async def CreateUser(self, request, context):
        caller = current_caller()
        me = await self.lighthouse_caller(caller)
        if not can_create_user(me):
            raise UserLevelError(Failure.FORBIDDEN, CAUSE, "current permission too low to create users")
        email = request.email.strip()
        if not email or not request.password or len(email) > MAX_EMAIL or "@" not in email:
            raise errors.invalid("Email (an address with @) and Password are required", kind=CAUSE)
        if not await self.store.create_user(email, await self.hasher.hash(request.password)):
            raise errors.invalid(f'user "{email}" already exists', kind=CAUSE)
        await self.record(audit.USER_CREATED, user=caller.identity, ip=caller.origin,
                          path="/api/v0.2/users/create", details=email)
        return empty_pb2.Empty()
