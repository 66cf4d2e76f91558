"""Exceptions raised by the storage layer, the same on SQLite and PostgreSQL.

Driver exceptions (`sqlite3.Error`, `asyncpg.PostgresError`, ...) never leak
out of `services.common.storage`: each is translated to one of these, with the
driver's exception kept as `__cause__`.
"""

from __future__ import annotations


class StorageError(Exception):
    """Any database error: bad SQL, a lost connection, a locked database, ..."""


class IntegrityError(StorageError):
    """A constraint rejected the statement (NOT NULL, CHECK, ...)."""


class UniqueViolation(IntegrityError):
    """A PRIMARY KEY or UNIQUE constraint rejected an insert or update."""


class ForeignKeyViolation(IntegrityError):
    """A FOREIGN KEY constraint rejected the statement."""


class TransactionAborted(StorageError):
    """A statement inside `db.transaction()` failed; the transaction was rolled back.

    PostgreSQL cannot go on with a transaction after an error, so neither does
    SQLite here: further statements in it raise this, and leaving the
    `async with` block normally (the error was caught and swallowed) rolls
    back and raises this too, so nothing is half-committed silently.
    """


class SchemaTooNewError(StorageError):
    """The database holds a schema version newer than this code knows.

    A start-up error: the service must not run against a schema written by a
    newer release (it would misread or damage it). Upgrade the code, or
    restore a backup made before the newer release migrated the database.
    """

    def __init__(self, service: str, database_version: int, code_version: int):
        self.service = service
        self.database_version = database_version
        self.code_version = code_version
        super().__init__(
            f"the {service!r} database schema is at version {database_version}, but this "
            f"release of the {service} service only knows versions up to {code_version}: "
            f"a newer release has migrated it. Run that newer release (or newer), or "
            f"restore a backup taken before the upgrade; the schema was left untouched."
        )


class DatabaseFileError(StorageError):
    """An existing SQLite file is not a usable database (empty, another kind
    of file, or a damaged header).

    A start-up error naming the file: the service never replaces or
    "repairs" it, since an empty database in its place would silently lose
    everything it held. Restore the file from a backup, or move it away to
    start with an empty database.
    """

    def __init__(self, path: str, reason: str):
        self.path = path
        self.reason = reason
        super().__init__(
            f"{path}: {reason}; the file was left as it is. Restore it from a backup, "
            f"or move it away to start with an empty database."
        )
