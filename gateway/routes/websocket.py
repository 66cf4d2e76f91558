"""GET /v1/tasks/{task-id}/websocket/{websocket-id}: one websocket of an exec
task, carried as one ExecIO bidi stream (spec §2.9).

The stream is opened and the plan service asked to connect it *before* the
upgrade, so an unknown task or websocket answers Pebble's error instead of a
websocket that closes at once; a stream the service ends before accepting
(an exec task whose command has finished) is Pebble's empty 200. After that,
frames pass through unchanged: binary frames are data, text frames are JSON
commands.
"""

from __future__ import annotations

import asyncio

import grpc
from aiohttp import WSMsgType, web

from gateway.routes.context import Handler, RouteContext
from gateway.shaping import REFUSALS, failure_response
from shoal.descriptors import Method
from shoal.v1 import plan_pb2

CLOSE_WAIT = 1.0  # how long a closing websocket waits for the client's close frame


def pebble_websocket(ctx: RouteContext, methods: list[Method]) -> Handler:
    method = methods[0]

    async def handle(request: web.Request) -> web.StreamResponse:
        call = None
        try:
            caller = await ctx.gate.authorize(request, method)
            call = ctx.calls.callable(method)(metadata=ctx.calls.metadata(caller))
            await call.write(plan_pb2.ExecFrame(task_id=request.match_info["task_id"],
                                                websocket_id=request.match_info["websocket_id"]))
            accepted = await call.read()
            if accepted is grpc.aio.EOF:
                # The task has no websocket left to connect (its command has
                # finished): Pebble then answers 200 with nothing, no upgrade.
                call.cancel()
                return web.Response(status=200)
        except REFUSALS as err:
            if call is not None:
                call.cancel()
            return failure_response(method, err)
        ws = web.WebSocketResponse(timeout=CLOSE_WAIT, max_msg_size=16 * 1024 * 1024)
        try:
            await ws.prepare(request)
        except BaseException:
            call.cancel()
            raise

        async def upstream() -> None:
            try:
                async for message in ws:
                    if message.type == WSMsgType.BINARY:
                        await call.write(plan_pb2.ExecFrame(binary=message.data))
                    elif message.type == WSMsgType.TEXT:
                        await call.write(plan_pb2.ExecFrame(text=message.data))
                await call.done_writing()
            except (grpc.aio.AioRpcError, asyncio.InvalidStateError):
                pass  # the command has finished with this stream

        client = asyncio.ensure_future(upstream())
        try:
            while (frame := await call.read()) is not grpc.aio.EOF:
                if frame.WhichOneof("payload") == "binary":
                    await ws.send_bytes(frame.binary)
                elif frame.WhichOneof("payload") == "text":
                    await ws.send_str(frame.text)
        except (grpc.aio.AioRpcError, ConnectionResetError):
            pass
        finally:
            client.cancel()
            await asyncio.gather(client, return_exceptions=True)
            call.cancel()
            if not ws.closed:
                await ws.close()
        return ws

    return handle
