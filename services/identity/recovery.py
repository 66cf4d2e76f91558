"""Recovery tokens: single-use, short-lived.

A token is 32 random bytes as hex, shown once; only its SHA-256 is kept,
with where it was made (Pulse binds it to that client IP) and an expiry of
1–60 minutes (default 15). `consume` accepts a token once, from the same
address, before it expires, and marks it used. `cleanup` drops expired
tokens and tokens used more than a day ago. `RecoveryTokens` holds the
records in memory; the owner persists `to_dict()` of each if it wants them
to survive a restart.

Shoal's identity service makes a token only for an admin peer on the unix
socket or for `shoal recovery-token` (a Shoal service on this machine), and
its store lets the token be used once from wherever it is presented (HTTPS
or the socket): where it was made is recorded, not required.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from services.common.errors import DomainError
from services.identity.times import as_utc, format_rfc3339, parse_rfc3339

TOKEN_BYTES = 32
DEFAULT_MINUTES = 15
MIN_MINUTES = 1
MAX_MINUTES = 60
KEEP_USED = timedelta(hours=24)


class RecoveryError(DomainError):
    """A recovery request was refused (always invalid)."""


def hash_recovery_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def validate_minutes(minutes: Any) -> int:
    """The requested lifetime: None → 15; else an integer 1–60."""
    if minutes is None:
        return DEFAULT_MINUTES
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        raise RecoveryError("duration must be a whole number of minutes")
    if not MIN_MINUTES <= minutes <= MAX_MINUTES:
        raise RecoveryError(f"duration must be between {MIN_MINUTES} and {MAX_MINUTES} minutes")
    return minutes


@dataclass(frozen=True)
class RecoveryToken:
    hash: str
    ip: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None

    def is_expired(self, now: datetime) -> bool:
        return as_utc(now) >= as_utc(self.expires_at)

    def usable(self, ip: str, now: datetime) -> bool:
        return (
            self.used_at is None
            and not self.is_expired(now)
            and hmac.compare_digest(self.ip.encode(), ip.encode())
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "hash": self.hash,
            "ip": self.ip,
            "createdAt": format_rfc3339(self.created_at),
            "expiresAt": format_rfc3339(self.expires_at),
            "usedAt": None if self.used_at is None else format_rfc3339(self.used_at),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RecoveryToken:
        used = data.get("usedAt")
        return cls(
            hash=data["hash"],
            ip=data["ip"],
            created_at=parse_rfc3339(data["createdAt"]),
            expires_at=parse_rfc3339(data["expiresAt"]),
            used_at=None if used is None else parse_rfc3339(used),
        )


class RecoveryTokens:
    """The recovery tokens, keyed by their SHA-256 hex."""

    def __init__(self, records: dict[str, RecoveryToken] | None = None):
        self.records: dict[str, RecoveryToken] = dict(records or {})

    def create(self, ip: str, now: datetime, minutes: Any = None) -> tuple[str, RecoveryToken]:
        """A new raw token bound to `ip`, valid for `minutes` (1–60, default 15)."""
        if not ip:
            raise RecoveryError("a recovery token must be bound to a client address")
        lifetime = validate_minutes(minutes)
        raw = secrets.token_hex(TOKEN_BYTES)
        record = RecoveryToken(
            hash=hash_recovery_token(raw),
            ip=ip,
            created_at=now,
            expires_at=now + timedelta(minutes=lifetime),
        )
        self.records[record.hash] = record
        return raw, record

    def validate(self, raw: str, ip: str, now: datetime) -> bool:
        """Whether `raw` would be accepted from `ip` now, without using it up."""
        record = self.records.get(hash_recovery_token(raw)) if raw else None
        return record is not None and record.usable(ip, now)

    def consume(self, raw: str, ip: str, now: datetime) -> bool:
        """Accept `raw` from `ip` once: True and marked used, else False."""
        if not self.validate(raw, ip, now):
            return False
        key = hash_recovery_token(raw)
        self.records[key] = replace(self.records[key], used_at=now)
        return True

    def cleanup(self, now: datetime) -> int:
        """Drop expired tokens and tokens used more than a day ago; how many went."""
        stale = [
            key
            for key, r in self.records.items()
            if r.is_expired(now)
            or (r.used_at is not None and as_utc(now) - as_utc(r.used_at) > KEEP_USED)
        ]
        for key in stale:
            del self.records[key]
        return len(stale)
