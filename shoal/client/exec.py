"""Pebble's exec protocol from the client side (spec §2.9): `POST /v1/exec`
starts an `exec` change, then the task's `control`, `stdio` and (when stderr
is split) `stderr` websockets carry the command's input, output and
control messages. Output is binary frames; a text frame
`{"command":"end"}` ends a stream, in both directions."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import AsyncIterable, Awaitable, Callable
from typing import Any

import aiohttp
import orjson

from shoal.client.errors import ChangeError, ShoalError

Output = Callable[[bytes], Awaitable[None] | None]
END = orjson.dumps({"command": "end"}).decode()


def exec_payload(command: list[str], *, service_context: str = "", environment: dict[str, str] | None = None,
                 working_dir: str = "", timeout: str = "", user_id: int | None = None, user: str = "",
                 group_id: int | None = None, group: str = "", terminal: bool = False,
                 interactive: bool = False, split_stderr: bool = False, width: int = 0,
                 height: int = 0) -> dict[str, Any]:
    """The body of `POST /v1/exec`, unset fields left out (as Pebble's client sends it)."""
    payload: dict[str, Any] = {"command": command}
    optional = {"service-context": service_context, "environment": environment, "working-dir": working_dir,
                "timeout": timeout, "user": user, "group": group, "terminal": terminal,
                "interactive": interactive, "split-stderr": split_stderr, "width": width, "height": height}
    payload.update({key: value for key, value in optional.items() if value})
    if user_id is not None:
        payload["user-id"] = user_id
    if group_id is not None:
        payload["group-id"] = group_id
    return payload


async def _emit(write: Output | None, data: bytes) -> None:
    if write is None:
        return
    result = write(data)
    if inspect.isawaitable(result):
        await result


async def _receive(ws, write: Output | None) -> None:
    """Output frames into `write` until the end message or the socket closes."""
    async for message in ws:
        if message.type == aiohttp.WSMsgType.BINARY:
            await _emit(write, message.data)
        elif message.type == aiohttp.WSMsgType.TEXT:
            with contextlib.suppress(ValueError):
                if orjson.loads(message.data).get("command") == "end":
                    return
        elif message.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSE):
            return


async def _send(ws, stdin: bytes | AsyncIterable[bytes] | None) -> None:
    """`stdin` as binary frames, then the end message."""
    try:
        if isinstance(stdin, (bytes, bytearray)):
            if stdin:
                await ws.send_bytes(bytes(stdin))
        elif stdin is not None:
            async for chunk in stdin:
                if chunk:
                    await ws.send_bytes(chunk)
        await ws.send_str(END)
    except (ConnectionError, aiohttp.ClientError, RuntimeError):
        pass  # the command has finished with its input


class ExecProcess:
    """A started command: its change and task, the control messages
    (signals, terminal size), and `wait()` for its exit code."""

    def __init__(self, api, change_id: str, task_id: str, timeout: float, control, stdio, stderr,
                 pumps: list[asyncio.Task], outputs: list[asyncio.Task]):
        self._api = api
        self.change_id = change_id
        self.task_id = task_id
        self.timeout = timeout
        self._control, self._stdio, self._stderr = control, stdio, stderr
        self._pumps = pumps
        self._outputs = outputs

    async def send_signal(self, name: str) -> None:
        """Send signal `name` ("SIGINT") to the command."""
        await self._control.send_str(orjson.dumps({"command": "signal", "signal": {"name": name}}).decode())

    async def send_resize(self, width: int, height: int) -> None:
        """Tell the command's terminal its new size."""
        await self._control.send_str(orjson.dumps({"command": "resize",
                                                   "resize": {"width": width, "height": height}}).decode())

    async def output_done(self) -> None:
        """Wait until the command's output has ended."""
        await asyncio.gather(*self._outputs, return_exceptions=True)

    async def wait(self) -> int:
        """The command's exit code, once it has exited and its output has
        ended; ChangeError when the change failed (a timeout, say)."""
        try:
            change = await self._api.wait_change(self.change_id, timeout=self.timeout + 1 if self.timeout else 0)
        except ChangeError:
            await self.close()
            raise
        except ShoalError as error:
            await self.close()
            raise ShoalError(f"cannot wait for command to finish: {error}") from None
        await self.output_done()
        await self.close()
        if not change.tasks:
            raise ShoalError("expected exec change to contain at least one task")
        code = (change.tasks[0].data or {}).get("exit-code")
        if not isinstance(code, int):
            raise ShoalError("cannot get exit code: no exit-code in the task's data")
        return code

    async def close(self) -> None:
        for task in self._pumps:
            task.cancel()
        await asyncio.gather(*self._pumps, return_exceptions=True)
        for ws in (self._stdio, self._stderr, self._control):
            if ws is not None and not ws.closed:
                with contextlib.suppress(Exception):
                    await ws.close()


async def start(api, transport, payload: dict[str, Any], timeout: float, stdin, stdout: Output | None,
                stderr: Output | None) -> ExecProcess:
    """POST /v1/exec, then connect control, stdio and (if split) stderr."""
    answer = (await transport.request("POST", "/v1/exec", json=payload)).json()
    change_id, task_id = answer["change"], answer["result"]["task-id"]
    base = f"/v1/tasks/{task_id}/websocket/"
    sockets = []
    try:
        control = await transport.websocket(base + "control")
        sockets.append(control)
        stdio = await transport.websocket(base + "stdio")
        sockets.append(stdio)
        err_ws = None
        if payload.get("split-stderr"):
            err_ws = await transport.websocket(base + "stderr")
            sockets.append(err_ws)
    except BaseException:
        for ws in sockets:
            with contextlib.suppress(Exception):
                await ws.close()
        raise
    loop = asyncio.get_running_loop()
    outputs = [loop.create_task(_receive(stdio, stdout))]
    if err_ws is not None:
        outputs.append(loop.create_task(_receive(err_ws, stderr)))
    pumps = [loop.create_task(_send(stdio, stdin)), loop.create_task(_receive(control, None)), *outputs]
    return ExecProcess(api, change_id, task_id, timeout, control, stdio, err_ws, pumps, outputs)
