"""Login lockout: counting, locking, expiry without the re-lock quirk, response bodies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.common.errors import Failure
from services.identity.lockout import (
    OTHER_KEYS,
    LockedRefusals,
    LockRecord,
    check_login,
    invalid_credentials_body,
    is_locked,
    is_stale,
    lock_keys,
    lock_triggered_body,
    locked_body,
    locked_until,
    login_failed,
    register_failure,
    register_success,
    remaining_attempts,
    remaining_minutes,
    reset_keys,
)

T0 = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def fail(n: int, record: LockRecord | None = None, start: float = 0) -> LockRecord:
    for i in range(n):
        record = register_failure(record, at(start + i))
    assert record is not None
    return record


def test_four_failures_do_not_lock():
    record = fail(4)
    assert record.failures == 4
    assert not is_locked(record, at(4))
    assert remaining_attempts(record, at(4)) == 1


def test_fifth_failure_locks_for_fifteen_minutes():
    record = fail(5)
    assert record.locked_until == at(4 + 900)
    assert is_locked(record, at(5))
    assert is_locked(record, at(4 + 899))
    assert remaining_attempts(record, at(5)) == 0


def test_failure_while_locked_does_not_extend_the_lock():
    record = fail(5)
    again = register_failure(record, at(100))
    assert again.locked_until == record.locked_until
    assert again.failures == 5
    assert again.last_attempt == at(100)


def test_lock_expires_and_count_restarts():
    record = fail(5)
    after = at(4 + 900)
    assert not is_locked(record, after)
    assert remaining_attempts(record, after) == 5
    record = register_failure(record, after)
    assert record.failures == 1
    assert not is_locked(record, after)
    assert remaining_attempts(record, after) == 4


def test_expired_lock_needs_full_threshold_again():
    record = fail(5)
    record = fail(4, record, start=1000)
    assert not is_locked(record, at(1004))
    record = register_failure(record, at(1005))
    assert is_locked(record, at(1005))


def test_no_rolling_window_failures_accumulate_over_time():
    record = fail(3)
    record = fail(2, record, start=10_000)
    assert is_locked(record, at(10_001))


def test_success_resets_the_count():
    record = register_success(fail(4), at(5))
    assert record == LockRecord()
    assert remaining_attempts(record, at(5)) == 5


def test_custom_threshold_and_period():
    record = None
    for i in range(3):
        record = register_failure(record, at(i), threshold=3, period=60)
    assert record is not None
    assert record.locked_until == at(2 + 60)
    assert remaining_attempts(record, at(63), threshold=3) == 3


def test_remaining_minutes_rounds_up():
    assert remaining_minutes(at(60), at(0)) == 1
    assert remaining_minutes(at(61), at(0)) == 2
    assert remaining_minutes(at(1), at(0)) == 1
    assert remaining_minutes(at(0), at(0)) == 0


def test_stale_records_may_be_purged():
    locked = fail(5)
    assert not is_stale(locked, at(100))
    assert not is_stale(locked, at(904 + 1))  # lock over, but last attempt only 15 min ago
    assert is_stale(locked, at(4 + 1801))
    assert is_stale(fail(2), at(1 + 1801))
    assert not is_stale(fail(2), at(1 + 1800))


# --- combining user and IP ------------------------------------------------------


def test_refused_if_either_user_or_ip_is_locked():
    locked = fail(5)
    assert check_login(None, None, at(5)) is None
    assert check_login(locked, None, at(5)) is not None
    assert check_login(None, locked, at(5)) is not None


def test_later_unlock_time_is_reported():
    user = fail(5)  # locked until T0+904
    ip = fail(5, start=300)  # locked until T0+1204
    assert locked_until([user, ip], at(400)) == at(1204)
    failure, body = check_login(user, ip, at(400))
    assert failure is Failure.FORBIDDEN
    assert body["lockedUntil"] == "2025-03-04T05:26:11Z"
    assert body["remainingMinutes"] == 14


def test_locked_body_shape():
    body = locked_body(at(600), at(0))
    assert body == {
        "error": "account_locked",
        "message": body["message"],
        "lockedUntil": "2025-03-04T05:16:07Z",
        "remainingMinutes": 10,
    }
    assert body["message"].endswith("locked for 10 more minutes.")


def test_invalid_credentials_body_shape():
    record = fail(2)
    body = invalid_credentials_body(record, at(2))
    assert body == {
        "error": "invalid_credentials",
        "message": body["message"],
        "attempts": 2,
        "remaining": 3,
        "maxAttempts": 5,
    }
    assert body["message"].endswith("3 attempts remaining.")


def test_lock_triggering_body_shape():
    body = lock_triggered_body()
    assert body == {
        "error": "invalid_credentials",
        "message": body["message"],
        "locked": True,
        "lockoutDuration": "15 minutes",
    }
    assert body["message"].endswith("locked for 15 minutes.")


def test_login_failed_counts_user_and_ip_separately():
    user, ip, failure, body = login_failed(None, fail(3), at(10))
    assert (user.failures, ip.failures) == (1, 4)
    assert failure is Failure.UNAUTHENTICATED
    assert body["attempts"] == 4 and body["remaining"] == 1  # the key closer to locking


def test_login_failed_fifth_failure_gives_lock_body():
    user, ip, failure, body = login_failed(fail(4), None, at(10))
    assert is_locked(user, at(10)) and not is_locked(ip, at(10))
    assert failure is Failure.UNAUTHENTICATED
    assert body["locked"] is True


def test_login_failed_while_locked_counts_nothing():
    user = fail(5)
    ip = fail(1)
    new_user, new_ip, failure, body = login_failed(user, ip, at(20))
    assert (new_user, new_ip) == (user, ip)
    assert failure is Failure.FORBIDDEN and body["error"] == "account_locked"


# --- keys ----------------------------------------------------------------------------


def test_lock_keys_are_the_user_ignoring_case_and_the_address():
    assert lock_keys("Boss", "10.0.0.7") == ["user:boss", "ip:10.0.0.7"]
    assert lock_keys("x", "") == ["user:x", "ip:unknown"]


def test_a_reset_names_an_address_a_user_or_both():
    assert reset_keys("ip:1.2.3.4") == ["ip:1.2.3.4"]
    assert reset_keys("ip:::1") == ["ip:::1"]
    assert reset_keys("user:Boss") == ["user:boss"]
    assert reset_keys("victim") == ["user:victim", "ip:victim"]
    assert reset_keys("127.0.0.1") == ["user:127.0.0.1", "ip:127.0.0.1"]
    assert reset_keys("::1") == ["user:::1", "ip:::1"]


# --- refusals while locked, aggregated -------------------------------------------------


def test_the_first_refusal_is_reported_at_once_the_rest_as_one_count_per_interval():
    refusals = LockedRefusals(interval=60)
    first = refusals.note("user:a", "a", "10.0.0.1", now=0)
    assert (first.key, first.count) == ("user:a", 1)
    assert all(refusals.note("user:a", "a", "10.0.0.1", now=t) is None for t in range(1, 60))
    assert refusals.due(59.5) == []
    (due,) = refusals.due(60)
    assert (due.key, due.count) == ("user:a", 59)
    assert refusals.note("user:a", "a", "10.0.0.1", now=61) is None  # counted for the next report
    assert [r.count for r in refusals.drain()] == [1]


def test_a_flood_of_refusals_is_a_handful_of_reports():
    refusals = LockedRefusals(interval=60)
    reports = [r for t in range(100_000) if (r := refusals.note("ip:10.0.0.9", "x", "10.0.0.9", now=t / 100))]
    reports += refusals.drain()
    assert len(reports) <= 20 and sum(r.count for r in reports) == 100_000


def test_keys_beyond_the_bound_share_one_count_and_quiet_keys_are_forgotten():
    refusals = LockedRefusals(interval=10, max_keys=3)
    for n in range(10):
        refusals.note(f"user:u{n}", f"u{n}", "ip", now=0)
    assert len(refusals) == 4  # three keys and OTHER_KEYS
    assert {r.key for r in refusals.drain()} == {OTHER_KEYS}  # the first report of each was given at once
    refusals.note("user:a", "a", "ip", now=0)
    assert refusals.due(10) == [] and len(refusals) == 0
