"""Applications and their deployments (pure).

An application is a name, a set of instances and an immutable history of
deployments (each a service definition). `Version` numbers a deployment
within its application, 1 for the oldest; lists are newest first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from services.common.errors import DomainError, Failure

NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,62}$")
NO_DEPLOYMENT = -1

BAD_PARAMS = "applications: not enough or invalid parameters given"
UNKNOWN_APP = "applications: unknown application"
UNKNOWN_DEPLOYMENT = "applications: unknown deployment ID"
NOT_THIS_APP = "applications: deployment does not belong to given application"
NO_PREVIOUS = "applications: no previous deployment to rollback to"
CAUSE = "applications"


class ModelError(DomainError):
    """A refused request (invalid unless said otherwise), with Lighthouse's
    Cause for applications."""

    def __init__(self, message: str, failure: Failure | None = None):
        super().__init__(message, failure, kind=CAUSE)


@dataclass(frozen=True)
class Deployment:
    id: int
    app_id: int
    command: dict
    creator: str
    date: str
    outcome: str = ""  # how its rolling rollout ended ("" for the `all` strategy)


def check_name(name: str) -> str:
    if not name:
        raise ModelError(BAD_PARAMS + ": Name is empty")
    if not NAME.match(name):
        raise ModelError(
            f'{BAD_PARAMS}: Name "{name}" must start with a letter and hold only letters, digits, "_" and "-" '
            "(at most 63 characters)"
        )
    return name


def parse_ref(text: str) -> int | str:
    """An `{Id}` path parameter: an id when it parses as an integer, else a name."""
    try:
        return int(text)
    except ValueError:
        return text


def parse_count(text: str) -> int | None:
    """`?count=`: None for all, else a number ≥ 0."""
    if text == "":
        return None
    try:
        count = int(text)
    except ValueError:
        raise ModelError(f'{BAD_PARAMS}: count must be an integer, got "{text}"') from None
    if count < 0:
        raise ModelError(f"{BAD_PARAMS}: count must not be negative")
    return count


def history(deployments: Sequence[Deployment], count: int | None = None) -> list[tuple[Deployment, int]]:
    """(deployment, Version) newest first, at most `count` of them."""
    ordered = sorted(deployments, key=lambda d: d.id)
    numbered = [(d, n) for n, d in enumerate(ordered, start=1)]
    numbered.reverse()
    return numbered if count is None else numbered[:count]


def parse_target(text: str) -> int:
    """`?target=`: a deployment id (≥ 0) or steps back (< 0); default -1."""
    if text == "":
        return -1
    try:
        return int(text)
    except ValueError:
        raise ModelError(f'{BAD_PARAMS}: target must be an integer, got "{text}"') from None


def revert_target(app_id: int, deployment_ids: Sequence[int], target: int, owner_of_target: int | None) -> int:
    """The deployment a revert goes to.

    `deployment_ids` are the application's own; `owner_of_target` is the
    application that deployment `target` belongs to (None if unknown). A
    negative target counts back from the newest deployment (not from the
    current one), as Lighthouse does.
    """
    if target >= 0:
        if owner_of_target is None:
            raise ModelError(UNKNOWN_DEPLOYMENT, Failure.NOT_FOUND)
        if owner_of_target != app_id:
            raise ModelError(NOT_THIS_APP)
        return target
    ordered = sorted(deployment_ids)
    index = len(ordered) - 1 + target
    if index < 0:
        raise ModelError(NO_PREVIOUS)
    return ordered[index]


def merge_instances(current: Iterable[str], add: Iterable[str] = (), remove: Iterable[str] = ()) -> list[str]:
    """`current` without `remove`, then `add` — each once, order kept."""
    removed = set(remove)
    out: list[str] = []
    for instance in [*current, *add]:
        if instance not in removed and instance not in out:
            out.append(instance)
    return out


def unique(items: Iterable[str]) -> list[str]:
    out: list[str] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out
