"""The gateway's views: hot reads answered without an RPC per request.

A service whose RPCs carry the `view` option streams (its `Watch` RPC,
opened as the gateway's signed service identity) the answers of those RPCs
to the requests a view holds: a snapshot, then the entries that changed,
each update with a revision that only grows (services/plan/watch.py). This
gateway worker keeps the latest in a `View`, and the route's handler
(gateway/routes/view.py) answers from it, the encoded answer kept per entry
until the entry changes.

- Read your writes, across workers: every answer of the service carries the
  revision it showed or made (trailing metadata `shoal-revision`). Each
  worker records the newest revision it has seen in `SharedRevision`, an
  8-byte file in `$SHOAL_HOME/run/` that every worker of this gateway maps
  (a worker only ever raises it, under a file lock; reading it is a load
  from memory, no lock, no system call). A view answers only once it has
  reached that revision: a read waits for it (at most `CATCH_UP`), then goes
  to the RPC. So whichever worker a read lands on, it never shows a state
  older than one an earlier answer showed or made, with no sticky
  connection. The revision of each view update is recorded too, so views
  of different workers never answer older than one another did.
- A broken stream: the view stops answering at once (every read goes to
  the RPC, which answers or fails fast), and it reconnects with a backoff;
  it answers again after the new snapshot. The revisions grow across a
  restart of the service, so a view is never served stale after it.

Several gateway replicas on different machines share no file, so there a
read follows a write only on the replica that served it.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import mmap
import os
import struct
from pathlib import Path

import grpc
from google.protobuf.message import Message

from gateway.calls import ServiceCalls, call_object
from gateway.view_metrics import CATCH_UPS
from shoal.descriptors import Method, all_methods, methods_by_path

log = logging.getLogger("shoal.gateway.views")

REVISION_KEY = "shoal-revision"
CATCH_UP = 1.0  # seconds a read waits for its view to reach the newest revision, then asks the RPC
RETRY_FIRST, RETRY_MAX = 0.1, 2.0  # reconnecting a broken stream: backoff, doubling

Key = tuple[str, bytes]  # (RPC path, serialized request)
_REVISION = struct.Struct("<Q")


class SharedRevision:
    """The newest revision the workers of this gateway have seen, shared
    through an 8-byte file mapped by each."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        if os.fstat(self._fd).st_size < _REVISION.size:
            with self._locked():
                if os.fstat(self._fd).st_size < _REVISION.size:
                    os.ftruncate(self._fd, _REVISION.size)
        self._map = mmap.mmap(self._fd, _REVISION.size)
        self._raised = 0  # the highest this worker wrote (or read) already

    @contextlib.contextmanager
    def _locked(self):
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def read(self) -> int:
        return _REVISION.unpack_from(self._map)[0]

    def seen(self, revision: int) -> None:
        if revision <= self._raised:
            return
        with self._locked():
            current = self.read()
            if revision > current:
                _REVISION.pack_into(self._map, 0, revision)
            self._raised = max(revision, current)

    def close(self) -> None:
        self._map.close()
        os.close(self._fd)


class View:
    """One service's view in this worker."""

    def __init__(self, calls: ServiceCalls, watch: Method, shared: SharedRevision):
        self._calls = calls
        self._watch = watch
        self.shared = shared
        self.entries: dict[Key, Message] = {}
        self.bodies: dict[Key, tuple[int, bytes]] = {}  # encoded answers (status, body), per entry
        self.revision = 0
        self.live = False
        self._updated = asyncio.Event()
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._follow())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _follow(self) -> None:
        delay = RETRY_FIRST
        while True:
            stream = call_object(self._calls.channel(self._watch.service), self._watch)(
                self._watch.request_class(), metadata=self._calls.as_service())
            try:
                async for update in stream:
                    self._apply(update)
                    delay = RETRY_FIRST
            except grpc.aio.AioRpcError as error:
                if self.live or delay == RETRY_FIRST:
                    log.info("%s view: stream ended (%s); answering through the RPC until it is back",
                             self._watch.service, error.code().name)
            finally:
                stream.cancel()
                self._broken()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX)

    def _apply(self, update) -> None:
        if update.snapshot:
            self.entries.clear()
            self.bodies.clear()
        for entry in update.entries:
            method = methods_by_path().get(entry.method)
            if method is None:
                continue
            key = (entry.method, entry.request)
            self.bodies.pop(key, None)
            if entry.removed:
                self.entries.pop(key, None)
            else:
                self.entries[key] = method.response_class.FromString(entry.response)
        self.revision = update.revision
        self.live = True
        self.shared.seen(update.revision)
        self._wake()

    def _broken(self) -> None:
        self.live = False
        self.entries.clear()
        self.bodies.clear()
        self._wake()

    def _wake(self) -> None:
        self._updated.set()
        self._updated = asyncio.Event()

    def current_now(self) -> bool:
        """Whether the view may answer now, without waiting: it is live and
        has reached the newest revision any worker has seen."""
        return self.live and self.revision >= self.shared.read()

    async def current(self) -> bool:
        """Whether the view may answer now: it is live and has reached the
        newest revision any worker has seen (waiting for it, bounded)."""
        if not self.live:
            return False
        wanted = self.shared.read()
        if self.revision >= wanted:
            return True
        try:
            async with asyncio.timeout(CATCH_UP):
                while self.live and self.revision < wanted:
                    await self._updated.wait()
        except TimeoutError:
            CATCH_UPS.labels(self._watch.service, "timed-out").inc()
            return False
        CATCH_UPS.labels(self._watch.service, "caught-up").inc()
        return self.live


class Views:
    """The views of this worker, one per service with view-served RPCs."""

    def __init__(self, calls: ServiceCalls, home: Path):
        self.shared = SharedRevision(home / "run" / "gateway-revision")
        watches = {m.service: m for m in all_methods() if m.name == "Watch" and m.server_streaming}
        served = {m.service for m in all_methods() if m.view is not None}
        self.by_service = {s: View(calls, watches[s], self.shared) for s in sorted(served) if s in watches}

    def view_of(self, method: Method) -> View | None:
        return self.by_service.get(method.service)

    def observe(self, method: Method, trailing) -> None:
        """Record the revision an answer of `method`'s service carried."""
        if method.service not in self.by_service or not trailing:
            return
        for key, value in trailing:
            if key == REVISION_KEY:
                with contextlib.suppress(ValueError):
                    self.shared.seen(int(value))

    def start(self) -> None:
        for view in self.by_service.values():
            view.start()

    async def stop(self) -> None:
        for view in self.by_service.values():
            await view.stop()
        self.shared.close()
