"""Lighthouse resource levels as the beacon and application services apply
them (pure): ACCESS 0, MODIFY 1, OWNER 2 per beacon address or application
name, a missing entry is NO_ACCESS (-1).

Whose levels: a Lighthouse user's come from the identity service. A caller
that is not a Lighthouse user (a Pebble identity, a unix peer) has none,
except that an `admin` one — the operator of the machine — stands as owner
of every beacon and application.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

NO_ACCESS = -1
ACCESS = 0
MODIFY = 1
OWNER = 2

BEACONS = "Beacons"
APPLICATIONS = "Applications"
OPERATOR_ACCESS = ("admin", "internal")


@dataclass(frozen=True)
class Levels:
    operator: bool = False
    beacons: Mapping[str, int] = field(default_factory=dict)
    applications: Mapping[str, int] = field(default_factory=dict)

    def beacon(self, address: str) -> int:
        return OWNER if self.operator else self.beacons.get(address, NO_ACCESS)

    def application(self, name: str) -> int:
        return OWNER if self.operator else self.applications.get(name, NO_ACCESS)


def levels_for(
    found: bool,
    access: str,
    beacons: Mapping[str, int] | None = None,
    applications: Mapping[str, int] | None = None,
) -> Levels:
    """The levels of a caller: its user's when it is a Lighthouse user."""
    if found:
        return Levels(False, dict(beacons or {}), dict(applications or {}))
    return Levels(operator=access in OPERATOR_ACCESS)


def check_min_level(level: int) -> int:
    if level not in (ACCESS, MODIFY, OWNER):
        raise ValueError(f"min_level must be 0, 1 or 2, not {level}")
    return level
