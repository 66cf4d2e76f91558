"""What the gateway's views hold, kept here: the answers of the view-served
RPCs (those with the `view` option) to the requests the views hold, each
computed by the servicer's own method, so a view answers exactly what the
RPC answers.

A revision names the state those answers show. It only grows, across
restarts too: it starts at the service's start time in microseconds and
goes up by one for each change of the answers. Any change of the node
agent's state (a change or task saved, a service's status, a check's
attempt) marks the answers stale; they are computed again on the next turn
of the event loop, or before an RPC is answered, so every answer of this
service carries (in the trailing metadata `shoal-revision`) a revision at
least as new as the state it showed or made. A read the gateway answers
from a view after that answer waits until its view has that revision.

`Watch` streams a snapshot of every entry, then after each new revision the
entries that changed since what that watcher was sent (a slow watcher gets
one update with all it missed, never a queue)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable

from google.protobuf import json_format
from google.protobuf.message import Message

from services.common.errors import DomainError
from shoal.descriptors import Method, service_methods
from shoal.v1 import plan_pb2

log = logging.getLogger("shoal.plan")

REVISION_KEY = "shoal-revision"

Key = tuple[str, bytes]  # (RPC path, serialized request)


def _request(method: Method, query: str):
    """The request message of an HTTP query ("select=all") of a view route."""
    fields: dict[str, object] = {}
    for part in filter(None, query.split("&")):
        name, _, value = part.partition("=")
        field = method.request_class.DESCRIPTOR.fields_by_name.get(name)
        if field is not None and field.is_repeated:
            fields.setdefault(name, []).append(value)  # type: ignore[union-attr]
        else:
            fields[name] = value
    return json_format.ParseDict(fields, method.request_class())


def held_requests(service: str) -> list[tuple[Method, object]]:
    """(method, request) of the answers the views of `service` always hold
    (a route with path parameters holds those its servicer lists; a filtered
    route, its one entry of every item under the empty request)."""
    held = []
    for method in service_methods(service):
        if method.view is not None and not method.path_params:
            for query in ("", *method.view.queries):
                held.append((method, _request(method, query)))
    return held


def _key(method: Method, request) -> Key:
    return method.full_path, request.SerializeToString(deterministic=True)


class ReadModels:
    """The view answers of `servicer`; `listed(method)` gives the requests
    held for a view route with path parameters (every change's id)."""

    def __init__(self, servicer, service: str = "plan", clock: Callable[[], int] = time.time_ns,
                 listed: Callable[[Method], list] = lambda method: [],
                 whole: Callable[[Method], Message] | None = None):
        held = held_requests(service)
        self._listed = [m for m in service_methods(service) if m.view is not None and m.path_params]
        self._list = listed
        # The servicer's own methods, before stamp_revisions wraps them; a
        # filtered view's entry is every item (`whole`), whoever asks.
        self._answers = {m.name: getattr(servicer, m.name) for m in service_methods(service)
                         if m.view is not None and not m.view.filter}
        self._whole = whole
        self._held = [(m, r, _key(m, r)) for m, r in held]
        self.revision = clock() // 1000
        self._entries: dict[Key, bytes] = {}
        self._dirty = True
        self._scheduled = False
        self._lock = asyncio.Lock()
        self._bumped = asyncio.Event()
        self.watchers = 0

    def mark(self) -> None:
        """The state may have changed: settle on the next turn of the loop."""
        self._dirty = True
        if self.watchers and not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._settle_soon)

    def _settle_soon(self) -> None:
        self._scheduled = False
        task = asyncio.get_running_loop().create_task(self.settle())
        task.add_done_callback(_log_failure)

    async def settle(self) -> int:
        """The revision of the current state (a new one if the answers changed)."""
        async with self._lock:
            if not self._dirty:
                return self.revision
            self._dirty = False
            if not self.watchers:
                self._entries.clear()  # computed again for the next watcher
                self._bump()
                return self.revision
            fresh = {}
            held = self._held + [(m, r, _key(m, r)) for m in self._listed for r in self._list(m)]
            for method, request, key in held:
                try:
                    if method.view.filter:
                        if self._whole is None:
                            continue
                        answer = self._whole(method)
                    else:
                        answer = await self._answers[method.name](request, None)
                except DomainError:
                    continue  # not held: the RPC answers the refusal
                except Exception:
                    log.exception("view answer of %s not computed; the RPC answers it", method.name)
                    continue
                fresh[key] = answer.SerializeToString(deterministic=True)
            if fresh != self._entries:
                self._entries = fresh
                self._bump()
            return self.revision

    def _bump(self) -> None:
        self.revision += 1
        self._bumped.set()
        self._bumped = asyncio.Event()

    def _update(self, entries: dict[Key, bytes], snapshot: bool, removed=()) -> plan_pb2.WatchUpdate:
        return plan_pb2.WatchUpdate(revision=self.revision, snapshot=snapshot, entries=[
            *(plan_pb2.ViewEntry(method=path, request=request, response=response)
              for (path, request), response in entries.items()),
            *(plan_pb2.ViewEntry(method=path, request=request, removed=True) for path, request in removed),
        ])

    async def watch(self) -> AsyncIterator[plan_pb2.WatchUpdate]:
        self.watchers += 1
        try:
            self._dirty = True
            await self.settle()
            sent, sent_revision = dict(self._entries), self.revision
            yield self._update(sent, snapshot=True)
            while True:
                if self.revision == sent_revision:
                    await self._bumped.wait()
                sent_revision = self.revision
                current = self._entries
                changed = {key: value for key, value in current.items() if sent.get(key) != value}
                removed = [key for key in sent if key not in current]
                sent = dict(current)
                if changed or removed:
                    yield self._update(changed, snapshot=False, removed=removed)
        finally:
            self.watchers -= 1


def _log_failure(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("view answers not computed: %s", task.exception())


def stamp_revisions(servicer, models: ReadModels, service: str = "plan") -> None:
    """Every unary RPC of `servicer` answers with the revision it showed or
    made in its trailing metadata; one that is not a GET (a write) marks the
    state changed first."""
    for method in service_methods(service):
        if method.client_streaming or method.server_streaming:
            continue
        handler = getattr(servicer, method.name, None)
        if handler is None:
            continue
        setattr(servicer, method.name, _stamped(handler, models, method.http_method != "GET"))


def _stamped(handler, models: ReadModels, writes: bool):
    async def call(request, context):
        answer = await handler(request, context)
        if writes:
            models.mark()
        revision = await models.settle()
        if context is not None:
            context.set_trailing_metadata(((REVISION_KEY, str(revision)),))
        return answer

    return call
