"""Who a process or file belongs to: user/user-id/group/group-id resolved the
way Pebble resolves them for services, exec and files.

A user without a group means the user's primary group; a group without a
user is an error; a name and an id given together must agree.
"""

from __future__ import annotations

import grp
import os
import pwd
from collections.abc import Callable
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


def _lookup(kind: str, name: str, getter: Callable[[str], object]):
    try:
        return getter(name)
    except KeyError:
        raise AccountError(f'{kind} "{name}" not found') from None


def resolve(user_id: int | None = None, user: str = "", group_id: int | None = None, group: str = "") -> Account:
    has_user = bool(user) or user_id is not None
    has_group = bool(group) or group_id is not None
    if has_group and not has_user:
        raise AccountError("must specify user, not just group")
    if not has_user:
        return Account()
    if user:
        entry = _lookup("user", user, pwd.getpwnam)
        if user_id is not None and user_id != entry.pw_uid:
            raise AccountError(f'user "{user}" and user-id {user_id} do not match')
    else:
        try:
            entry = pwd.getpwuid(user_id)
        except KeyError:
            entry = None
    uid = entry.pw_uid if entry is not None else user_id
    if group:
        gid = _lookup("group", group, grp.getgrnam).gr_gid
        if group_id is not None and group_id != gid:
            raise AccountError(f'group "{group}" and group-id {group_id} do not match')
    elif group_id is not None:
        gid = group_id
    elif entry is not None:
        gid = entry.pw_gid
    else:
        raise AccountError(f"user-id {uid} has no passwd entry; set group-id")
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
