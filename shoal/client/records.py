"""The API objects the client returns, one typed class each (as ops' are):
fields named as Python names them, `from_dict` reading the API's JSON, and
`raw`, the JSON exactly as answered."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Self


@dataclass
class Record:
    """An API object: its typed fields, and `raw`, the JSON as answered."""

    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False, kw_only=True)
    # field → JSON key, where it is not the field's name with dashes
    KEYS: ClassVar[dict[str, str]] = {}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        values = {}
        for f in fields(cls):
            if f.name == "raw":
                continue
            key = cls.KEYS.get(f.name, f.name.replace("_", "-"))
            if key in data:
                values[f.name] = data[key]
        return cls(raw=data, **values)


# -- Pebble (/v1) -------------------------------------------------------------------
@dataclass
class SystemInfo(Record):
    version: str = ""
    boot_id: str = ""


@dataclass
class Service(Record):
    name: str = ""
    startup: str = ""
    current: str = ""
    current_since: str | None = None


@dataclass
class Task(Record):
    id: str = ""
    kind: str = ""
    summary: str = ""
    status: str = ""
    log: list[str] | None = None
    progress: dict[str, Any] | None = None
    spawn_time: str = ""
    ready_time: str = ""
    data: dict[str, Any] | None = None


@dataclass
class Change(Record):
    id: str = ""
    kind: str = ""
    summary: str = ""
    status: str = ""
    ready: bool = False
    err: str | None = None
    tasks: list[Task] = field(default_factory=list)
    spawn_time: str = ""
    ready_time: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Change:
        return cls(raw=data, id=data.get("id", ""), kind=data.get("kind", ""), summary=data.get("summary", ""),
                   status=data.get("status", ""), ready=bool(data.get("ready")), err=data.get("err"),
                   tasks=[Task.from_dict(t) for t in data.get("tasks") or []],
                   spawn_time=data.get("spawn-time", ""), ready_time=data.get("ready-time", ""))


@dataclass
class Check(Record):
    name: str = ""
    level: str = ""
    startup: str = ""
    status: str = ""
    successes: int = 0
    failures: int = 0
    threshold: int = 0
    change_id: str = ""
    prev_change_id: str = ""


@dataclass
class Notice(Record):
    id: str = ""
    user_id: int | None = None
    type: str = ""
    key: str = ""
    occurrences: int = 0
    last_data: dict[str, str] | None = None
    first_occurred: str = ""
    last_occurred: str = ""
    last_repeated: str = ""
    repeat_after: str = ""
    expire_after: str = ""


@dataclass
class FileInfo(Record):
    """One entry of a files listing (`type` is file, directory, symlink,
    socket, named-pipe, device or unknown; `size` only for files)."""

    path: str = ""
    name: str = ""
    type: str = ""
    size: int | None = None
    permissions: str = ""
    last_modified: str = ""
    user_id: int | None = None
    user: str = ""
    group_id: int | None = None
    group: str = ""


@dataclass
class Identity(Record):
    name: str = ""
    access: str = ""
    local: dict[str, Any] | None = None
    basic: dict[str, Any] | None = None
    cert: dict[str, Any] | None = None


# -- security (/api/security, /api/audit) ------------------------------------------------
@dataclass
class Token(Record):
    id: str = ""
    name: str = ""
    prefix: str = ""
    suffix: str = ""
    scopes: list[str] | None = None
    created_at: str = ""
    expires_at: str | None = None
    last_used_at: str | None = None

    KEYS: ClassVar[dict[str, str]] = {"created_at": "createdAt", "expires_at": "expiresAt",
                                      "last_used_at": "lastUsedAt"}


@dataclass
class AuditEvent(Record):
    id: str = ""
    timestamp: str = ""
    event: str = ""
    user: str = ""
    ip: str = ""
    path: str = ""
    success: bool = True
    details: str = ""
    signature: str = ""


# -- Lighthouse (/api/v0.2) ------------------------------------------------------------
@dataclass
class User(Record):
    email: str = ""
    auth_level: int = 0
    permissions: dict[str, Any] | None = None

    KEYS: ClassVar[dict[str, str]] = {"email": "Email", "auth_level": "AuthLevel", "permissions": "Permissions"}


@dataclass
class Beacon(Record):
    alias: str = ""
    address: str = ""

    KEYS: ClassVar[dict[str, str]] = {"alias": "Alias", "address": "Address"}


@dataclass
class Instance(Record):
    alias: str = ""
    instance_address: str = ""
    name: str = ""
    can_access: bool = False
    beacon_address: str = ""

    KEYS: ClassVar[dict[str, str]] = {"alias": "Alias", "instance_address": "InstanceAddress", "name": "Name",
                                      "can_access": "CanAccess", "beacon_address": "BeaconAddress"}


@dataclass
class Application(Record):
    id: int = 0
    name: str = ""
    current_deployment: int = 0
    instances: list[str] | None = None

    KEYS: ClassVar[dict[str, str]] = {"id": "Id", "name": "Name", "current_deployment": "CurrentDeployment",
                                      "instances": "Instances"}


@dataclass
class Deployment(Record):
    id: int = 0
    creator: str = ""
    date: str = ""
    command: dict[str, Any] | None = None
    version: int = 0
    outcome: str = ""  # how its rolling rollout ended ("" for the `all` strategy)

    KEYS: ClassVar[dict[str, str]] = {"id": "Id", "creator": "Creator", "date": "Date", "command": "Command",
                                      "version": "Version", "outcome": "Outcome"}


@dataclass
class InstanceStatus(Record):
    """One instance of GET /applications/status/{Id}."""

    instance: str = ""
    state: str = ""  # ok | unreachable
    message: str = ""
    current: str = ""
    startup: str = ""
    checks: list[dict[str, Any]] | None = None
    deployment: int = -1

    KEYS: ClassVar[dict[str, str]] = {"instance": "Instance", "state": "State", "message": "Message",
                                      "current": "Current", "startup": "Startup", "checks": "Checks",
                                      "deployment": "Deployment"}


@dataclass
class StreamEvent(Record):
    status: str = ""
    method: str = ""
    endpoint: str = ""
    message: str = ""
    code: int = 0
    instance: str = ""
    item: int = 0
    total: int = 0

    KEYS: ClassVar[dict[str, str]] = {"status": "Status", "method": "Method", "endpoint": "Endpoint",
                                      "message": "Message", "code": "Code", "instance": "Instance",
                                      "item": "Item", "total": "Total"}
