"""What an API token's scopes reach: each RPC's `scopes` option (the README
shows the table). A token reaches exactly the routes its scopes name; `*`
reaches every route. Sessions and identities are not scoped: their access
level decides. For the call a scope allows, the gateway signs the caller
with the higher of the route's level and the scope's own level
(shoal.access.SCOPE_ACCESS), so the service sees a caller entitled to that
route and no other.
"""

from __future__ import annotations

from shoal import access
from shoal.descriptors import Method


def scope_for(method: Method, scopes: tuple[str, ...]) -> str | None:
    """The scope of `scopes` that reaches `method`, or None."""
    if "*" in scopes:
        return "*"
    return next((scope for scope in method.scopes if scope in scopes), None)


def required_scopes(method: Method) -> tuple[str, ...]:
    return method.scopes or ("*",)


def signed_access(method: Method, scope: str) -> str:
    """The access level signed for one call to `method` that `scope` allowed."""
    return access.higher(method.access, access.SCOPE_ACCESS.get(scope, "untrusted"))
