"""sha512-crypt verification, the verified-credentials cache and the bounded hasher."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import threading
import time

import pytest
from passlib.hash import sha512_crypt

from services.common.errors import Failure
from services.identity.passwords import (
    BoundedHasher,
    HasherBusy,
    VerifiedCache,
    hash_password,
    is_sha512_crypt,
    verify_password,
)

KEY = b"k" * 32


def _openssl_hash(password: str, salt: str = "abcdefgh") -> str:
    if shutil.which("openssl"):
        out = subprocess.run(
            ["openssl", "passwd", "-6", "-salt", salt, password],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()
    return sha512_crypt.using(salt=salt, rounds=5000).hash(password)


def test_openssl_hash_verifies_with_the_right_password():
    hashed = _openssl_hash("pw")
    assert hashed.startswith("$6$abcdefgh$")
    assert verify_password("pw", hashed)


def test_wrong_password_fails():
    assert not verify_password("wrong", _openssl_hash("pw"))


def test_malformed_or_foreign_hash_fails_closed():
    assert not verify_password("pw", "not a hash")
    assert not verify_password("pw", "$6$onlysalt")
    assert not verify_password("pw", "$1$abc$def")  # md5-crypt is not accepted
    assert not verify_password("pw", "")


def test_unknown_user_is_false():
    assert not verify_password("pw", None)


def test_password_with_nul_fails_without_raising():
    assert not verify_password("p\0w", _openssl_hash("pw"))


def test_new_hashes_are_sha512_crypt_with_random_salt():
    a, b = hash_password("secret"), hash_password("secret")
    assert a.startswith("$6$") and is_sha512_crypt(a)
    assert a != b
    assert verify_password("secret", a) and not verify_password("Secret", a)


def test_new_hash_is_checked_by_openssl_the_same_way():
    if not shutil.which("openssl"):
        pytest.skip("openssl not installed")
    hashed = hash_password("pw")
    salt = hashed.split("$")[2]
    assert _openssl_hash("pw", salt) == hashed


# --- cache --------------------------------------------------------------------


def test_cache_remembers_success_for_same_version():
    cache = VerifiedCache(KEY)
    cache.remember("alice", "pw", 1)
    assert cache.check("alice", "pw", 1)
    assert not cache.check("alice", "other", 1)
    assert not cache.check("bob", "pw", 1)


def test_cache_entry_is_useless_after_identity_version_changes():
    cache = VerifiedCache(KEY)
    cache.remember("alice", "pw", "hash-1")
    assert not cache.check("alice", "pw", "hash-2")
    assert not cache.check("alice", "pw", "hash-1")  # dropped on mismatch
    assert len(cache) == 0


def test_invalidate_drops_only_that_identity():
    cache = VerifiedCache(KEY)
    cache.remember("alice", "pw", 1)
    cache.remember("bob", "pw", 1)
    cache.invalidate("alice")
    assert not cache.check("alice", "pw", 1)
    assert cache.check("bob", "pw", 1)


def test_cache_does_not_keep_the_password():
    cache = VerifiedCache(KEY)
    cache.remember("alice", "hunter2", 1)
    assert b"hunter2" not in repr(cache._entries).encode()
    assert all(len(k) == 32 for k in cache._entries)


def test_cache_is_keyed_by_server_key():
    a, b = VerifiedCache(KEY), VerifiedCache(b"z" * 32)
    assert a._digest("alice", "pw") != b._digest("alice", "pw")


def test_name_and_password_boundary_is_unambiguous():
    cache = VerifiedCache(KEY)
    assert cache._digest("ab", "c") != cache._digest("a", "bc")


def test_cache_is_bounded_least_recently_used_first():
    cache = VerifiedCache(KEY, max_entries=2)
    cache.remember("a", "pw", 1)
    cache.remember("b", "pw", 1)
    assert cache.check("a", "pw", 1)  # a is now the most recent
    cache.remember("c", "pw", 1)
    assert cache.check("a", "pw", 1)
    assert not cache.check("b", "pw", 1)
    assert len(cache) == 2


def test_cache_entries_expire_after_ttl():
    now = [0.0]
    cache = VerifiedCache(KEY, ttl=10, clock=lambda: now[0])
    cache.remember("a", "pw", 1)
    now[0] = 9.9
    assert cache.check("a", "pw", 1)
    now[0] = 10.0
    assert not cache.check("a", "pw", 1)


def test_cache_refuses_short_key():
    with pytest.raises(ValueError):
        VerifiedCache(b"short")


# --- bounded hasher -----------------------------------------------------------


class CountingVerify:
    def __init__(self, delay: float = 0.0):
        self.calls = 0
        self.active = 0
        self.peak = 0
        self.delay = delay
        self._lock = threading.Lock()

    def __call__(self, password: str, hashed: str | None) -> bool:
        with self._lock:
            self.calls += 1
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            time.sleep(self.delay)
            return verify_password(password, hashed)
        finally:
            with self._lock:
                self.active -= 1


async def test_cache_hit_skips_hashing():
    counter = CountingVerify()
    hasher = BoundedHasher(cache=VerifiedCache(KEY), verify=counter)
    hashed = _openssl_hash("pw")
    try:
        assert await hasher.verify_identity("alice", "pw", hashed, version=hashed)
        assert counter.calls == 1
        assert await hasher.verify_identity("alice", "pw", hashed, version=hashed)
        assert counter.calls == 1
    finally:
        hasher.close()


async def test_failures_are_not_cached():
    counter = CountingVerify()
    hasher = BoundedHasher(cache=VerifiedCache(KEY), verify=counter)
    hashed = _openssl_hash("pw")
    try:
        assert not await hasher.verify_identity("alice", "bad", hashed, 1)
        assert not await hasher.verify_identity("alice", "bad", hashed, 1)
        assert counter.calls == 2
    finally:
        hasher.close()


async def test_changed_identity_is_checked_again():
    counter = CountingVerify()
    cache = VerifiedCache(KEY)
    hasher = BoundedHasher(cache=cache, verify=counter)
    old, new = _openssl_hash("pw"), _openssl_hash("new", salt="12345678")
    try:
        assert await hasher.verify_identity("alice", "pw", old, version=old)
        # The password changed: the old password must be hashed again, and fail.
        assert not await hasher.verify_identity("alice", "pw", new, version=new)
        assert counter.calls == 2
        assert await hasher.verify_identity("alice", "new", new, version=new)
        cache.invalidate("alice")
        assert await hasher.verify_identity("alice", "new", new, version=new)
        assert counter.calls == 4
    finally:
        hasher.close()


async def test_concurrency_is_bounded_and_loop_stays_responsive():
    counter = CountingVerify(delay=0.05)
    hasher = BoundedHasher(max_concurrency=2, verify=counter)
    hashed = _openssl_hash("pw")
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    tick_task = asyncio.create_task(ticker())
    try:
        results = await asyncio.gather(*(hasher.verify(f"bad{i}", hashed) for i in range(10)))
        assert results == [False] * 10
        assert counter.calls == 10
        assert counter.peak == 2
        assert ticks >= 10  # the loop kept running while hashes were computed
    finally:
        tick_task.cancel()
        hasher.close()


async def test_too_many_waiting_is_refused_at_once():
    counter = CountingVerify(delay=0.05)
    hasher = BoundedHasher(max_concurrency=1, max_pending=2, verify=counter)
    try:
        results = await asyncio.gather(
            *(hasher.verify("x", None) for _ in range(4)), return_exceptions=True
        )
        busy = [r for r in results if isinstance(r, HasherBusy)]
        assert len(busy) == 2
        assert busy[0].failure is Failure.UNAVAILABLE
        assert counter.calls == 2
    finally:
        hasher.close()


async def test_hash_runs_in_the_pool():
    hasher = BoundedHasher()
    try:
        hashed = await hasher.hash("pw")
        assert await hasher.verify("pw", hashed)
    finally:
        hasher.close()


def test_cache_entry_is_bound_to_its_name_even_if_bytes_collide():
    # A Basic username is not validated, so it may hold a NUL: the entry's
    # own name is compared as well as the HMAC.
    cache = VerifiedCache(KEY)
    cache.remember("a", "b\0c", 1)
    assert not cache.check("a\0b", "c", 1)
