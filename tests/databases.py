"""A service database for store tests, on SQLite or on PostgreSQL (a fresh
schema, dropped afterwards; SHOAL_TEST_DATABASE_URL, or skipped with
SHOAL_SKIP_POSTGRES=1), as tests/unit/test_storage.py does."""

from __future__ import annotations

import contextlib
import os
import secrets

import asyncpg
import pytest

from services.common.storage import open_database

PG_URL = os.environ.get("SHOAL_TEST_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test"
BACKENDS = ["sqlite", "postgresql"]


@contextlib.asynccontextmanager
async def service_database(backend: str, tmp_path, service: str, migrations):
    if backend == "sqlite":
        db = await open_database(str(tmp_path / f"{service}.db"), service, migrations)
        try:
            yield db
        finally:
            await db.close()
        return
    if os.environ.get("SHOAL_SKIP_POSTGRES") == "1":
        pytest.skip("SHOAL_SKIP_POSTGRES=1")
    try:
        admin = await asyncpg.connect(PG_URL, timeout=5)
    except (OSError, TimeoutError, asyncpg.PostgresError) as err:
        pytest.fail(f"PostgreSQL at {PG_URL} is unreachable ({err!r}); set SHOAL_SKIP_POSTGRES=1 to skip")
    schema = f"t_{secrets.token_hex(6)}"
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        db = await open_database(PG_URL, service, migrations, schema=schema)
        try:
            yield db
        finally:
            await db.close()
    finally:
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()
