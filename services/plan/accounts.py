"""Who a process or file belongs to: user/user-id/group/group-id resolved the
way Pebble resolves them for services, exec and files, with its messages
(Go's `user: unknown user X`, `group: unknown group X`, `user: unknown userid N`).

A user without a group means the user's primary group; a group without a
user is an error; a name and an id given together must agree.
"""

from __future__ import annotations

import grp
import os
import pwd
from dataclasses import dataclass


class AccountError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Account:
    uid: int | None = None  # None: nobody asked, run or write as the daemon
    gid: int | None = None
    groups: tuple[int, ...] = ()
    home: str = ""
    user: str = ""

    @property
    def given(self) -> bool:
        return self.uid is not None

    def switches_from_daemon(self) -> bool:
        """Whether acting as this account needs setuid/setgid."""
        return self.uid is not None and (os.geteuid() == 0 or (self.uid, self.gid) != (os.getuid(), os.getgid()))


def _user_by_name(name: str):
    try:
        return pwd.getpwnam(name)
    except KeyError:
        raise AccountError(f"user: unknown user {name}") from None


def _group_by_name(name: str):
    try:
        return grp.getgrnam(name)
    except KeyError:
        raise AccountError(f"group: unknown group {name}") from None


def _user_by_id(uid: int):
    try:
        return pwd.getpwuid(uid)
    except (KeyError, OverflowError, ValueError):
        return None


def resolve(user_id: int | None = None, user: str = "", group_id: int | None = None, group: str = "") -> Account:
    """The account, resolved in Pebble's order and with its words: the user
    name, then the group name (each must agree with its id), then the user's
    primary group when no group is given, and a group needs a user."""
    if user_id is None and not user and group_id is None and not group:
        return Account()
    entry = None
    uid = user_id
    if user:
        entry = _user_by_name(user)
        if user_id is not None and user_id != entry.pw_uid:
            raise AccountError(f'user "{user}" UID ({entry.pw_uid}) does not match user-id ({user_id})')
        uid = entry.pw_uid
    gid = group_id
    if group:
        found = _group_by_name(group).gr_gid
        if group_id is not None and group_id != found:
            raise AccountError(f'group "{group}" GID ({found}) does not match group-id ({group_id})')
        gid = found
    if gid is None:  # a user without a group: the user's primary group
        entry = entry or _user_by_id(uid)
        if entry is None:
            raise AccountError(f"user: unknown userid {uid}")
        gid = entry.pw_gid
    if uid is None:
        raise AccountError("must specify user, not just group")
    entry = entry or _user_by_id(uid)
    if entry is None:
        return Account(uid, gid, (gid,))
    return Account(uid, gid, tuple(os.getgrouplist(entry.pw_name, gid)), entry.pw_dir, entry.pw_name)


def current() -> Account:
    """The daemon's own account (for defaults such as HOME)."""
    uid = os.getuid()
    try:
        entry = pwd.getpwuid(uid)
    except KeyError:
        return Account(uid, os.getgid(), (os.getgid(),))
    return Account(uid, os.getgid(), (os.getgid(),), entry.pw_dir, entry.pw_name)
