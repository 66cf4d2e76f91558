"""Login lockout: failures counted per key (a username, and separately the
client IP); 5 failures lock the key for 15 minutes.

There is no rolling window: the count resets on success or an admin reset,
and — unlike the reference implementation — when a lock has expired the
count starts again from zero, so the next failure does not re-lock at once.
A login is refused if either the user or the IP is locked, and the later of
the two unlock times is reported.

Records are immutable; every function returns the new record for the
caller to store. Times are aware datetimes.

Keys: `user:<name>` (the name ignoring case: Lighthouse users are one user
whatever the case) and `ip:<address>`. A reset names either, or a bare
word meaning both.

Refusals while locked are counted, not each recorded: `LockedRefusals`
reports the first refusal of a locked key at once and the rest as a count,
at most once per interval per key (and one count for every key beyond the
ones it tracks), so a flood cannot fill the audit log.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.common.errors import Failure
from services.identity.times import as_utc, format_rfc3339
from services.identity.userlevels import name_key

THRESHOLD = 5
PERIOD = 900  # seconds locked
STALE_AFTER = 1800  # seconds since the last attempt before an unlocked record may be purged

LOCKED = Failure.FORBIDDEN  # a login refused because the user or address is locked
INVALID_CREDENTIALS = Failure.UNAUTHENTICATED  # a wrong password (even the one that locks)


def lock_keys(name: str, origin: str) -> list[str]:
    """The keys a login attempt by `name` from `origin` counts against: its
    user, then its address."""
    return ["user:" + name_key(name), "ip:" + (origin or "unknown")]


def reset_keys(identifier: str) -> list[str]:
    """The keys a reset of `identifier` clears: `ip:ADDRESS` that address,
    `user:NAME` that user, anything else both the user and the address so
    named."""
    kind, sep, rest = identifier.partition(":")
    if sep and rest and kind == "ip":
        return ["ip:" + rest]
    if sep and rest and kind == "user":
        return ["user:" + name_key(rest)]
    return ["user:" + name_key(identifier), "ip:" + identifier]


@dataclass(frozen=True)
class LockRecord:
    failures: int = 0
    locked_until: datetime | None = None
    last_attempt: datetime | None = None


def is_locked(record: LockRecord | None, now: datetime) -> bool:
    return (
        record is not None
        and record.locked_until is not None
        and as_utc(now) < as_utc(record.locked_until)
    )


def _lock_expired(record: LockRecord, now: datetime) -> bool:
    return record.locked_until is not None and not is_locked(record, now)


def register_failure(
    record: LockRecord | None,
    now: datetime,
    threshold: int = THRESHOLD,
    period: float = PERIOD,
) -> LockRecord:
    """Count one failed attempt; the threshold-th failure locks for `period` s.

    A failure while locked only updates `last_attempt` (the lock is not
    extended). After a lock expires the count restarts from zero.
    """
    record = record or LockRecord()
    if is_locked(record, now):
        return LockRecord(record.failures, record.locked_until, now)
    failures = 0 if _lock_expired(record, now) else record.failures
    failures += 1
    locked_until = now + timedelta(seconds=period) if failures >= threshold else None
    return LockRecord(failures, locked_until, now)


def register_success(record: LockRecord | None = None, now: datetime | None = None) -> LockRecord:
    """A successful login (or an admin reset) clears the record."""
    return LockRecord()


reset = register_success


def remaining_attempts(record: LockRecord | None, now: datetime, threshold: int = THRESHOLD) -> int:
    """Failures left before the key locks (0 while locked)."""
    if record is None or _lock_expired(record, now):
        return threshold
    if is_locked(record, now):
        return 0
    return max(0, threshold - record.failures)


def remaining_minutes(until: datetime, now: datetime) -> int:
    """Whole minutes until `until`, rounded up (at least 1 while in the future)."""
    seconds = (as_utc(until) - as_utc(now)).total_seconds()
    return max(1, math.ceil(seconds / 60)) if seconds > 0 else 0


def is_stale(record: LockRecord, now: datetime, stale_after: float = STALE_AFTER) -> bool:
    """May be purged: not locked, and no attempt for `stale_after` seconds."""
    if is_locked(record, now):
        return False
    if record.last_attempt is None:
        return True
    return (as_utc(now) - as_utc(record.last_attempt)).total_seconds() > stale_after


def locked_until(records: Iterable[LockRecord | None], now: datetime) -> datetime | None:
    """The latest unlock time among the locked records (user, IP), or None."""
    times = [r.locked_until for r in records if r is not None and is_locked(r, now)]
    return max(times, key=as_utc) if times else None  # type: ignore[arg-type]


# --- response bodies ---------------------------------------------------------


def locked_body(until: datetime, now: datetime) -> dict[str, Any]:
    """The body for a login refused because the user or IP is locked."""
    minutes = remaining_minutes(until, now)
    return {
        "error": "account_locked",
        "message": f"Too many failed login attempts. Account is locked for {minutes} more minutes.",
        "lockedUntil": format_rfc3339(until),
        "remainingMinutes": minutes,
    }


def invalid_credentials_body(
    record: LockRecord, now: datetime, threshold: int = THRESHOLD
) -> dict[str, Any]:
    """The body for a wrong password that did not lock."""
    remaining = remaining_attempts(record, now, threshold)
    return {
        "error": "invalid_credentials",
        "message": f"Invalid username or password. {remaining} attempts remaining.",
        "attempts": record.failures,
        "remaining": remaining,
        "maxAttempts": threshold,
    }


def lock_triggered_body(period: float = PERIOD) -> dict[str, Any]:
    """The body for the failure that locks the key."""
    minutes = math.ceil(period / 60)
    duration = f"{minutes} minutes"
    return {
        "error": "invalid_credentials",
        "message": f"Too many failed login attempts. Account locked for {duration}.",
        "locked": True,
        "lockoutDuration": duration,
    }


def check_login(
    user: LockRecord | None, ip: LockRecord | None, now: datetime
) -> tuple[Failure, dict[str, Any]] | None:
    """Before checking credentials: (LOCKED, locked body) if the user or the
    IP is locked, else None."""
    until = locked_until((user, ip), now)
    if until is None:
        return None
    return LOCKED, locked_body(until, now)


def login_failed(
    user: LockRecord | None,
    ip: LockRecord | None,
    now: datetime,
    threshold: int = THRESHOLD,
    period: float = PERIOD,
) -> tuple[LockRecord, LockRecord, Failure, dict[str, Any]]:
    """Count a failed login against both keys: the new user and IP records,
    and the (failure, body) to answer. If either key just locked, the lock
    body; otherwise the counts of whichever key is closer to locking. (If a
    key was already locked, nothing is counted and the refusal of
    `check_login` is answered.)"""
    refused = check_login(user, ip, now)
    if refused is not None:
        return user or LockRecord(), ip or LockRecord(), *refused
    new_user = register_failure(user, now, threshold, period)
    new_ip = register_failure(ip, now, threshold, period)
    if is_locked(new_user, now) or is_locked(new_ip, now):
        return new_user, new_ip, INVALID_CREDENTIALS, lock_triggered_body(period)
    worst = new_user if new_user.failures >= new_ip.failures else new_ip
    return new_user, new_ip, INVALID_CREDENTIALS, invalid_credentials_body(worst, now, threshold)


# --- refusals while locked, aggregated ------------------------------------------

REPORT_EVERY = 60.0  # seconds: at most one audit event per locked key in this time
MAX_TRACKED = 10_000
OTHER_KEYS = "*"  # where refusals for keys beyond MAX_TRACKED are counted


@dataclass(frozen=True)
class RefusalReport:
    key: str  # the locked key ("user:…", "ip:…"), or OTHER_KEYS
    user: str  # the name of the last refused attempt
    ip: str
    count: int  # refusals since the last report of this key


@dataclass
class _Tally:
    user: str
    ip: str
    count: int = 0
    reported_at: float | None = None  # monotonic seconds of the last report


class LockedRefusals:
    """Counts login attempts refused because a key is locked. `note` answers
    a report when one is due (the first refusal of a key at once, then at
    most one per `interval`); `due` the counts whose interval has passed;
    `drain` everything still counted (at shutdown). Times are monotonic
    seconds. Memory is bounded: beyond `max_keys` keys, refusals are counted
    under OTHER_KEYS."""

    def __init__(self, interval: float = REPORT_EVERY, max_keys: int = MAX_TRACKED):
        self.interval = interval
        self.max_keys = max_keys
        self._tallies: dict[str, _Tally] = {}

    def __len__(self) -> int:
        return len(self._tallies)

    def note(self, key: str, user: str, ip: str, now: float) -> RefusalReport | None:
        tally = self._tallies.get(key)
        if tally is None:
            if len(self._tallies) >= self.max_keys:
                key = OTHER_KEYS
                tally = self._tallies.setdefault(key, _Tally(user, ip))
            else:
                tally = self._tallies[key] = _Tally(user, ip)
        tally.user, tally.ip = user, ip
        tally.count += 1
        if tally.reported_at is None or now - tally.reported_at >= self.interval:
            return self._report(key, tally, now)
        return None

    def due(self, now: float) -> list[RefusalReport]:
        """Reports of the counts whose interval has passed; keys quiet for a
        whole interval are forgotten."""
        reports = []
        for key, tally in list(self._tallies.items()):
            if tally.reported_at is not None and now - tally.reported_at < self.interval:
                continue
            if tally.count:
                reports.append(self._report(key, tally, now))
            else:
                del self._tallies[key]
        return reports

    def drain(self) -> list[RefusalReport]:
        reports = [RefusalReport(k, t.user, t.ip, t.count) for k, t in self._tallies.items() if t.count]
        self._tallies.clear()
        return reports

    @staticmethod
    def _report(key: str, tally: _Tally, now: float) -> RefusalReport:
        report = RefusalReport(key, tally.user, tally.ip, tally.count)
        tally.count = 0
        tally.reported_at = now
        return report
