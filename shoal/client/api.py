"""Every API the gateway serves, as typed calls over a Transport (a
Connection is one)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson

from shoal.client.errors import APIError, ChangeError, TimeoutError
from shoal.client.records import (
    Application,
    AuditEvent,
    Beacon,
    Change,
    Check,
    Deployment,
    Identity,
    Instance,
    Notice,
    Service,
    StreamEvent,
    SystemInfo,
    Token,
    User,
)
from shoal.client.transport import Transport


def _result(body):
    return body.get("result") if isinstance(body, dict) else body


class Api:
    """The typed calls. Everything goes through `transport.request`, so every
    call (streams too) gets the login's headers, re-login and redirects."""

    def __init__(self, transport: Transport):
        self._transport = transport

    async def get_json(self, path: str, params=None, timeout: float | None = None):
        return (await self._transport.request("GET", path, params=params, timeout=timeout)).json()

    # -- Pebble ---------------------------------------------------------------
    async def system_info(self) -> SystemInfo:
        return SystemInfo.from_dict(_result(await self.get_json("/v1/system-info")))

    async def health(self, level: str = "") -> bool:
        try:
            body = await self.get_json("/v1/health", {"level": level} if level else None)
        except APIError as error:
            body = error.body  # unhealthy is Pebble's sync envelope with 502; any other error: not healthy
        result = _result(body) if isinstance(body, dict) else None
        return bool(isinstance(result, dict) and result.get("healthy"))

    async def services(self, names: list[str] | None = None) -> list[Service]:
        params = {"names": ",".join(names)} if names else None
        return [Service.from_dict(s) for s in _result(await self.get_json("/v1/services", params)) or []]

    async def services_action(self, action: str, services: list[str] | None = None) -> str:
        body = await self._transport.request("POST", "/v1/services", json={"action": action, "services": services or []})
        return body.json()["change"]

    async def plan(self) -> str:
        return _result(await self.get_json("/v1/plan", {"format": "yaml"}))

    async def add_layer(self, label: str, layer: str, combine: bool = False) -> None:
        await self._transport.request("POST", "/v1/layers", json={"action": "add", "label": label, "format": "yaml",
                                                        "layer": layer, "combine": combine})

    async def changes(self, select: str = "in-progress", service: str = "") -> list[Change]:
        params = {"select": select, **({"for": service} if service else {})}
        return [Change.from_dict(c) for c in _result(await self.get_json("/v1/changes", params)) or []]

    async def change(self, change_id: str) -> Change:
        return Change.from_dict(_result(await self.get_json(f"/v1/changes/{change_id}")))

    async def abort_change(self, change_id: str) -> Change:
        answer = await self._transport.request("POST", f"/v1/changes/{change_id}", json={"action": "abort"})
        return Change.from_dict(_result(answer.json()))

    async def wait_change(self, change_id: str, timeout: float = 0, progress=None) -> Change:
        """Wait for a change to be ready; ChangeError if it ended in error.
        `progress(change)` is called as it moves (for a live progress line)."""
        deadline = asyncio.get_running_loop().time() + timeout if timeout else None
        while True:
            step = 1.0 if progress else 30.0
            if deadline is not None:
                step = min(step, max(deadline - asyncio.get_running_loop().time(), 0.001))
            try:
                body = await self.get_json(f"/v1/changes/{change_id}/wait", {"timeout": f"{step:.3f}s"},
                                           timeout=step + 10)
            except APIError as error:
                if error.status != 504:
                    raise
                if progress:
                    progress(await self.change(change_id))
                if deadline is not None and asyncio.get_running_loop().time() >= deadline:
                    raise TimeoutError(f"change {change_id} not ready in {timeout}s") from None
                continue
            change = Change.from_dict(_result(body))
            if progress:
                progress(change)
            if change.err:
                raise ChangeError(change)
            return change

    async def checks(self, level: str = "", names: list[str] | None = None) -> list[Check]:
        params = {**({"level": level} if level else {}), **({"names": ",".join(names)} if names else {})}
        return [Check.from_dict(c) for c in _result(await self.get_json("/v1/checks", params or None)) or []]

    async def checks_action(self, action: str, checks: list[str]) -> list[str]:
        answer = await self._transport.request("POST", "/v1/checks", json={"action": action, "checks": checks})
        return (_result(answer.json()) or {}).get("changed") or []

    async def notices(self, types: list[str] | None = None, keys: list[str] | None = None) -> list[Notice]:
        params = {**({"types": ",".join(types)} if types else {}), **({"keys": ",".join(keys)} if keys else {})}
        return [Notice.from_dict(n) for n in _result(await self.get_json("/v1/notices", params or None)) or []]

    async def notify(self, key: str, data: dict | None = None) -> str:
        answer = await self._transport.request("POST", "/v1/notices", json={"action": "add", "type": "custom", "key": key,
                                                                 **({"data": data} if data else {})})
        return _result(answer.json())["id"]

    async def logs(self, services: list[str] | None = None, n: int = 30, follow: bool = False
                   ) -> AsyncIterator[dict]:
        params = {"n": str(n), **({"services": ",".join(services)} if services else {}),
                  **({"follow": "true"} if follow else {})}
        async for line in self._lines("GET", "/v1/logs", params=params):
            yield line

    async def identities(self) -> list[Identity]:
        return [Identity.from_dict({"name": name, **value})
                for name, value in sorted((_result(await self.get_json("/v1/identities")) or {}).items())]

    async def identities_action(self, action: str, identities: dict) -> None:
        await self._transport.request("POST", "/v1/identities", json={"action": action, "identities": identities})

    # -- tokens, audit ------------------------------------------------------------
    async def tokens(self) -> list[Token]:
        body = await self.get_json("/api/security/tokens")
        return [Token.from_dict(t) for t in (body.get("tokens", body) if isinstance(body, dict) else body)]

    async def create_token(self, name: str, scopes: list[str] | None = None, expires_in: str = ""
                           ) -> tuple[str, Token]:
        body = {"name": name, **({"scopes": scopes} if scopes is not None else {}),
                **({"expiresIn": expires_in} if expires_in else {})}
        answer = (await self._transport.request("POST", "/api/security/tokens", json=body)).json()
        return answer["token"], Token.from_dict(answer["record"])

    async def rotate_token(self, token_id: str) -> tuple[str, Token]:
        answer = (await self._transport.request("POST", f"/api/security/tokens/{token_id}/rotate")).json()
        return answer["token"], Token.from_dict(answer["record"])

    async def revoke_token(self, token_id: str) -> None:
        await self._transport.request("DELETE", f"/api/security/tokens/{token_id}")

    async def audit(self, limit: int = 100, event: str = "", user: str = "") -> list[AuditEvent]:
        params = {"limit": str(limit), **({"event": event} if event else {}), **({"user": user} if user else {})}
        return [AuditEvent.from_dict(e) for e in (await self.get_json("/api/audit", params)).get("events", [])]

    # -- Lighthouse ---------------------------------------------------------------
    async def users(self) -> list[str]:
        return await self.get_json("/api/v0.2/users/list")

    async def user(self, email: str) -> User:
        return User.from_dict(await self.get_json(f"/api/v0.2/users/{email}"))

    async def create_user(self, email: str, password: str) -> None:
        await self._transport.request("POST", "/api/v0.2/users/create", json={"Email": email, "Password": password})

    async def update_user(self, email: str, **changes) -> None:
        await self._transport.request("PUT", f"/api/v0.2/users/{email}", json=changes)

    async def beacons(self) -> list[Beacon]:
        return [Beacon.from_dict(b) for b in await self.get_json("/api/v0.2/beacons/list") or []]

    async def create_beacon(self, address: str, token: str, alias: str) -> None:
        await self._transport.request("POST", "/api/v0.2/beacons/create", json={"Address": address, "Token": token,
                                                                     "Alias": alias}, timeout=60)

    async def beacon_instances(self, beacon: str, refresh: bool = False) -> list[Instance]:
        params = {"refresh": "true"} if refresh else None
        return [Instance.from_dict(i) for i in await self.get_json(f"/api/v0.2/beacons/list/{beacon}", params) or []]

    async def set_beacon_token(self, beacon: str, token: str) -> None:
        await self._transport.request("PUT", f"/api/v0.2/beacons/token/{beacon}", json=token)

    async def refresh_beacon(self, beacon: str) -> None:
        await self._transport.request("PUT", f"/api/v0.2/beacons/refresh/{beacon}", timeout=60)

    async def set_alias(self, address: str, alias: str) -> None:
        await self._transport.request("PUT", f"/api/v0.2/aliases/{address}", json=alias)

    async def applications(self) -> list[Application]:
        return [Application.from_dict(a) for a in await self.get_json("/api/v0.2/applications/list") or []]

    async def deployments(self, app: str, count: int | None = None) -> list[Deployment]:
        params = {"count": str(count)} if count is not None else None
        return [Deployment.from_dict(d) for d in await self.get_json(f"/api/v0.2/applications/list/{app}", params)
                or []]

    def app_action(self, action: str, app: str = "", body: dict | None = None, **params
                   ) -> AsyncIterator[StreamEvent]:
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

    async def _events(self, method, path, body, params) -> AsyncIterator[StreamEvent]:
        async for line in self._lines(method, path, json=body, params=params or None):
            yield StreamEvent.from_dict(line)

    async def _lines(self, method: str, path: str, *, json: Any = None, params=None) -> AsyncIterator[dict]:
        """Newline-delimited JSON as it arrives."""
        answer = await self._transport.request(method, path, json=json, params=params, stream=True)
        try:
            async for raw in answer.lines():
                if raw.strip():
                    yield orjson.loads(raw)
        finally:
            await answer.close()
