"""Every API the gateway serves, as typed calls over a Transport (a
Connection is one)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import IO, Any
from urllib.parse import quote

import orjson

from shoal.client import exec as _exec
from shoal.client import files as _files
from shoal.client.errors import APIError, ChangeError, TimeoutError
from shoal.client.records import (
    Application,
    AuditEvent,
    Beacon,
    Change,
    Check,
    Deployment,
    FileInfo,
    Identity,
    Instance,
    InstanceStatus,
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


INSTANCE_PREFIX = "/api/v0.2/d/"


class InstanceTransport:
    """A Transport that sends every `/v1` call to one instance through the
    gateway's proxy, `/api/v0.2/d/{host}/v1/...` (an instance address or
    alias); other paths go to the gateway itself."""

    def __init__(self, transport: Transport, host: str):
        self._transport = transport
        self.host = host
        self.prefix = INSTANCE_PREFIX + quote(host, safe="")

    def _path(self, path: str) -> str:
        return self.prefix + path if path.startswith("/v1/") else path

    async def request(self, method: str, path: str, **kwargs):
        return await self._transport.request(method, self._path(path), **kwargs)

    async def websocket(self, path: str):
        return await self._transport.websocket(self._path(path))


class Api:
    """The typed calls. Everything goes through `transport.request`, so every
    call (streams too) gets the login's headers, re-login and redirects."""

    def __init__(self, transport: Transport):
        self._transport = transport
        self.latest_warning = ""  # the newest `latest-warning` a Pebble envelope carried

    def instance(self, host: str) -> Api:
        """The same calls, their `/v1` routes answered by instance `host`
        (an address or alias) through the gateway's instance proxy."""
        return Api(InstanceTransport(self._transport, host))

    def _note(self, body):
        if isinstance(body, dict) and isinstance(body.get("latest-warning"), str):
            self.latest_warning = max(self.latest_warning, body["latest-warning"])
        return body

    async def get_json(self, path: str, params=None, timeout: float | None = None):
        return self._note((await self._transport.request("GET", path, params=params, timeout=timeout)).json())

    async def post_json(self, path: str, body, timeout: float | None = None):
        return self._note((await self._transport.request("POST", path, json=body, timeout=timeout)).json())

    # -- Pebble ---------------------------------------------------------------
    async def system_info(self) -> SystemInfo:
        return SystemInfo.from_dict(_result(await self.get_json("/v1/system-info")))

    async def health(self, level: str = "", names: list[str] | None = None) -> bool:
        params = {**({"level": level} if level else {}), **({"names": ",".join(names)} if names else {})}
        try:
            body = await self.get_json("/v1/health", params or None)
        except APIError as error:
            body = error.body  # unhealthy is Pebble's sync envelope with 502; any other error: not healthy
        result = _result(body) if isinstance(body, dict) else None
        return bool(isinstance(result, dict) and result.get("healthy"))

    async def services(self, names: list[str] | None = None) -> list[Service]:
        params = {"names": ",".join(names)} if names else None
        return [Service.from_dict(s) for s in _result(await self.get_json("/v1/services", params)) or []]

    async def services_action(self, action: str, services: list[str] | None = None) -> str:
        return (await self.post_json("/v1/services", {"action": action, "services": services or []}))["change"]

    async def plan(self) -> str:
        return _result(await self.get_json("/v1/plan", {"format": "yaml"}))

    async def add_layer(self, label: str, layer: str, combine: bool = False, inner: bool = False) -> None:
        await self.post_json("/v1/layers", {"action": "add", "label": label, "format": "yaml", "layer": layer,
                                            "combine": combine, **({"inner": True} if inner else {})})

    async def changes(self, select: str = "in-progress", service: str = "") -> list[Change]:
        params = {"select": select, **({"for": service} if service else {})}
        return [Change.from_dict(c) for c in _result(await self.get_json("/v1/changes", params)) or []]

    async def change(self, change_id: str) -> Change:
        return Change.from_dict(_result(await self.get_json(f"/v1/changes/{change_id}")))

    async def abort_change(self, change_id: str) -> Change:
        return Change.from_dict(_result(await self.post_json(f"/v1/changes/{change_id}", {"action": "abort"})))

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
        answer = await self.post_json("/v1/checks", {"action": action, "checks": checks})
        return (_result(answer) or {}).get("changed") or []

    async def notices(self, types: list[str] | None = None, keys: list[str] | None = None, *,
                      user_id: int | None = None, users: str = "", after: str = "",
                      timeout: float = 0) -> list[Notice]:
        """Notices matching the filters; with `timeout`, wait up to that many
        seconds for at least one (Pebble's long-poll)."""
        params = {**({"types": ",".join(types)} if types else {}), **({"keys": ",".join(keys)} if keys else {}),
                  **({"user-id": str(user_id)} if user_id is not None else {}),
                  **({"users": users} if users else {}), **({"after": after} if after else {}),
                  **({"timeout": f"{timeout:.3f}s"} if timeout else {})}
        body = await self.get_json("/v1/notices", params or None, timeout=timeout + 10 if timeout else None)
        return [Notice.from_dict(n) for n in _result(body) or []]

    async def notice(self, notice_id: str) -> Notice:
        return Notice.from_dict(_result(await self.get_json(f"/v1/notices/{quote(notice_id, safe='')}")))

    async def notify(self, key: str, data: dict | None = None, repeat_after: str = "") -> str:
        body = {"action": "add", "type": "custom", "key": key, **({"repeat-after": repeat_after} if repeat_after else {}),
                **({"data": data} if data else {})}
        return _result(await self.post_json("/v1/notices", body))["id"]

    async def send_signal(self, signal: str, services: list[str]) -> None:
        """Send `signal` ("SIGHUP") to each named running service."""
        await self.post_json("/v1/signals", {"signal": signal, "services": services})

    async def refresh_check(self, name: str) -> dict:
        """Run check `name` now: `{"info": check, "error"?: text}`."""
        return _result(await self.post_json("/v1/checks/refresh", {"name": name})) or {}

    # -- files --------------------------------------------------------------------
    async def list_files(self, path: str, pattern: str = "", itself: bool = False) -> list[FileInfo]:
        params = {"action": "list", "path": path, **({"pattern": pattern} if pattern else {}),
                  **({"itself": "true"} if itself else {})}
        return [FileInfo.from_dict(f) for f in _result(await self.get_json("/v1/files", params)) or []]

    async def make_dir(self, path: str, make_parents: bool = False, permissions: str = "", *,
                       user_id: int | None = None, user: str = "", group_id: int | None = None,
                       group: str = "") -> None:
        item = {"path": path, **({"make-parents": True} if make_parents else {}),
                **({"permissions": permissions} if permissions else {}),
                **_files.owner_fields(user_id, user, group_id, group)}
        body = await self.post_json("/v1/files", {"action": "make-dirs", "dirs": [item]})
        _files.raise_path_error(_result(body), path)

    async def remove_path(self, path: str, recursive: bool = False) -> None:
        item = {"path": path, **({"recursive": True} if recursive else {})}
        body = await self.post_json("/v1/files", {"action": "remove", "paths": [item]})
        _files.raise_path_error(_result(body), path)

    async def push(self, path: str, source: bytes | IO[bytes], *, make_dirs: bool = False, permissions: str = "",
                   user_id: int | None = None, user: str = "", group_id: int | None = None,
                   group: str = "") -> None:
        """Write `source` (bytes or a binary file, streamed) to `path`."""
        item = {"path": path, **({"make-dirs": True} if make_dirs else {}),
                **({"permissions": permissions} if permissions else {}),
                **_files.owner_fields(user_id, user, group_id, group)}
        content_type, body = _files.push_body(path, source, {"action": "write", "files": [item]})
        answer = await self._transport.request("POST", "/v1/files", data=body,
                                               headers={"Content-Type": content_type}, timeout=3600)
        _files.raise_path_error(_result(self._note(answer.json())), path)

    async def pull(self, path: str, target: IO[bytes]) -> None:
        """Write the file at `path` into `target` as it arrives."""
        answer = await self._transport.request("GET", "/v1/files", params={"action": "read", "path": path},
                                               headers={"Accept": "multipart/form-data"}, stream=True)
        try:
            await _files.pull_into(answer, path, target)
        finally:
            await answer.close()

    # -- exec ---------------------------------------------------------------------
    async def exec(self, command: list[str], *, stdin=None, stdout: _exec.Output | None = None,
                   stderr: _exec.Output | None = None, split_stderr: bool | None = None, timeout: float = 0,
                   **options) -> _exec.ExecProcess:
        """Start `command`; its output goes to `stdout` (and `stderr` when
        split: by default when `stderr` is given). `stdin` is bytes or an
        async iterable of bytes. Options: service_context, environment,
        working_dir, user_id, user, group_id, group, terminal, interactive,
        width, height. `await process.wait()` gives the exit code."""
        split = stderr is not None if split_stderr is None else split_stderr
        payload = _exec.exec_payload(command, timeout=f"{timeout:.3f}s" if timeout else "", split_stderr=split,
                                     **options)
        return await _exec.start(self, self._transport, payload, timeout, stdin, stdout, stderr)

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
        await self.post_json("/v1/identities", {"action": action, "identities": identities})

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

    async def app_status(self, app: str) -> list[InstanceStatus]:
        """Per instance: its service's state, checks and deployment (unreachable ones say so)."""
        return [InstanceStatus.from_dict(i) for i in await self.get_json(f"/api/v0.2/applications/status/{app}") or []]

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
