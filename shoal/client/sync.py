"""A thin synchronous wrapper for scripts: the async connection runs on an
event loop in a background thread; every call waits for its answer."""

from __future__ import annotations

import asyncio
import inspect
import threading
from typing import Self

from shoal.client import connection as _connection
from shoal.client.options import DialOpts, Info


class SyncConnection:
    def __init__(self, info: Info, opts: DialOpts | None = None, login=None):
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="shoal-client", daemon=True)
        self._thread.start()
        try:
            self._conn = self._run(_connection.open(info, opts, login))
        except BaseException:
            self._stop()
            raise

    def _run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def __getattr__(self, name: str):
        attribute = getattr(self._conn, name)
        if inspect.isasyncgenfunction(attribute):
            def collect(*args, **kwargs):
                async def gather():
                    return [item async for item in attribute(*args, **kwargs)]
                return self._run(gather())
            return collect
        if inspect.iscoroutinefunction(attribute):
            return lambda *args, **kwargs: self._run(attribute(*args, **kwargs))
        if callable(attribute) and name == "app_action":
            return lambda *args, **kwargs: self._run(_collect(attribute(*args, **kwargs)))
        return attribute

    def close(self) -> None:
        try:
            self._run(self._conn.close())
        finally:
            self._stop()

    def _stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


async def _collect(iterator):
    return [item async for item in iterator]


def connect(info: Info, opts: DialOpts | None = None, login=None) -> SyncConnection:
    return SyncConnection(info, opts, login)
