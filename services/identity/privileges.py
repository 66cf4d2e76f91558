"""What a caller holds, read from the signed caller alone, and the rule that
no caller creates or raises an identity, a user or a token above it.

- A token holds the level its own scopes sign (`scopes_access_level`: `*`
  and `*:write` scopes sign admin, `*:read` read, `monitoring:read` metrics),
  never the level the gateway signed for the one route it called.
- A *full admin* is an admin caller that is no token (root or the daemon's
  own uid on the unix socket, an admin identity of any type, an admin
  identity's session), a `*` token, or a Shoal service.
- Only a full admin creates, changes or removes an `admin` identity or a
  `local` one (a local identity decides what a unix uid may do, root's
  included: one for uid 0 demotes root, as in Pebble).
- Anyone else creates or changes identities only up to its own level, and
  never touches an identity above its level.
- As the Lighthouse operator (above every AuthLevel, owner of every
  resource) only a full admin stands. A token that is not `*` manages users
  (`settings:write`) up to that level too, but owns beacons only with
  `agent:manage` (the scope that makes it the beacons' operator) and owns no
  application: it cannot grant what it could not use itself.

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from services.common.errors import DomainError, Failure
from services.common.signing import Caller
from services.identity.identities import ADMIN, UNTRUSTED, Identity, access_rank
from services.identity.tokens import AGENT_MANAGE, ALL, scopes_access_level
from services.identity.userlevels import APPLICATIONS, BEACONS

FULL_ADMIN = 'a full admin (root or the daemon\'s own user on the unix socket, an admin identity, or a "*" token)'


class PrivilegeError(DomainError):
    """The caller tried to create or change something above what it holds."""

    failure = Failure.FORBIDDEN


@dataclass(frozen=True)
class Holding:
    level: str  # untrusted | metrics | read | admin
    full_admin: bool
    token: bool
    scopes: tuple[str, ...] = ()


def holding(caller: Caller) -> Holding:
    """What `caller` holds, from its signed values only."""
    if caller.is_service:
        return Holding(ADMIN, True, False)
    if caller.method == "token" or caller.scopes:  # only tokens carry scopes
        return Holding(scopes_access_level(caller.scopes), ALL in caller.scopes, True, tuple(caller.scopes))
    level = caller.access if access_rank(caller.access) >= 0 else UNTRUSTED
    return Holding(level, level == ADMIN, False)


def is_socket_admin(caller: Caller) -> bool:
    """An admin caller on the unix socket by its peer uid (a local identity
    or the uid's default), not by a password, token or session."""
    return caller.origin == "local" and caller.method in ("local", "peer") and caller.uid is not None \
        and caller.access == ADMIN


def check_identity_changes(
    held: Holding, before: Mapping[str, Identity], after: Mapping[str, Identity]
) -> None:
    """Refuse (PrivilegeError) any identity that differs between `before`
    and `after` that `held` may not create, change or remove."""
    if held.full_admin:
        return
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        for identity in (old, new):
            if identity is not None:
                _check_one(held, name, identity)


def _check_one(held: Holding, name: str, identity: Identity) -> None:
    if identity.access == ADMIN:
        raise PrivilegeError(f'cannot change identity "{name}": admin identities are changed only by {FULL_ADMIN}')
    if identity.local is not None:
        raise PrivilegeError(f'cannot change identity "{name}": local identities are changed only by {FULL_ADMIN}')
    if access_rank(identity.access) > access_rank(held.level):
        raise PrivilegeError(
            f'cannot change identity "{name}": its access "{identity.access}" is above this caller\'s own '
            f'("{held.level}")'
        )


def operator_resources(held: Holding) -> tuple[str, ...]:
    """The Lighthouse resource kinds a caller that is no Lighthouse user owns
    every key of: all for a full admin; beacons for an `agent:manage` token;
    none otherwise."""
    if held.full_admin:
        return (BEACONS, APPLICATIONS)
    if held.token and AGENT_MANAGE in held.scopes:
        return (BEACONS,)
    return ()
