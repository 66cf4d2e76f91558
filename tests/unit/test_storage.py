"""services.common.storage: the same tests on SQLite and on PostgreSQL.

PostgreSQL: SHOAL_TEST_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/test.
Each test gets a fresh schema (`open_database(schema=...)` sets search_path),
dropped afterwards. If PostgreSQL is unreachable its tests fail, unless
SHOAL_SKIP_POSTGRES=1.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import pytest

from services.common.storage import (
    Database,
    DatabaseFileError,
    ForeignKeyViolation,
    Migration,
    SchemaTooNewError,
    StorageError,
    TransactionAborted,
    UniqueViolation,
    is_postgres_url,
    open_database,
)
from services.common.storage.placeholders import to_sqlite

ROOT = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("SHOAL_TEST_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test"

M1 = Migration(
    1,
    [
        (
            "CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT NOT NULL, age BIGINT, "
            "admin BOOLEAN NOT NULL DEFAULT FALSE, score DOUBLE PRECISION, avatar BYTEA)"
        ),
        "CREATE UNIQUE INDEX users_name ON users (name)",
    ],
)
M2 = Migration(
    2,
    [
        (
            "CREATE TABLE tokens (id TEXT PRIMARY KEY, "
            "user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE, scope TEXT NOT NULL)"
        ),
        "ALTER TABLE users ADD COLUMN email TEXT",
    ],
)
COUNTERS = Migration(3, ["CREATE TABLE counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL)"])
SCHEMA = [M1, M2, COUNTERS]

# A statement that takes a little while on both backends (widens race windows).
SLOW = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {n}) "
    "SELECT COUNT(*) FROM c"
)


@dataclass
class Backend:
    """Where a test's databases live; every database it opens is closed after the test."""

    name: str
    url: str
    schema: str | None = None
    opened: list[Database] = field(default_factory=list)

    async def open(self, migrations=SCHEMA, service: str = "svc", **kw) -> Database:
        db = await open_database(self.url, service, migrations, schema=self.schema, **kw)
        self.opened.append(db)
        return db


async def _pg_admin() -> asyncpg.Connection:
    try:
        return await asyncpg.connect(PG_URL, timeout=5)
    except (OSError, TimeoutError, asyncpg.PostgresError) as err:
        pytest.fail(
            f"PostgreSQL at {PG_URL} is unreachable ({err!r}); start it, point "
            f"SHOAL_TEST_DATABASE_URL at one, or set SHOAL_SKIP_POSTGRES=1 to skip",
            pytrace=False,
        )


@pytest.fixture(params=["sqlite", "postgresql"])
async def backend(request, tmp_path):
    if request.param == "sqlite":
        b = Backend("sqlite", str(tmp_path / "svc.db"))
        yield b
        for db in b.opened:
            await db.close()
        return
    if os.environ.get("SHOAL_SKIP_POSTGRES") == "1":
        pytest.skip("SHOAL_SKIP_POSTGRES=1")
    admin = await _pg_admin()
    schema = f"t_{secrets.token_hex(6)}"
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    b = Backend("postgresql", PG_URL, schema)
    try:
        yield b
    finally:
        for db in b.opened:
            await db.close()
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()


async def _add_user(db, uid: str, name: str, **cols) -> int:
    return await db.execute(
        "INSERT INTO users (id, name, age, admin) VALUES ($1, $2, $3, $4)",
        uid,
        name,
        cols.get("age", 30),
        cols.get("admin", False),
    )


# ---- queries ---------------------------------------------------------------


async def test_crud(backend):
    db = await backend.open()
    assert db.backend == backend.name
    assert await _add_user(db, "u1", "ada", age=36, admin=True) == 1
    assert await _add_user(db, "u2", "bob") == 1

    rows = await db.fetch("SELECT id, name, age, admin FROM users ORDER BY id")
    assert rows == [
        {"id": "u1", "name": "ada", "age": 36, "admin": True},
        {"id": "u2", "name": "bob", "age": 30, "admin": False},
    ]
    assert await db.fetchrow("SELECT name FROM users WHERE id = $1", "u2") == {"name": "bob"}
    assert await db.fetchrow("SELECT name FROM users WHERE id = $1", "nobody") is None
    assert await db.fetchval("SELECT COUNT(*) FROM users") == 2
    assert await db.fetchval("SELECT name FROM users WHERE id = $1", "nobody") is None

    assert await db.execute("UPDATE users SET age = age + 1") == 2
    assert await db.execute("UPDATE users SET age = $1 WHERE id = $2", 1, "nobody") == 0
    assert await db.fetchval("SELECT age FROM users WHERE id = $1", "u1") == 37

    assert await db.execute("DELETE FROM users WHERE id = $1", "u2") == 1
    assert await db.fetchval("SELECT COUNT(*) FROM users") == 1


async def test_types_round_trip(backend):
    db = await backend.open()
    await db.execute(
        "INSERT INTO users (id, name, age, admin, score, avatar) VALUES ($1, $2, $3, $4, $5, $6)",
        "u1", "ada", 2**62, True, 0.25, b"\x00\xffpng",
    )
    await db.execute("INSERT INTO users (id, name) VALUES ($1, $2)", "u2", "bob")
    row = await db.fetchrow("SELECT * FROM users WHERE id = $1", "u1")
    assert row == {
        "id": "u1", "name": "ada", "age": 2**62, "admin": True,
        "score": 0.25, "avatar": b"\x00\xffpng", "email": None,
    }
    assert type(row["admin"]) is bool
    row = await db.fetchrow("SELECT age, admin, score, avatar FROM users WHERE id = $1", "u2")
    assert row == {"age": None, "admin": False, "score": None, "avatar": None}
    assert await db.fetchval("SELECT COUNT(*) FROM users WHERE admin = $1", True) == 1
    assert await db.fetchval("SELECT COUNT(*) FROM users WHERE admin") == 1


async def test_placeholder_reused_and_out_of_order(backend):
    db = await backend.open()
    await _add_user(db, "ada", "ada")
    await _add_user(db, "x", "bob")
    rows = await db.fetch("SELECT id FROM users WHERE id = $1 OR name = $1 ORDER BY id", "ada")
    assert [r["id"] for r in rows] == ["ada"]
    rows = await db.fetch("SELECT id FROM users WHERE name = $2 OR id = $1 ORDER BY id", "ada", "bob")
    assert [r["id"] for r in rows] == ["ada", "x"]
    # `$1` inside a string literal is text, not a placeholder.
    assert await db.fetchval("SELECT '$1' || name FROM users WHERE id = $1", "x") == "$1bob"


async def test_insert_returning_and_upsert(backend):
    db = await backend.open()
    row = await db.fetchrow(
        "INSERT INTO counters (name, value) VALUES ($1, $2) RETURNING name, value", "c", 1
    )
    assert row == {"name": "c", "value": 1}
    upsert = (
        "INSERT INTO counters (name, value) VALUES ($1, $2) "
        "ON CONFLICT (name) DO UPDATE SET value = counters.value + excluded.value RETURNING value"
    )
    assert await db.fetchval(upsert, "c", 5) == 6
    assert await db.execute(
        "INSERT INTO counters (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING", "c", 0
    ) == 0
    assert await db.fetchval(
        "UPDATE counters SET value = value + 1 WHERE name = $1 RETURNING value", "c"
    ) == 7


async def test_unique_violation(backend):
    db = await backend.open()
    await _add_user(db, "u1", "ada")
    with pytest.raises(UniqueViolation):  # primary key
        await _add_user(db, "u1", "other")
    with pytest.raises(UniqueViolation):  # unique index
        await _add_user(db, "u2", "ada")
    with pytest.raises(UniqueViolation):  # by update
        await _add_user(db, "u3", "bob")
        await db.execute("UPDATE users SET name = $1 WHERE id = $2", "ada", "u3")
    assert await db.fetchval("SELECT COUNT(*) FROM users") == 2


async def test_foreign_keys_enforced(backend):
    db = await backend.open()
    with pytest.raises(ForeignKeyViolation):
        await db.execute("INSERT INTO tokens (id, user_id, scope) VALUES ($1, $2, $3)", "t", "no", "*")
    await _add_user(db, "u1", "ada")
    await db.execute("INSERT INTO tokens (id, user_id, scope) VALUES ($1, $2, $3)", "t", "u1", "*")
    await db.execute("DELETE FROM users WHERE id = $1", "u1")
    assert await db.fetchval("SELECT COUNT(*) FROM tokens") == 0  # ON DELETE CASCADE


async def test_bad_sql_is_a_storage_error(backend):
    db = await backend.open()
    with pytest.raises(StorageError):
        await db.fetch("SELECT nope FROM users")
    with pytest.raises(StorageError):
        await db.execute("INSERT INTO users (id) VALUES ($1)", "u1")  # name NOT NULL
    assert await db.fetchval("SELECT COUNT(*) FROM users") == 0


# ---- transactions ----------------------------------------------------------


async def test_transaction_commits(backend):
    db = await backend.open()
    async with db.transaction() as tx:
        await _add_user(tx, "u1", "ada")
        await _add_user(tx, "u2", "bob")
        assert await tx.fetchval("SELECT COUNT(*) FROM users") == 2
        assert await tx.fetchrow("SELECT name FROM users WHERE id = $1", "u2") == {"name": "bob"}
        assert len(await tx.fetch("SELECT * FROM users")) == 2
    assert await db.fetchval("SELECT COUNT(*) FROM users") == 2


async def test_transaction_rolls_back_on_exception(backend):
    db = await backend.open()
    await _add_user(db, "u0", "zed")
    with pytest.raises(RuntimeError, match="boom"):
        async with db.transaction() as tx:
            await _add_user(tx, "u1", "ada")
            await tx.execute("UPDATE users SET age = $1", 99)
            raise RuntimeError("boom")
    assert await db.fetch("SELECT id, age FROM users") == [{"id": "u0", "age": 30}]


async def test_unique_violation_in_transaction_rolls_it_back(backend):
    db = await backend.open()
    await _add_user(db, "u1", "ada")
    with pytest.raises(UniqueViolation):
        async with db.transaction() as tx:
            await _add_user(tx, "u2", "bob")
            await _add_user(tx, "u3", "ada")
    assert await db.fetchval("SELECT COUNT(*) FROM users") == 1

    # Swallowing the error does not commit the rest: the transaction is dead on both backends.
    with pytest.raises(TransactionAborted):
        async with db.transaction() as tx:
            await _add_user(tx, "u2", "bob")
            with pytest.raises(UniqueViolation):
                await _add_user(tx, "u3", "ada")
            with pytest.raises(TransactionAborted):
                await tx.fetchval("SELECT 1")
    assert await db.fetchval("SELECT COUNT(*) FROM users") == 1


async def test_database_methods_refused_inside_transaction(backend):
    db = await backend.open()
    async with db.transaction() as tx:
        with pytest.raises(StorageError, match="tx.execute"):
            await db.execute("DELETE FROM users")
        await _add_user(tx, "u1", "ada")
    with pytest.raises(StorageError, match="ended"):
        await tx.fetch("SELECT * FROM users")
    assert await db.fetchval("SELECT COUNT(*) FROM users") == 1


async def test_concurrent_transactions(backend):
    db = await backend.open(pool_max=4)
    await db.execute("INSERT INTO counters (name, value) VALUES ($1, $2)", "n", 0)

    async def bump(i: int) -> None:
        async with db.transaction() as tx:
            await tx.execute("UPDATE counters SET value = value + 1 WHERE name = $1", "n")
            await _add_user(tx, f"u{i}", f"user{i}")
            await asyncio.sleep(0)

    await asyncio.gather(*(bump(i) for i in range(25)), *(_add_user(db, f"p{i}", f"p{i}") for i in range(5)))
    assert await db.fetchval("SELECT value FROM counters WHERE name = $1", "n") == 25
    assert await db.fetchval("SELECT COUNT(*) FROM users") == 30


async def test_cancelled_transaction_rolls_back(backend):
    db = await backend.open()
    inside = asyncio.Event()

    async def writer() -> None:
        async with db.transaction() as tx:
            await _add_user(tx, "u1", "ada")
            inside.set()
            await asyncio.sleep(30)

    task = asyncio.create_task(writer())
    await inside.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    # Cancelled in the middle of a slow statement, too.
    async def slow() -> None:
        async with db.transaction() as tx:
            await _add_user(tx, "u2", "bob")
            await tx.fetchval(SLOW.format(n=1_000_000))

    task = asyncio.create_task(slow())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert await db.fetchval("SELECT COUNT(*) FROM users") == 0
    await _add_user(db, "u3", "cy")
    async with db.transaction() as tx:
        await _add_user(tx, "u4", "dee")
    assert await db.fetchval("SELECT COUNT(*) FROM users") == 2


async def test_a_transaction_cancelled_at_any_step_leaves_the_database_usable(backend):
    """A caller cancelled at any point of a transaction, its COMMIT included
    (a gRPC call whose client went away), leaves no transaction open: the
    next one begins, and every row is either written whole or not at all."""
    db = await backend.open()

    async def pair(n: int) -> None:
        async with db.transaction() as tx:
            await _add_user(tx, f"a{n}", f"first-{n}")
            await _add_user(tx, f"b{n}", f"second-{n}")

    for n in range(80):  # cancelled after n turns of the loop: before, inside, at the commit, after
        task = asyncio.create_task(pair(n))
        for _ in range(n):
            await asyncio.sleep(0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        async with db.transaction() as tx:
            await tx.execute("UPDATE users SET age = age WHERE id = $1", "none")
    names = [row["name"] for row in await db.fetch("SELECT name FROM users")]
    firsts = {name.split("-")[1] for name in names if name.startswith("first-")}
    seconds = {name.split("-")[1] for name in names if name.startswith("second-")}
    assert firsts == seconds


async def test_event_loop_not_blocked(backend):
    db = await backend.open()
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0.001)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    start = ticks
    assert await db.fetchval(SLOW.format(n=1_000_000)) == 1_000_000
    done.set()
    await task
    assert ticks - start >= 5


async def test_sqlite_settings(tmp_path):
    db = await open_database(tmp_path / "s.db", "settings", [M1])
    try:
        assert await db.fetchval("PRAGMA journal_mode") == "wal"
        assert await db.fetchval("PRAGMA synchronous") == 2  # FULL
        assert await db.fetchval("PRAGMA foreign_keys") == 1
        assert await db.fetchval("PRAGMA busy_timeout") == 15000
        assert (tmp_path / "s.db").stat().st_mode & 0o777 == 0o600
        before = {t.ident for t in threading.enumerate()}
        await asyncio.gather(*(_add_user(db, f"u{i}", f"n{i}") for i in range(20)))
        workers = [t for t in threading.enumerate() if t.name.startswith("sqlite-settings")]
        assert len(workers) == 1 and workers[0].ident != threading.get_ident()
        assert {t.ident for t in threading.enumerate()} - before == set()
    finally:
        await db.close()
    with pytest.raises(StorageError, match="closed"):
        await db.fetch("SELECT 1")


# ---- the file itself (SQLite) ----------------------------------------------


def _damaged_header(path: Path) -> None:
    import sqlite3

    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE kept (x TEXT)")
    raw = bytearray(path.read_bytes())
    raw[16:18] = b"\x00\x03"  # a page size SQLite refuses
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("what, make, reason", [
    ("a 0-byte file", lambda p: p.write_bytes(b""), "empty (0 bytes)"),
    ("another kind of file", lambda p: p.write_text('{"beacons": []}'), "does not start with the SQLite header"),
    ("a cut-off header", lambda p: p.write_bytes(b"SQLite format 3\x00abc"), "only 19 bytes"),
    ("a damaged header", _damaged_header, "file is not a database"),
])
async def test_an_existing_file_that_is_no_database_is_an_error_naming_it_and_left_alone(tmp_path, what, make, reason):
    path = tmp_path / "beacon.db"
    make(path)
    before = path.read_bytes()
    with pytest.raises(DatabaseFileError) as caught:
        await open_database(path, "beacon", [M1])
    assert caught.value.path == str(path)
    assert str(caught.value).startswith(f"{path}: ") and reason in str(caught.value), what
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["beacon.db"]  # no -wal, -shm or temporary


async def test_a_database_file_is_created_only_when_absent_and_whole(tmp_path):
    path = tmp_path / "new.db"
    db = await open_database(path, "svc", [M1])
    await _add_user(db, "u1", "ada")
    await db.close()
    assert path.read_bytes()[:16] == b"SQLite format 3\x00" and path.stat().st_mode & 0o777 == 0o600
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".new")]
    db = await open_database(path, "svc", [M1])  # an existing database is opened, never replaced
    assert await db.fetchval("SELECT name FROM users WHERE id = $1", "u1") == "ada"
    await db.close()


async def test_openers_racing_to_create_one_file_all_open_the_same_database(tmp_path):
    path = tmp_path / "shared.db"
    dbs = await asyncio.gather(*(open_database(path, "svc", [M1]) for _ in range(6)))
    try:
        await _add_user(dbs[0], "u1", "ada")
        assert all([await db.fetchval("SELECT COUNT(*) FROM users") == 1 for db in dbs])
    finally:
        for db in dbs:
            await db.close()


# ---- migrations ------------------------------------------------------------


async def _versions(db, service: str = "svc") -> list[int]:
    rows = await db.fetch(
        "SELECT version FROM schema_migrations WHERE service = $1 ORDER BY version", service
    )
    return [r["version"] for r in rows]


async def test_migrations_applied_once_and_idempotent(backend):
    db = await backend.open([M1])
    assert await _versions(db) == [1]
    await _add_user(db, "u1", "ada")
    await db.close()

    db = await backend.open([M1])  # re-open: nothing re-applied (CREATE TABLE would fail)
    assert await _versions(db) == [1]
    await db.close()

    db = await backend.open([M1, M2])  # upgrade: only M2 runs
    assert await _versions(db) == [1, 2]
    assert await db.fetch("SELECT id, email FROM users") == [{"id": "u1", "email": None}]
    row = await db.fetchrow("SELECT applied_at FROM schema_migrations WHERE version = $1", 2)
    assert row["applied_at"].endswith("Z")
    await db.close()

    db = await backend.open([M1, M2])
    assert await _versions(db) == [1, 2]


async def test_schema_too_new(backend):
    db = await backend.open([M1, M2])
    await db.close()
    with pytest.raises(SchemaTooNewError) as info:
        await backend.open([M1], service="svc")
    err = info.value
    assert (err.service, err.database_version, err.code_version) == ("svc", 2, 1)
    message = str(err)
    assert "'svc'" in message and "version 2" in message and "up to 1" in message
    db = await backend.open([M1, M2])  # untouched
    assert await _versions(db) == [1, 2]


async def test_failed_migration_changes_nothing(backend):
    db = await backend.open([M1])
    await db.close()
    broken = Migration(2, ["CREATE TABLE extra (id TEXT PRIMARY KEY)", "CREATE TABLE broken ("])
    with pytest.raises(StorageError):
        await backend.open([M1, broken])
    db = await backend.open([M1])
    assert await _versions(db) == [1]
    with pytest.raises(StorageError):
        await db.fetch("SELECT * FROM extra")


async def test_migrations_kept_per_service(backend):
    a = await backend.open([M1, M2], service="alpha")
    b = await backend.open([Migration(1, ["CREATE TABLE beta_things (id TEXT PRIMARY KEY)"])],
                           service="beta")
    assert await _versions(a, "alpha") == [1, 2]
    assert await _versions(a, "beta") == [1]
    assert await b.fetchval("SELECT COUNT(*) FROM beta_things") == 0


async def test_migration_list_checked(backend):
    with pytest.raises(ValueError):
        await backend.open([M2, M1])
    with pytest.raises(ValueError):
        await backend.open([Migration(0, [])])


async def test_concurrent_first_open_one_schema(backend):
    """Replicas starting together on an empty database: separate pools, one
    schema, no error (the advisory lock on PostgreSQL, BEGIN IMMEDIATE on SQLite)."""
    slow = Migration(1, [*M1.statements, SLOW.format(n=200_000)])
    migrations = [slow, M2, COUNTERS]
    dbs = await asyncio.gather(*(backend.open(migrations, pool_min=1, pool_max=2) for _ in range(4)))
    assert await _versions(dbs[0]) == [1, 2, 3]
    for db in dbs:
        await _add_user(db, f"u{id(db)}", f"n{id(db)}")
    assert await dbs[-1].fetchval("SELECT COUNT(*) FROM users") == 4


# ---- durability ------------------------------------------------------------

WRITER = """
import asyncio, sys
from services.common.storage import Migration, open_database

async def main(url, schema):
    db = await open_database(url, "durable", [Migration(1, [
        "CREATE TABLE acked (id BIGINT PRIMARY KEY, note TEXT NOT NULL)"])],
        schema=schema or None)
    i = 0
    while True:
        i += 1
        if i % 2:
            await db.execute("INSERT INTO acked (id, note) VALUES ($1, $2)", i, "plain")
        else:
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO acked (id, note) VALUES ($1, $2)", i, "tx")
        print(i, flush=True)

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


@pytest.mark.timeout(60)
async def test_acknowledged_writes_survive_sigkill(backend):
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", WRITER, backend.url, backend.schema or "",
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    acked = 0
    try:
        while acked < 40:
            line = await asyncio.wait_for(proc.stdout.readline(), 30)
            if not line:
                err = await proc.stderr.read()
                pytest.fail(f"writer exited early: {err.decode()}")
            acked = int(line)
    finally:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    for line in (await proc.stdout.read()).split():  # acks printed before the kill
        acked = max(acked, int(line))
    assert proc.returncode == -signal.SIGKILL

    db = await backend.open([Migration(1, [
        "CREATE TABLE acked (id BIGINT PRIMARY KEY, note TEXT NOT NULL)"])], service="durable")
    ids = {r["id"] for r in await db.fetch("SELECT id FROM acked WHERE id <= $1", acked)}
    assert ids == set(range(1, acked + 1))


# ---- URLs and placeholders -------------------------------------------------


def test_url_rules(tmp_path):
    assert is_postgres_url("postgresql://u@h/db")
    assert is_postgres_url("postgres://u@h/db")
    assert not is_postgres_url(str(tmp_path / "x.db"))
    assert not is_postgres_url("sqlite:///x.db")


async def test_sqlite_url_and_unknown_scheme(tmp_path):
    db = await open_database(f"sqlite://{tmp_path}/u.db", "svc", [M1])
    assert db.backend == "sqlite"
    await db.close()
    assert (tmp_path / "u.db").exists()
    with pytest.raises(ValueError, match="mysql"):
        await open_database("mysql://h/db", "svc", [M1])


def test_placeholder_rewrite():
    assert to_sqlite("SELECT * FROM t WHERE a = $1 AND b = $2 OR c = $1") == (
        "SELECT * FROM t WHERE a = ?1 AND b = ?2 OR c = ?1"
    )
    assert to_sqlite("VALUES ($10, $1)") == "VALUES (?10, ?1)"
    assert to_sqlite("SELECT '$1', 'it''s $2', \"$3\" -- $4\n, $5 /* $6 */") == (
        "SELECT '$1', 'it''s $2', \"$3\" -- $4\n, ?5 /* $6 */"
    )
    assert to_sqlite("SELECT price$ FROM t") == "SELECT price$ FROM t"
    with pytest.raises(ValueError):
        to_sqlite("SELECT $0")
