"""What a caller holds, from its signed values alone, and that nobody
creates or raises an identity above it (issue 15 item 1)."""

from __future__ import annotations

import pytest

from services.common.errors import Failure
from services.common.signing import Caller, service_caller
from services.identity.identities import BasicIdentity, Identity, LocalIdentity
from services.identity.privileges import (
    PrivilegeError,
    check_identity_changes,
    holding,
    is_socket_admin,
    operator_resources,
)
from services.identity.userlevels import APPLICATIONS, BEACONS

HASH = "$6$abcdefgh$KQeXafAQAaOoKTevphVU215RvJdgzyfASRasIOuh12hO8u0r1bGW92ZnTmC9IjsiQ8VPiTXBiZF49dFL1U4wX/"
ROOT = Caller("uid:0", "admin", uid=0, origin="local", method="peer")
ADMIN_BASIC = Caller("ops", "admin", origin="10.0.0.2", method="basic")
STAR = Caller("token:all", "admin", scopes=("*",), origin="10.0.0.2", method="token")
# What the gateway signs for a settings:write token calling POST /v1/identities: admin, for that route.
SETTINGS = Caller("token:ci", "admin", scopes=("settings:write",), origin="10.0.0.2", method="token")
READER = Caller("reader", "read", method="basic")


def _basic(access: str) -> Identity:
    return Identity(access=access, basic=BasicIdentity(HASH))


@pytest.mark.parametrize("caller,level,full", [
    (ROOT, "admin", True),
    (ADMIN_BASIC, "admin", True),
    (STAR, "admin", True),
    (SETTINGS, "admin", False),
    (Caller("token:r", "read", scopes=("settings:read",), method="token"), "read", False),
    (Caller("token:m", "admin", scopes=("monitoring:read",), method="token"), "metrics", False),  # not the route's
    (READER, "read", False),
    (Caller("boss@corp", "read", method="session"), "read", False),
    (service_caller("cli"), "admin", True),
])
def test_what_a_caller_holds(caller, level, full):
    held = holding(caller)
    assert (held.level, held.full_admin) == (level, full)


def test_only_an_admin_peer_on_the_socket_is_a_socket_admin():
    assert is_socket_admin(ROOT)
    assert is_socket_admin(Caller("rooty", "admin", uid=0, origin="local", method="local"))
    assert not is_socket_admin(Caller("uid:1000", "read", uid=1000, origin="local", method="peer"))
    assert not is_socket_admin(Caller("ops", "admin", origin="local", method="basic"))  # a password, not a uid
    assert not is_socket_admin(Caller("uid:0", "admin", uid=0, origin="127.0.0.1", method="peer"))
    assert not is_socket_admin(STAR)


@pytest.mark.parametrize("after", [
    {"new": _basic("admin")},
    {"new": Identity(access="untrusted", local=LocalIdentity(0))},  # would demote root
    {"new": Identity(access="read", local=LocalIdentity(1000))},
])
def test_a_settings_write_token_creates_no_admin_and_no_local_identity(after):
    with pytest.raises(PrivilegeError) as info:
        check_identity_changes(holding(SETTINGS), {}, after)
    assert info.value.failure is Failure.FORBIDDEN
    for full in (ROOT, ADMIN_BASIC, STAR):
        check_identity_changes(holding(full), {}, after)


def test_a_settings_write_token_never_touches_an_admin_identity():
    before = {"ops": _basic("admin")}
    for after in ({"ops": Identity(access="admin", basic=BasicIdentity(HASH[:-1] + "x"))},  # a new password
                  {"ops": _basic("read")}, {}):
        with pytest.raises(PrivilegeError, match='"ops": admin identities'):
            check_identity_changes(holding(SETTINGS), before, after)


def test_below_admin_identities_stay_within_the_callers_level():
    check_identity_changes(holding(SETTINGS), {"old": _basic("metrics")}, {"web": _basic("read")})
    check_identity_changes(holding(SETTINGS), {"same": _basic("admin")}, {"same": _basic("admin")})  # unchanged
    reader = holding(Caller("token:r", "admin", scopes=("settings:read",), method="token"))
    check_identity_changes(reader, {}, {"m": _basic("metrics")})
    with pytest.raises(PrivilegeError, match='its access "read" is above'):
        check_identity_changes(holding(Caller("token:m", "admin", scopes=("monitoring:read",), method="token")),
                               {}, {"r": _basic("read")})


def test_the_lighthouse_operator_owns_only_what_it_could_use():
    assert operator_resources(holding(ROOT)) == (BEACONS, APPLICATIONS)
    assert operator_resources(holding(STAR)) == (BEACONS, APPLICATIONS)
    assert operator_resources(holding(SETTINGS)) == ()
    manager = Caller("token:agents", "admin", scopes=("agent:manage", "settings:write"), method="token")
    assert operator_resources(holding(manager)) == (BEACONS,)
