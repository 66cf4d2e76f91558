"""Every API the gateway serves, as typed calls on a Connection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, fields, make_dataclass
from typing import Any, ClassVar

import orjson

from shoal.client.errors import ChangeError, TimeoutError


@dataclass
class Record:
    """An API object: its typed fields, and `raw`, the JSON as answered."""

    raw: dict = field(default_factory=dict, repr=False, compare=False)
    KEYS: ClassVar[dict[str, str]] = {}  # field → JSON key, where not the field's name with dashes

    @classmethod
    def from_api(cls, data: dict):
        values = {}
        for f in fields(cls):
            if f.name == "raw":
                continue
            key = cls.KEYS.get(f.name, f.name.replace("_", "-"))
            if key in data:
                values[f.name] = data[key]
        return cls(raw=data, **values)


def _record(name: str, defaults: dict[str, Any], keys: dict[str, str] | None = None):
    """A Record dataclass named `name` whose fields default as given."""
    cls = make_dataclass(name, [(n, Any, field(default=d)) for n, d in defaults.items()], bases=(Record,))
    cls.KEYS = keys or {}
    return cls


SystemInfo = _record("SystemInfo", {"version": "", "boot_id": ""})
Service = _record("Service", {"name": "", "startup": "", "current": "", "current_since": None})
Task = _record("Task", {"id": "", "kind": "", "summary": "", "status": "", "log": None, "progress": None,
                        "data": None})
Check = _record("Check", {"name": "", "level": "", "startup": "", "status": "", "successes": 0, "failures": 0,
                          "threshold": 0, "change_id": ""})
Notice = _record("Notice", {"id": "", "user_id": None, "type": "", "key": "", "occurrences": 0,
                            "last_data": None, "first_occurred": "", "last_occurred": ""})
Identity = _record("Identity", {"name": "", "access": "", "local": None, "basic": None, "cert": None})
Token = _record("Token", {"id": "", "name": "", "prefix": "", "suffix": "", "scopes": None, "created_at": "",
                          "expires_at": None, "last_used_at": None},
                {"created_at": "createdAt", "expires_at": "expiresAt", "last_used_at": "lastUsedAt"})
AuditEvent = _record("AuditEvent", {"id": "", "timestamp": "", "event": "", "user": "", "ip": "", "path": "",
                                    "success": True, "details": "", "signature": ""})
User = _record("User", {"email": "", "auth_level": 0, "permissions": None},
               {"email": "Email", "auth_level": "AuthLevel", "permissions": "Permissions"})
Beacon = _record("Beacon", {"alias": "", "address": ""}, {"alias": "Alias", "address": "Address"})
Instance = _record("Instance", {"alias": "", "instance_address": "", "name": "", "can_access": False,
                                "beacon_address": ""},
                   {"alias": "Alias", "instance_address": "InstanceAddress", "name": "Name",
                    "can_access": "CanAccess", "beacon_address": "BeaconAddress"})
Application = _record("Application", {"id": 0, "name": "", "current_deployment": 0, "instances": None},
                      {"id": "Id", "name": "Name", "current_deployment": "CurrentDeployment",
                       "instances": "Instances"})
Deployment = _record("Deployment", {"id": 0, "creator": "", "date": "", "command": None, "version": 0},
                     {"id": "Id", "creator": "Creator", "date": "Date", "command": "Command",
                      "version": "Version"})
StreamEvent = _record("StreamEvent", {"status": "", "method": "", "endpoint": "", "message": "", "code": 0,
                                      "instance": "", "item": 0, "total": 0},
                      {"status": "Status", "method": "Method", "endpoint": "Endpoint", "message": "Message",
                       "code": "Code", "instance": "Instance", "item": "Item", "total": "Total"})


@dataclass
class Change(Record):
    id: str = ""
    kind: str = ""
    summary: str = ""
    status: str = ""
    ready: bool = False
    err: str | None = None
    tasks: list = field(default_factory=list)

    @classmethod
    def from_api(cls, data: dict) -> Change:
        return cls(raw=data, id=data.get("id", ""), kind=data.get("kind", ""), summary=data.get("summary", ""),
                   status=data.get("status", ""), ready=bool(data.get("ready")), err=data.get("err"),
                   tasks=[Task.from_api(t) for t in data.get("tasks") or []])


def _result(body):
    return body.get("result") if isinstance(body, dict) else body


class Api:
    """Mixed into Connection: `request` and `get_json` come from there."""

    # -- Pebble ---------------------------------------------------------------
    async def system_info(self) -> SystemInfo:
        return SystemInfo.from_api(_result(await self.get_json("/v1/system-info")))

    async def health(self, level: str = "") -> bool:
        answer = await self.raw_request("GET", "/v1/health", params={"level": level} if level else None)
        return bool((answer.json() or {}).get("result", {}).get("healthy"))

    async def services(self, names: list[str] | None = None) -> list:
        params = {"names": ",".join(names)} if names else None
        return [Service.from_api(s) for s in _result(await self.get_json("/v1/services", params)) or []]

    async def services_action(self, action: str, services: list[str] | None = None) -> str:
        body = await self.request("POST", "/v1/services", json={"action": action, "services": services or []})
        return body.json()["change"]

    async def plan(self) -> str:
        return _result(await self.get_json("/v1/plan", {"format": "yaml"}))

    async def add_layer(self, label: str, layer: str, combine: bool = False) -> None:
        await self.request("POST", "/v1/layers", json={"action": "add", "label": label, "format": "yaml",
                                                        "layer": layer, "combine": combine})

    async def changes(self, select: str = "in-progress", service: str = "") -> list[Change]:
        params = {"select": select, **({"for": service} if service else {})}
        return [Change.from_api(c) for c in _result(await self.get_json("/v1/changes", params)) or []]

    async def change(self, change_id: str) -> Change:
        return Change.from_api(_result(await self.get_json(f"/v1/changes/{change_id}")))

    async def abort_change(self, change_id: str) -> Change:
        answer = await self.request("POST", f"/v1/changes/{change_id}", json={"action": "abort"})
        return Change.from_api(_result(answer.json()))

    async def wait_change(self, change_id: str, timeout: float = 0, progress=None) -> Change:
        """Wait for a change to be ready; ChangeError if it ended in error.
        `progress(change)` is called as it moves (for a live progress line)."""
        deadline = asyncio.get_running_loop().time() + timeout if timeout else None
        while True:
            step = 1.0 if progress else 30.0
            if deadline is not None:
                step = min(step, max(deadline - asyncio.get_running_loop().time(), 0.001))
            answer = await self.raw_request("GET", f"/v1/changes/{change_id}/wait",
                                            params={"timeout": f"{step:.3f}s"},
                                            headers=self.login_provider.headers(), timeout=step + 10)
            if answer.status == 504:
                if progress:
                    progress(await self.change(change_id))
                if deadline is not None and asyncio.get_running_loop().time() >= deadline:
                    raise TimeoutError(f"change {change_id} not ready in {timeout}s")
                continue
            if answer.status >= 400:
                raise self.error_from(answer)
            change = Change.from_api(_result(answer.json()))
            if progress:
                progress(change)
            if change.err:
                raise ChangeError(change)
            return change

    async def checks(self, level: str = "", names: list[str] | None = None) -> list:
        params = {**({"level": level} if level else {}), **({"names": ",".join(names)} if names else {})}
        return [Check.from_api(c) for c in _result(await self.get_json("/v1/checks", params or None)) or []]

    async def checks_action(self, action: str, checks: list[str]) -> list[str]:
        answer = await self.request("POST", "/v1/checks", json={"action": action, "checks": checks})
        return (_result(answer.json()) or {}).get("changed") or []

    async def notices(self, types: list[str] | None = None, keys: list[str] | None = None) -> list:
        params = {**({"types": ",".join(types)} if types else {}), **({"keys": ",".join(keys)} if keys else {})}
        return [Notice.from_api(n) for n in _result(await self.get_json("/v1/notices", params or None)) or []]

    async def notify(self, key: str, data: dict | None = None) -> str:
        answer = await self.request("POST", "/v1/notices", json={"action": "add", "type": "custom", "key": key,
                                                                 **({"data": data} if data else {})})
        return _result(answer.json())["id"]

    async def logs(self, services: list[str] | None = None, n: int = 30, follow: bool = False
                   ) -> AsyncIterator[dict]:
        params = {"n": str(n), **({"services": ",".join(services)} if services else {}),
                  **({"follow": "true"} if follow else {})}
        async for line in self._lines("GET", "/v1/logs", params=params):
            yield line

    async def identities(self) -> list:
        return [Identity.from_api({"name": name, **value})
                for name, value in sorted((_result(await self.get_json("/v1/identities")) or {}).items())]

    async def identities_action(self, action: str, identities: dict) -> None:
        await self.request("POST", "/v1/identities", json={"action": action, "identities": identities})

    # -- tokens, audit ------------------------------------------------------------
    async def tokens(self) -> list:
        body = await self.get_json("/api/security/tokens")
        return [Token.from_api(t) for t in (body.get("tokens", body) if isinstance(body, dict) else body)]

    async def create_token(self, name: str, scopes: list[str] | None = None, expires_in: str = ""
                           ) -> tuple[str, Any]:
        body = {"name": name, **({"scopes": scopes} if scopes is not None else {}),
                **({"expiresIn": expires_in} if expires_in else {})}
        answer = (await self.request("POST", "/api/security/tokens", json=body)).json()
        return answer["token"], Token.from_api(answer["record"])

    async def rotate_token(self, token_id: str) -> tuple[str, Any]:
        answer = (await self.request("POST", f"/api/security/tokens/{token_id}/rotate")).json()
        return answer["token"], Token.from_api(answer["record"])

    async def revoke_token(self, token_id: str) -> None:
        await self.request("DELETE", f"/api/security/tokens/{token_id}")

    async def audit(self, limit: int = 100, event: str = "", user: str = "") -> list:
        params = {"limit": str(limit), **({"event": event} if event else {}), **({"user": user} if user else {})}
        return [AuditEvent.from_api(e) for e in (await self.get_json("/api/audit", params)).get("events", [])]

    # -- Lighthouse ---------------------------------------------------------------
    async def users(self) -> list[str]:
        return await self.get_json("/api/v0.2/users/list")

    async def user(self, email: str):
        return User.from_api(await self.get_json(f"/api/v0.2/users/{email}"))

    async def create_user(self, email: str, password: str) -> None:
        await self.request("POST", "/api/v0.2/users/create", json={"Email": email, "Password": password})

    async def update_user(self, email: str, **changes) -> None:
        await self.request("PUT", f"/api/v0.2/users/{email}", json=changes)

    async def beacons(self) -> list:
        return [Beacon.from_api(b) for b in await self.get_json("/api/v0.2/beacons/list") or []]

    async def create_beacon(self, address: str, token: str, alias: str) -> None:
        await self.request("POST", "/api/v0.2/beacons/create", json={"Address": address, "Token": token,
                                                                     "Alias": alias}, timeout=60)

    async def beacon_instances(self, beacon: str, refresh: bool = False) -> list:
        params = {"refresh": "true"} if refresh else None
        return [Instance.from_api(i) for i in await self.get_json(f"/api/v0.2/beacons/list/{beacon}", params) or []]

    async def set_beacon_token(self, beacon: str, token: str) -> None:
        await self.request("PUT", f"/api/v0.2/beacons/token/{beacon}", json=token)

    async def refresh_beacon(self, beacon: str) -> None:
        await self.request("PUT", f"/api/v0.2/beacons/refresh/{beacon}", timeout=60)

    async def set_alias(self, address: str, alias: str) -> None:
        await self.request("PUT", f"/api/v0.2/aliases/{address}", json=alias)

    async def applications(self) -> list:
        return [Application.from_api(a) for a in await self.get_json("/api/v0.2/applications/list") or []]

    async def deployments(self, app: str, count: int | None = None) -> list:
        params = {"count": str(count)} if count is not None else None
        return [Deployment.from_api(d) for d in await self.get_json(f"/api/v0.2/applications/list/{app}", params)
                or []]

    def app_action(self, action: str, app: str = "", body: dict | None = None, **params) -> AsyncIterator:
        """An application action's STREAM, event by event, ending with Finalized."""
        method, path = {
            "create": ("POST", "/api/v0.2/applications/create"),
            "start": ("POST", f"/api/v0.2/applications/start/{app}"),
            "stop": ("POST", f"/api/v0.2/applications/stop/{app}"),
            "update": ("PUT", f"/api/v0.2/applications/update/{app}"),
            "revert": ("PUT", f"/api/v0.2/applications/revert/{app}"),
        }[action]
        query = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in params.items()}
        return self._events(method, path, body, query)

    async def _events(self, method, path, body, params) -> AsyncIterator:
        async for line in self._lines(method, path, json=body, params=params or None):
            yield StreamEvent.from_api(line)

    async def _lines(self, method: str, path: str, **kwargs) -> AsyncIterator[dict]:
        """Newline-delimited JSON as it arrives."""
        import aiohttp

        headers = {**self.login_provider.headers()}
        if kwargs.get("json") is not None:
            kwargs["data"] = orjson.dumps(kwargs.pop("json"))
            headers["Content-Type"] = "application/json"
        else:
            kwargs.pop("json", None)
        async with self._session.request(method, self._base + path, headers=headers, allow_redirects=False,
                                         timeout=aiohttp.ClientTimeout(total=None, sock_connect=10),
                                         **kwargs) as response:
            if response.status >= 400:
                from shoal.client.connection import Answer

                raise self.error_from(Answer(response.status, response.headers, await response.read()))
            async for raw in response.content:
                if raw.strip():
                    yield orjson.loads(raw)
