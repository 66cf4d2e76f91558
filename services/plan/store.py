"""The plan service's tables: changes, notices and id counters, kept as JSON
documents in SQLite (each node agent owns its own database).

Writes are batched: the model marks changes and notices dirty from its hooks,
and a background task writes them in one transaction every FLUSH_INTERVAL.
`flush()` writes immediately; the servicer awaits it before acknowledging a
new change or notice, so nothing acknowledged is lost if the process is killed.
"""

from __future__ import annotations

import asyncio
import json
import logging

from services.common.storage import Migration, open_database

log = logging.getLogger("shoal.plan.store")

FLUSH_INTERVAL = 0.05

MIGRATIONS = [
    Migration(
        1,
        [
            "CREATE TABLE changes (id TEXT PRIMARY KEY, body TEXT NOT NULL)",
            "CREATE TABLE notices (id TEXT PRIMARY KEY, body TEXT NOT NULL)",
            "CREATE TABLE counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL)",
        ],
    )
]

_UPSERT = "INSERT INTO {table} (id, body) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET body = excluded.body"


class PlanStore:
    def __init__(self, db):
        self.db = db
        self._dirty: dict[tuple[str, str], object | None] = {}  # (table, id) -> doc or None (delete)
        self._counters: dict[str, int] = {}
        self._flusher: asyncio.Task | None = None
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()

    @classmethod
    async def open(cls, path: str) -> PlanStore:
        db = await open_database(path, "plan", MIGRATIONS)
        store = cls(db)
        store._flusher = asyncio.get_running_loop().create_task(store._run())
        return store

    async def load(self, table: str) -> list[dict]:
        rows = await self.db.fetch(f"SELECT body FROM {table}")
        return [json.loads(row["body"]) for row in rows]

    async def counters(self) -> dict[str, int]:
        rows = await self.db.fetch("SELECT name, value FROM counters")
        return {row["name"]: int(row["value"]) for row in rows}

    def put(self, table: str, key: str, doc: dict) -> None:
        self._dirty[(table, key)] = doc
        self._wake.set()

    def delete(self, table: str, key: str) -> None:
        self._dirty[(table, key)] = None
        self._wake.set()

    def set_counters(self, values: dict[str, int]) -> None:
        self._counters.update(values)
        self._wake.set()

    async def flush(self) -> None:
        async with self._lock:
            if not self._dirty and not self._counters:
                return
            dirty, self._dirty = self._dirty, {}
            counters, self._counters = self._counters, {}
            try:
                async with self.db.transaction() as tx:
                    for (table, key), doc in dirty.items():
                        if doc is None:
                            await tx.execute(f"DELETE FROM {table} WHERE id = $1", key)
                        else:
                            await tx.execute(_UPSERT.format(table=table), key, json.dumps(doc))
                    for name, value in counters.items():
                        await tx.execute(
                            "INSERT INTO counters (name, value) VALUES ($1, $2) "
                            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                            name,
                            value,
                        )
            except Exception:
                # Put them back so the next flush retries; newer entries win.
                for key, doc in dirty.items():
                    self._dirty.setdefault(key, doc)
                for name, value in counters.items():
                    self._counters.setdefault(name, value)
                raise

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(FLUSH_INTERVAL)
            try:
                await self.flush()
            except Exception:
                log.exception("writing plan state failed; will retry")

    async def close(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            try:
                await self._flusher
            except asyncio.CancelledError:
                pass
        await self.flush()
        await self.db.close()
