"""Access levels and what API token scopes grant: one ranking for the
gateway, the services and the SDK.

The levels and their order are the proto's `shoal.v1.Access` enum
(least to most: untrusted, metrics, read, admin, internal). Which routes a
scope reaches is a method option (`shoal.v1.scopes`); the level a scope
grants is `SCOPE_ACCESS` below, read by the identity service (a token's
level) and by the gateway (the level signed for a call a scope allowed).
"""

from __future__ import annotations

from shoal.v1 import options_pb2

# Level name -> rank, from the enum: {"untrusted": 1, ..., "internal": 5}.
ACCESS_RANK: dict[str, int] = {
    name.lower(): number for name, number in options_pb2.Access.items() if number != options_pb2.ACCESS_UNSPECIFIED
}
ACCESS_NAMES: dict[int, str] = {number: name for name, number in ACCESS_RANK.items()}

# Scope -> the access level it grants. `*:read` scopes give read, `*:write`
# scopes and `*` give admin, and `monitoring:read` gives metrics.
# `agent:report` (a node agent posting what runs behind it) gives only
# metrics: the report route checks the scope itself, so the agent needs no
# general read access.
SCOPE_ACCESS: dict[str, str] = {
    "*": "admin",
    "monitoring:read": "metrics",
    "monitoring:write": "admin",
    "settings:read": "read",
    "settings:write": "admin",
    "audit:read": "read",
    "agent:report": "metrics",
    "agent:manage": "admin",
}


def rank(level: str) -> int:
    """The rank of `level`; 0 for a name that is no level."""
    return ACCESS_RANK.get(level, 0)


def at_least(level: str, required: str) -> bool:
    return rank(level) >= ACCESS_RANK[required]


def higher(a: str, b: str) -> str:
    """The higher of two levels (`a` when they rank the same)."""
    return b if rank(b) > rank(a) else a
