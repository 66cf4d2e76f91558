"""The exec and signal RPCs of the plan servicer: messages in, the node
agent's exec sessions and supervisor out."""

from __future__ import annotations

import asyncio

from services.common import errors
from services.plan.changes.model import ChangeWaitTimeout
from services.plan.execution import BINARY, TEXT
from services.plan.supervisor import SignalError
from shoal.v1 import plan_pb2

FINISHING_WAIT = 10.0  # seconds an exec's change may take to be ready once its command is gone


def _optional(message, name: str):
    return getattr(message, name) if message.HasField(name) else None


class ExecRPC:
    async def Exec(self, request, context):
        change, task_id, spec = self.daemon.exec(
            list(request.command), service_context=request.service_context,
            environment=dict(request.environment), working_dir=request.working_dir,
            timeout=request.timeout, user_id=_optional(request, "user_id"), user=request.user,
            group_id=_optional(request, "group_id"), group=request.group, terminal=request.terminal,
            interactive=request.interactive, split_stderr=request.split_stderr,
            width=request.width, height=request.height)
        await self.daemon.flush()
        return plan_pb2.ExecResponse(change=change.id, task_id=task_id, environment=spec.environment,
                                     working_dir=spec.working_dir)

    async def ExecIO(self, request_iterator, context):
        """One websocket of an exec task. The first frame names it; the first
        answer (an empty frame) says it is connected."""
        frames = request_iterator.__aiter__()
        try:
            first = await frames.__anext__()
        except StopAsyncIteration:
            return
        found = self.daemon.changes.get_task(first.task_id)
        if found is None:
            raise errors.DomainError(f'cannot find task "{first.task_id}"', errors.Failure.NOT_FOUND)
        task, change = found
        if task.kind != "exec":
            raise errors.invalid(f'"{task.kind}" tasks do not have websockets')
        if task.id not in self.daemon.execs.sessions:
            # Its command has finished (or is finishing): as Pebble, wait for the
            # change, then answer its error, or nothing at all (the stream ends
            # unconnected, which the gateway answers with an empty 200).
            try:
                await self.daemon.changes.wait(change.id, FINISHING_WAIT)
            except ChangeWaitTimeout:
                raise errors.internal(f"exec {task.id}: its command is gone but its change is not ready") from None
            if change.err:
                raise errors.internal(change.err)
            return
        channel = self.daemon.execs.attach(first.task_id, first.websocket_id)

        async def feed():
            try:
                async for frame in frames:
                    kind = frame.WhichOneof("payload")
                    if kind == "binary":
                        await channel.inbound.put((BINARY, frame.binary))
                    elif kind == "text":
                        await channel.inbound.put((TEXT, frame.text))
            finally:
                channel.end_input()

        feeder = asyncio.ensure_future(feed())
        try:
            yield plan_pb2.ExecFrame(task_id=first.task_id, websocket_id=first.websocket_id)
            while (item := await channel.outbound.get()) is not None:
                kind, payload = item
                yield plan_pb2.ExecFrame(binary=payload) if kind == BINARY else plan_pb2.ExecFrame(text=payload)
        finally:
            feeder.cancel()
            channel.detach()

    async def SendSignal(self, request, context):
        if not request.services:
            raise errors.invalid("must specify one or more services")
        failures = []
        for name in request.services:
            try:
                await self.daemon.supervisor.send_signal(name, request.signal)
            except SignalError as error:
                failures.append(error.message)
        if failures:
            raise errors.internal("; ".join(failures))
        return plan_pb2.Done(ok=True)
