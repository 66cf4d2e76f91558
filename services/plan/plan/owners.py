"""Who an exec check runs as: user and group names resolved to ids, and
names and ids given together checked against each other, with Pebble's
messages (the plan checks them when a layer is added)."""

from __future__ import annotations

import grp
import pwd
from collections.abc import Callable


def _named_id(kind: str, name: str, given: int | None, lookup: Callable[[str], int], label: str) -> int | None:
    """The id of the user or group `name`, which must agree with `given`."""
    if not name:
        return given
    try:
        found = lookup(name)
    except KeyError:
        raise ValueError(f"{kind}: unknown {kind} {name}") from None
    if given is not None and given != found:
        raise ValueError(f'{kind} "{name}" {label} ({found}) does not match {kind}-id ({given})')
    return found


def normalize_uid_gid(
    user_id: int | None, group_id: int | None, user: str, group: str
) -> tuple[int | None, int | None]:
    """Resolve names to ids, checking that names and ids agree; ValueError."""
    if user_id is None and not user and group_id is None and not group:
        return None, None
    user_id = _named_id("user", user, user_id, lambda name: pwd.getpwnam(name).pw_uid, "UID")
    group_id = _named_id("group", group, group_id, lambda name: grp.getgrnam(name).gr_gid, "GID")
    if group_id is None:
        try:
            group_id = pwd.getpwuid(user_id).pw_gid  # type: ignore[arg-type]
        except KeyError:
            raise ValueError(f"user: unknown userid {user_id}") from None
    if user_id is None:
        raise ValueError("must specify user, not just group")
    return user_id, group_id
