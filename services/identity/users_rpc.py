"""Lighthouse users: /api/v0.2/users/* (rules in userlevels.py). Passwords
are stored as sha512-crypt hashes, made off the event loop; a user and its
audit event are written in one transaction.

User names are what Lighthouse's documented examples use: an email address
or a plain name ("intern", "manager"), compared ignoring case, at most 254
characters, without whitespace, control characters (NUL included), ":" (it
marks Shoal's own callers: `token:…`, `uid:…`) or "/" (it would split the
user's URL); never a Pebble identity's name.
"""

from __future__ import annotations

import unicodedata

from google.protobuf import empty_pb2, json_format

from services.common import errors
from services.common.errors import Failure
from services.common.interceptor import current_caller
from services.identity import audit
from services.identity.core import IdentityCore
from services.identity.store import NameTaken
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

MAX_NAME = 254
MAX_PASSWORD = 1024


def _user_message(user) -> identity_pb2.User:
    return json_format.ParseDict(user.to_api(), identity_pb2.User(), ignore_unknown_fields=True)


def validate_user_name(name: str) -> str:
    """A new user's name (see the module docstring), or a 400 saying why."""
    if not name:
        raise errors.invalid("Email (a user name) and Password are required", kind=CAUSE)
    if len(name) > MAX_NAME:
        raise errors.invalid(f"a user name is at most {MAX_NAME} characters, not {len(name)}", kind=CAUSE)
    if any(c in ":/" or c.isspace() or unicodedata.category(c).startswith("C") for c in name):
        raise errors.invalid('a user name may not hold whitespace, control characters, ":" or "/"', kind=CAUSE)
    return name


def validate_password(password: str) -> str:
    if "\x00" in password:
        raise errors.invalid("a password may not hold a NUL character", kind=CAUSE)
    if len(password) > MAX_PASSWORD:
        raise errors.invalid(f"a password is at most {MAX_PASSWORD} characters", kind=CAUSE)
    return password


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
            body["Password"] = validate_password(request.password)
        me = await self.lighthouse_caller(caller, body)
        update = validate_user_update(me, await self.store.lighthouse_user(request.email), body)
        password_hash = await self.hasher.hash(update.password) if update.password else None

        def event(user):
            details = f"AuthLevel={user.auth_level}" + (", password changed" if password_hash else "")
            return self.event(audit.USER_UPDATED, caller, path=f"/api/v0.2/users/{request.email}",
                              details=f"{user.email}: {details}")

        updated = await self.store.update_user(request.email, lambda u: apply_user_update(u, update), password_hash,
                                               event)
        if updated is None:
            raise UserLevelError(Failure.NOT_FOUND, CAUSE, NOT_VISIBLE)
        if password_hash and self.hasher.cache is not None:
            self.hasher.cache.invalidate(updated.email)
        return empty_pb2.Empty()

    async def CreateUser(self, request, context):
        caller = current_caller()
        me = await self.lighthouse_caller(caller)
        if not can_create_user(me):
            raise UserLevelError(Failure.FORBIDDEN, CAUSE, "current permission too low to create users")
        email = validate_user_name(request.email.strip())
        if not request.password:
            raise errors.invalid("Email (a user name) and Password are required", kind=CAUSE)
        password_hash = await self.hasher.hash(validate_password(request.password))
        event = self.event(audit.USER_CREATED, caller, path="/api/v0.2/users/create", details=email)
        try:
            created = await self.store.create_user(email, password_hash, event=event)
        except NameTaken as taken:
            raise errors.invalid(taken.message, kind=CAUSE) from None
        if not created:
            raise errors.invalid(f'user "{email}" already exists', kind=CAUSE)
        return empty_pb2.Empty()
