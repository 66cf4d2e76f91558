"""Lighthouse user levels and per-resource levels.

- A user's `AuthLevel` is an open-ended integer. A user may view or modify
  another only if it is that user or its level is strictly greater.
  Creating users needs a level of at least 1. A new level may equal the
  caller's own but not exceed it; negative levels are refused.
- Resource levels (per beacon address, per application name): ACCESS 0,
  MODIFY 1, OWNER 2; a missing entry reads as -1; writing a level below 0
  deletes the entry.
- Granting beacon (and, beyond Lighthouse, application) levels through
  `PUT /users/{Email}` needs the caller to hold at least MODIFY on that
  resource and the level to be at most the caller's own there; one bad
  entry fails the whole update. `-1` on a resource the target holds no
  level on is a no-op (not a grant, so not refused).
- An OWNER's level on a resource is changed or removed only by another
  owner of it (or the operator, who owns every resource): Lighthouse let a
  MODIFY user with a higher AuthLevel demote or remove an owner.

Refusals raise `UserLevelError(failure, cause, message)`; the cause is
Lighthouse's `Cause` (the error's kind), so the gateway answers Lighthouse's
`{"Cause", "Message"}` body.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from services.common.errors import DomainError, Failure

ACCESS = 0
MODIFY = 1
OWNER = 2
NO_ACCESS = -1

BEACONS = "Beacons"
APPLICATIONS = "Applications"
KINDS = (BEACONS, APPLICATIONS)

CREATE_USERS_LEVEL = 1

CAUSE = "users"
NOT_VISIBLE = "User does not exist or current permission too low"
UPDATE_REFUSED = "could not update user"


class UserLevelError(DomainError):
    def __init__(self, failure: Failure, cause: str, message: str):
        super().__init__(message, failure, kind=cause)
        self.cause = cause

    def body(self) -> dict[str, str]:
        return {"Cause": self.cause, "Message": self.message}


def _empty_permissions() -> dict[str, dict[str, int]]:
    return {BEACONS: {}, APPLICATIONS: {}}


@dataclass(frozen=True)
class LighthouseUser:
    email: str
    auth_level: int = 0
    permissions: Mapping[str, Mapping[str, int]] = field(default_factory=_empty_permissions)

    def to_api(self) -> dict[str, Any]:
        """The `GET /users/{Email}` shape."""
        return {
            "Email": self.email,
            "AuthLevel": self.auth_level,
            "Permissions": {kind: dict(self.permissions.get(kind, {})) for kind in KINDS},
        }


# --- users -------------------------------------------------------------------


def name_key(name: str) -> str:
    """How Lighthouse user names compare (ignoring case), and identity names
    against them."""
    return name.casefold()



def _same(a: LighthouseUser, b: LighthouseUser) -> bool:
    return name_key(a.email) == name_key(b.email)


def can_view(caller: LighthouseUser, target: LighthouseUser) -> bool:
    return _same(caller, target) or caller.auth_level > target.auth_level


def can_modify(caller: LighthouseUser, target: LighthouseUser) -> bool:
    return _same(caller, target) or caller.auth_level > target.auth_level


def can_create_user(caller: LighthouseUser) -> bool:
    return caller.auth_level >= CREATE_USERS_LEVEL


def visible_users(caller: LighthouseUser, users: Iterable[LighthouseUser]) -> list[str]:
    """`GET /users/list`: the emails of the users the caller may view."""
    return [u.email for u in users if can_view(caller, u)]


def check_view(caller: LighthouseUser, target: LighthouseUser | None) -> LighthouseUser:
    """The target for `GET /users/{Email}`; missing and invisible users are
    the same not-found refusal."""
    if target is None or not can_view(caller, target):
        raise UserLevelError(Failure.NOT_FOUND, CAUSE, NOT_VISIBLE)
    return target


@dataclass(frozen=True)
class UserUpdate:
    """A validated `PUT /users/{Email}` body. None: leave unchanged."""

    auth_level: int | None = None
    password: str | None = None
    beacons: Mapping[str, int] = field(default_factory=dict)
    applications: Mapping[str, int] = field(default_factory=dict)


def validate_user_update(
    caller: LighthouseUser, target: LighthouseUser | None, body: Mapping[str, Any] | None
) -> UserUpdate:
    """Check a `PUT /users/{Email}` against the rules, in Lighthouse's order:
    not found when it cannot view, forbidden when it cannot modify, invalid
    for AuthLevel < 0, forbidden for an AuthLevel above the caller's or any
    beacon grant not allowed. An empty Password means
    no change."""
    check_view(caller, target)
    assert target is not None
    if not can_modify(caller, target):
        raise UserLevelError(Failure.FORBIDDEN, CAUSE, UPDATE_REFUSED)
    body = body or {}
    if not isinstance(body, Mapping):
        raise UserLevelError(Failure.INVALID, CAUSE, UPDATE_REFUSED)

    auth_level = body.get("AuthLevel")
    if auth_level is not None:
        if not _is_int(auth_level):
            raise UserLevelError(Failure.INVALID, CAUSE, UPDATE_REFUSED)
        if auth_level < 0:
            raise UserLevelError(Failure.INVALID, CAUSE, UPDATE_REFUSED)
        if auth_level > caller.auth_level:
            raise UserLevelError(Failure.FORBIDDEN, CAUSE, UPDATE_REFUSED)

    password = body.get("Password")
    if password is not None and not isinstance(password, str):
        raise UserLevelError(Failure.INVALID, CAUSE, UPDATE_REFUSED)

    grants: dict[str, dict[str, int]] = {}
    for kind in KINDS:
        entries = body.get(kind)
        if entries is None:
            entries = {}
        if not isinstance(entries, Mapping) or not all(
            isinstance(k, str) and _is_int(v) for k, v in entries.items()
        ):
            raise UserLevelError(Failure.INVALID, CAUSE, UPDATE_REFUSED)
        grants[kind] = {}
        for key, level in entries.items():
            if level < 0 and resource_level(target.permissions, kind, key) == NO_ACCESS:
                continue  # removing a level the target does not hold: nothing to do, nothing to check
            if not can_grant(caller.permissions, kind, key, level):
                raise UserLevelError(Failure.FORBIDDEN, CAUSE, UPDATE_REFUSED)
            if not can_change_holder(caller.permissions, target.permissions, kind, key):
                raise UserLevelError(Failure.FORBIDDEN, CAUSE, UPDATE_REFUSED)
            grants[kind][key] = level

    return UserUpdate(
        auth_level=auth_level,
        password=password or None,
        beacons=grants[BEACONS],
        applications=grants[APPLICATIONS],
    )


def apply_user_update(target: LighthouseUser, update: UserUpdate) -> LighthouseUser:
    """The user with the update's AuthLevel and beacon levels applied. The
    password (`update.password`) is for the caller to hash and store."""
    permissions = target.permissions
    for kind, grants in ((BEACONS, update.beacons), (APPLICATIONS, update.applications)):
        for key, level in grants.items():
            permissions = set_resource_level(permissions, kind, key, level)
    return replace(
        target,
        auth_level=target.auth_level if update.auth_level is None else update.auth_level,
        permissions=permissions,
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --- resources ---------------------------------------------------------------


def resource_level(permissions: Mapping[str, Mapping[str, int]], kind: str, key: str) -> int:
    """The level held on one beacon address or application name; missing → -1."""
    return permissions.get(kind, {}).get(key, NO_ACCESS)


def set_resource_level(
    permissions: Mapping[str, Mapping[str, int]], kind: str, key: str, level: int
) -> dict[str, dict[str, int]]:
    """New permissions with `key` set to `level`; a level below 0 deletes it."""
    result = {k: dict(v) for k, v in permissions.items()}
    for k in KINDS:
        result.setdefault(k, {})
    if level < 0:
        result[kind].pop(key, None)
    else:
        result.setdefault(kind, {})[key] = level
    return result


def can_grant(
    caller_permissions: Mapping[str, Mapping[str, int]], kind: str, key: str, level: int
) -> bool:
    """The caller holds MODIFY or more on `key` and `level` is no higher than its own."""
    own = resource_level(caller_permissions, kind, key)
    return own >= MODIFY and level <= own


def can_change_holder(
    caller_permissions: Mapping[str, Mapping[str, int]],
    target_permissions: Mapping[str, Mapping[str, int]],
    kind: str,
    key: str,
) -> bool:
    """An owner's level on `key` is changed (lowered, removed) only by
    another owner of it (the operator owns everything)."""
    if resource_level(target_permissions, kind, key) < OWNER:
        return True
    return resource_level(caller_permissions, kind, key) >= OWNER


def has_resource_level(
    permissions: Mapping[str, Mapping[str, int]], kind: str, key: str, needed: int
) -> bool:
    return resource_level(permissions, kind, key) >= needed
