"""What an API token's scopes reach: the one table (the README shows it).

A token reaches exactly the routes its scopes name here; `*` reaches every
route. Sessions and identities are not scoped: their access level decides.
For the call a scope allows, the gateway signs the caller with the higher of
the route's level and the scope's own level (tokens.SCOPE_ACCESS), so the
service sees a caller entitled to that route and no other.
"""

from __future__ import annotations

from services.identity.tokens import SCOPE_ACCESS

ROUTE_SCOPES: dict[str, tuple[str, ...]] = {
    # Pebble reads: monitoring.
    "GetMetrics": ("monitoring:read", "agent:report"),
    "GetHealth": ("monitoring:read", "agent:report"),
    "GetSystemInfo": ("monitoring:read", "agent:report"),
    "ListServices": ("monitoring:read",),
    "ListChecks": ("monitoring:read",),
    "ListChanges": ("monitoring:read",),
    "GetChange": ("monitoring:read",),
    "WaitChange": ("monitoring:read",),
    "GetLogs": ("monitoring:read",),
    "ListNotices": ("monitoring:read",),
    "GetNotice": ("monitoring:read",),
    "GetPlan": ("monitoring:read", "settings:read"),
    # Pebble writes a monitor may make.
    "ChecksAction": ("monitoring:write",),
    "RefreshCheck": ("monitoring:write",),
    "AddNotice": ("monitoring:write",),
    # Security settings.
    "ListIdentities": ("settings:read",),
    "IdentitiesAction": ("settings:write",),
    "ListTokens": ("settings:read",),
    "GetToken": ("settings:read",),
    "CreateToken": ("settings:write",),
    "UpdateToken": ("settings:write",),
    "DeleteToken": ("settings:write",),
    "RotateToken": ("settings:write",),
    "ValidateToken": ("settings:write",),
    "ResetLockout": ("settings:write",),
    "ListUsers": ("settings:read",),
    "GetUser": ("settings:read",),
    "UpdateUser": ("settings:write",),
    "CreateUser": ("settings:write",),
    # Audit.
    "ListAuditEvents": ("audit:read",),
    "VerifyAuditEvent": ("audit:read",),
    # Node agents (beacons and their instances).
    "ListBeacons": ("agent:report", "agent:manage"),
    "ListBeaconInstances": ("agent:report", "agent:manage"),
    "CreateBeacon": ("agent:manage",),
    "SetBeaconToken": ("agent:manage",),
    "RefreshBeacon": ("agent:manage",),
    "SetAlias": ("agent:manage",),
}

_RANK = {"untrusted": 0, "metrics": 1, "read": 2, "admin": 3}


def scope_for(method_name: str, scopes: tuple[str, ...]) -> str | None:
    """The scope of `scopes` that reaches `method_name`, or None."""
    if "*" in scopes:
        return "*"
    for scope in ROUTE_SCOPES.get(method_name, ()):
        if scope in scopes:
            return scope
    return None


def required_scopes(method_name: str) -> tuple[str, ...]:
    return ROUTE_SCOPES.get(method_name, ("*",))


def signed_access(route_access: str, scope: str) -> str:
    """The access level signed for one call a scope allowed."""
    granted = SCOPE_ACCESS.get(scope, "untrusted")
    return granted if _RANK.get(granted, 0) > _RANK.get(route_access, 0) else route_access
