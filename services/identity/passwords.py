"""Password hashes: sha512-crypt (`$6$…`, as `openssl passwd -6` makes them).

- `verify_password` / `hash_password`: the blocking primitives (passlib).
- `VerifiedCache`: remembers successful checks only, keyed by
  HMAC-SHA256(server key, name NUL password), each tied to the identity's
  version so any change to the identity makes the entry useless;
  `invalidate(name)` drops it outright.
- `BoundedHasher`: runs the primitives in a thread pool behind an
  asyncio.Semaphore, so a flood of bad passwords queues instead of stalling
  the event loop, and consults the cache first.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass

from passlib.hash import sha512_crypt

from services.common.errors import DomainError, Failure

# The cost `openssl passwd -6` uses (its default, written without `rounds=`).
DEFAULT_ROUNDS = 5000
# A well-formed hash of a random password: checked against when the user is
# unknown so that "no such user" costs as much as "wrong password".
_DUMMY_HASH = sha512_crypt.using(rounds=DEFAULT_ROUNDS, salt="shoaldum").hash("no such user")


class HasherBusy(DomainError):
    """Too many password checks are already waiting: the service is busy."""

    failure = Failure.UNAVAILABLE

    def __init__(self, message: str):
        super().__init__(message, kind="busy")


def is_sha512_crypt(hashed: str) -> bool:
    try:
        return bool(sha512_crypt.identify(hashed))
    except (TypeError, ValueError):
        return False


def is_well_formed_sha512_crypt(hashed: str) -> bool:
    """A complete `$6$` hash (salt, optional rounds, an 86-character
    checksum), not merely one with the right prefix."""
    if not is_sha512_crypt(hashed):
        return False
    try:
        sha512_crypt.from_string(hashed)
    except (TypeError, ValueError):
        return False
    return True


def verify_password(password: str, hashed: str | None) -> bool:
    """True if `password` matches the sha512-crypt `hashed`. A missing or
    malformed hash (or an oversized password) is simply False; with
    `hashed=None` the same work is spent on a dummy hash."""
    if hashed is None:
        try:
            sha512_crypt.verify(password, _DUMMY_HASH)
        except (TypeError, ValueError):
            pass
        return False
    if not isinstance(password, str) or not is_sha512_crypt(hashed):
        return False
    try:
        return bool(sha512_crypt.verify(password, hashed))
    except (TypeError, ValueError):
        return False


def hash_password(password: str, rounds: int = DEFAULT_ROUNDS) -> str:
    """A new `$6$` hash with a random salt, in the format of `openssl passwd -6`."""
    if not isinstance(password, str):
        raise TypeError("password must be a string")
    return sha512_crypt.using(rounds=rounds).hash(password)


@dataclass(frozen=True)
class _Entry:
    name: str
    version: Hashable
    expires: float | None


class VerifiedCache:
    """Successful password checks, keyed by HMAC-SHA256(key, name NUL password).

    Only the HMAC is kept, never the password. An entry counts only while the
    identity's `version` (a revision number, or simply its stored hash) is
    the one it was stored with. Bounded (least recently used goes first) and
    optionally time-limited. Not thread-safe: use it from the event loop.
    """

    def __init__(
        self,
        key: bytes,
        *,
        max_entries: int = 4096,
        ttl: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        if len(key) < 16:
            raise ValueError("cache key must be at least 16 bytes")
        self._key = bytes(key)
        self._max = max_entries
        self._ttl = ttl
        self._clock = clock
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()
        self._by_name: dict[str, set[bytes]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def _digest(self, name: str, password: str) -> bytes:
        message = name.encode() + b"\0" + password.encode("utf-8", "surrogatepass")
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def check(self, name: str, password: str, version: Hashable) -> bool:
        digest = self._digest(name, password)
        entry = self._entries.get(digest)
        if entry is None:
            return False
        if (
            entry.name != name
            or entry.version != version
            or (entry.expires is not None and self._clock() >= entry.expires)
        ):
            self._drop(digest)
            return False
        self._entries.move_to_end(digest)
        return True

    def remember(self, name: str, password: str, version: Hashable) -> None:
        """Record a successful check (never call this for a failure)."""
        digest = self._digest(name, password)
        expires = None if self._ttl is None else self._clock() + self._ttl
        self._drop(digest)
        self._entries[digest] = _Entry(name, version, expires)
        self._by_name.setdefault(name, set()).add(digest)
        while len(self._entries) > self._max:
            oldest = next(iter(self._entries))
            self._drop(oldest)

    def invalidate(self, name: str) -> None:
        """Forget every success for `name` (its identity changed or was removed)."""
        for digest in list(self._by_name.get(name, ())):
            self._drop(digest)

    def clear(self) -> None:
        self._entries.clear()
        self._by_name.clear()

    def _drop(self, digest: bytes) -> None:
        entry = self._entries.pop(digest, None)
        if entry is None:
            return
        digests = self._by_name.get(entry.name)
        if digests is not None:
            digests.discard(digest)
            if not digests:
                del self._by_name[entry.name]


class BoundedHasher:
    """Password hashing off the event loop, at most `max_concurrency` at a time.

    `max_pending` (optional) bounds how many may wait for a slot; beyond it
    `HasherBusy` is raised at once instead of queueing.
    """

    def __init__(
        self,
        *,
        max_concurrency: int = 4,
        max_pending: int | None = None,
        executor: Executor | None = None,
        cache: VerifiedCache | None = None,
        verify: Callable[[str, str | None], bool] = verify_password,
        make_hash: Callable[[str], str] = hash_password,
    ):
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._max_pending = max_pending
        self._pending = 0
        self._own_executor = executor is None
        self._executor = executor or ThreadPoolExecutor(
            max_workers=max_concurrency, thread_name_prefix="shoal-hash"
        )
        self.cache = cache
        self._verify = verify
        self._make_hash = make_hash

    async def _run(self, fn: Callable, *args):
        if self._max_pending is not None and self._pending >= self._max_pending:
            raise HasherBusy("too many password checks in progress, try again later")
        self._pending += 1
        try:
            async with self._semaphore:
                loop = asyncio.get_running_loop()
                return await loop.run_in_executor(self._executor, fn, *args)
        finally:
            self._pending -= 1

    async def verify(self, password: str, hashed: str | None) -> bool:
        """Check a password against a hash (None: unknown user, same cost, False)."""
        return bool(await self._run(self._verify, password, hashed))

    async def verify_identity(
        self, name: str, password: str, hashed: str | None, version: Hashable
    ) -> bool:
        """Check `name`'s password, answering from the cache when it can and
        remembering a success. `version` changes whenever the identity does."""
        cache = self.cache
        if hashed is not None and cache is not None and cache.check(name, password, version):
            return True
        ok = await self.verify(password, hashed)
        if ok and self.cache is not None:
            self.cache.remember(name, password, version)
        return ok

    async def hash(self, password: str) -> str:
        return await self._run(self._make_hash, password)

    def close(self) -> None:
        if self._own_executor:
            self._executor.shutdown(wait=False, cancel_futures=True)
