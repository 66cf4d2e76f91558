"""Recovery tokens: random, hashed at rest, IP-bound, single-use, 1–60 minute lifetime."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from services.common.errors import Failure
from services.identity.recovery import (
    RecoveryError,
    RecoveryToken,
    RecoveryTokens,
    validate_minutes,
)

T0 = datetime(2025, 6, 7, 8, 9, 10, tzinfo=UTC)
IP = "127.0.0.1"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_token_is_64_hex_and_only_its_sha256_is_kept():
    book = RecoveryTokens()
    raw, record = book.create(IP, T0)
    assert len(raw) == 64 and int(raw, 16) >= 0
    assert record.hash == hashlib.sha256(raw.encode()).hexdigest()
    assert list(book.records) == [record.hash]
    assert raw not in repr(book.records)


def test_default_lifetime_is_fifteen_minutes():
    _, record = RecoveryTokens().create(IP, T0)
    assert record.expires_at == at(15)


@pytest.mark.parametrize("minutes", [1, 60])
def test_lifetime_bounds_are_accepted(minutes):
    _, record = RecoveryTokens().create(IP, T0, minutes)
    assert record.expires_at == at(minutes)


@pytest.mark.parametrize("minutes", [0, 61, -5, 1.5, "10", True])
def test_lifetime_outside_one_to_sixty_is_refused(minutes):
    with pytest.raises(RecoveryError) as info:
        validate_minutes(minutes)
    assert info.value.failure is Failure.INVALID


def test_token_is_single_use():
    book = RecoveryTokens()
    raw, _ = book.create(IP, T0)
    assert book.validate(raw, IP, at(1))  # validating alone does not use it up
    assert book.consume(raw, IP, at(1))
    assert not book.consume(raw, IP, at(2))
    assert not book.validate(raw, IP, at(2))
    assert book.records[next(iter(book.records))].used_at == at(1)


def test_token_is_bound_to_the_creating_ip():
    book = RecoveryTokens()
    raw, _ = book.create(IP, T0)
    assert not book.consume(raw, "10.0.0.9", at(1))
    assert book.consume(raw, IP, at(1))  # the failed attempt did not use it up


def test_token_expires():
    book = RecoveryTokens()
    raw, _ = book.create(IP, T0, minutes=5)
    assert not book.consume(raw, IP, at(5))


def test_unknown_or_empty_token_is_refused():
    book = RecoveryTokens()
    book.create(IP, T0)
    assert not book.consume("0" * 64, IP, at(1))
    assert not book.consume("", IP, at(1))


def test_token_must_be_bound_to_an_address():
    with pytest.raises(RecoveryError):
        RecoveryTokens().create("", T0)


def test_cleanup_drops_expired_and_long_used_tokens():
    book = RecoveryTokens()
    raw_used, used = book.create(IP, T0, minutes=60)
    _, expired = book.create(IP, T0, minutes=1)
    _, live = book.create(IP, T0, minutes=60)
    assert book.consume(raw_used, IP, at(1))
    assert book.cleanup(at(2)) == 1
    assert set(book.records) == {used.hash, live.hash}
    assert expired.hash not in book.records
    # Both are gone once expired (the used one too: it also expired).
    assert book.cleanup(at(61)) == 2


def test_used_token_is_dropped_after_a_day_even_if_not_expired():
    record = RecoveryToken(hash="h", ip=IP, created_at=T0, expires_at=at(60 * 48), used_at=at(1))
    book = RecoveryTokens({"h": record})
    assert book.cleanup(at(60 * 24)) == 0
    assert book.cleanup(at(60 * 24 + 2)) == 1


def test_record_round_trips_through_dict():
    book = RecoveryTokens()
    raw, record = book.create(IP, T0)
    book.consume(raw, IP, at(1))
    stored = book.records[record.hash]
    assert RecoveryToken.from_dict(stored.to_dict()) == stored
