"""API tokens: generation, hashing, records, scopes and the escalation guard.

- A raw token is 32 random bytes as hex (64 characters), shown once. Only
  its SHA-256 (hex) is stored; checks compare hashes in constant time. The
  record keeps the first 6 and last 4 characters as hints.
- Scopes: left out → `["*"]`; validated with the API's exact messages.
- A caller that is itself a token may only create, update, delete or rotate
  tokens whose scopes are a subset of its own (`check_escalation`).
- Scopes map to Shoal access levels through `shoal.access.SCOPE_ACCESS`
  (the table the README shows); a token's level is the highest of its scopes'.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from services.common.durations import parse_duration
from services.common.errors import DomainError, Failure
from services.identity.identities import ACCESS_LEVELS, access_rank
from services.identity.times import as_utc, format_rfc3339
from shoal.access import SCOPE_ACCESS

TOKEN_BYTES = 32
PREFIX_LEN = 6
SUFFIX_LEN = 4
MIN_EXPIRY = timedelta(minutes=1)
PRIMARY_ID = "primary"  # the token POST /api/security/regenerate-token renews

ALL = "*"
MONITORING_READ = "monitoring:read"
MONITORING_WRITE = "monitoring:write"
SETTINGS_READ = "settings:read"
SETTINGS_WRITE = "settings:write"
AUDIT_READ = "audit:read"
AGENT_REPORT = "agent:report"
AGENT_MANAGE = "agent:manage"

# Scope → the Shoal access level it grants: one table, shared with the gateway.
KNOWN_SCOPES: frozenset[str] = frozenset(SCOPE_ACCESS)
# Older names accepted on input and stored under the new name.
LEGACY_SCOPES: dict[str, str] = {
    "host-agent:report": AGENT_REPORT,
    "host-agent:manage": AGENT_MANAGE,
}

assert set(SCOPE_ACCESS.values()) <= set(ACCESS_LEVELS)


class TokenError(DomainError):
    """A token request was refused (invalid unless said otherwise)."""


class EscalationError(TokenError):
    """A token caller tried to act on scopes it does not hold."""

    failure = Failure.FORBIDDEN

    def __init__(self, message: str):
        super().__init__(message, kind="forbidden")


# --- raw tokens and hashes ---------------------------------------------------


def new_raw_token() -> str:
    return secrets.token_hex(TOKEN_BYTES)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def token_hash_matches(raw: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_token(raw).encode(), stored_hash.encode("ascii", "replace"))


# --- records -----------------------------------------------------------------


@dataclass(frozen=True)
class TokenRecord:
    id: str
    name: str
    hash: str
    prefix: str
    suffix: str
    created_at: datetime
    scopes: tuple[str, ...] = (ALL,)
    last_used_at: datetime | None = None
    expires_at: datetime | None = None

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at is not None and as_utc(now) >= as_utc(self.expires_at)

    def matches(self, raw: str, now: datetime) -> bool:
        """The raw token is this one and it has not expired."""
        return token_hash_matches(raw, self.hash) and not self.is_expired(now)

    def has_scope(self, scope: str) -> bool:
        return has_scope(self.scopes, scope)

    def access_level(self) -> str:
        return scopes_access_level(self.scopes)

    def to_dto(self) -> dict[str, Any]:
        """What the API lists: never the hash or the raw token."""
        dto: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "suffix": self.suffix,
            "createdAt": format_rfc3339(self.created_at),
        }
        if self.last_used_at is not None:
            dto["lastUsedAt"] = format_rfc3339(self.last_used_at)
        if self.expires_at is not None:
            dto["expiresAt"] = format_rfc3339(self.expires_at)
        dto["scopes"] = list(self.scopes)
        return dto


def create_token(
    name: str,
    now: datetime,
    scopes: Sequence[str] | None = None,
    expires_in: timedelta | None = None,
    *,
    token_id: str | None = None,
) -> tuple[str, TokenRecord]:
    """A new raw token and its record. `scopes` must already be validated
    (see `validate_scopes`); None means full access."""
    raw = new_raw_token()
    record = TokenRecord(
        id=token_id or str(uuid.uuid4()),
        name=name,
        hash=hash_token(raw),
        prefix=raw[:PREFIX_LEN],
        suffix=raw[-SUFFIX_LEN:],
        created_at=now,
        scopes=tuple(scopes) if scopes is not None else (ALL,),
        expires_at=None if expires_in is None else now + expires_in,
    )
    return raw, record


def rotate_token(record: TokenRecord) -> tuple[str, TokenRecord]:
    """A new secret for the same record: id, name, scopes, creation time and
    expiry stay; the hash and hints change and `lastUsedAt` is cleared."""
    raw = new_raw_token()
    return raw, replace(
        record,
        hash=hash_token(raw),
        prefix=raw[:PREFIX_LEN],
        suffix=raw[-SUFFIX_LEN:],
        last_used_at=None,
    )


def find_token(records: Iterable[TokenRecord], raw: str, now: datetime) -> TokenRecord | None:
    """The unexpired record whose hash matches `raw`. Every candidate is
    compared (in constant time), so timing does not depend on which matched."""
    found = None
    for record in records:
        if token_hash_matches(raw, record.hash) and found is None:
            found = record
    if found is None or found.is_expired(now):
        return None
    return found


def sort_newest_first(records: Iterable[TokenRecord]) -> list[TokenRecord]:
    return sorted(records, key=lambda r: as_utc(r.created_at), reverse=True)


# --- request validation ------------------------------------------------------


def validate_scopes(scopes: Any) -> tuple[str, ...]:
    """The scopes of a create/update body. None (field left out) → ("*",)."""
    if scopes is None:
        return (ALL,)
    if not isinstance(scopes, list | tuple):
        raise TokenError("scopes must be a list of strings")
    if not scopes:
        raise TokenError("select at least one scope or omit the field for full access")
    result: list[str] = []
    for scope in scopes:
        if not isinstance(scope, str):
            raise TokenError("scopes must be a list of strings")
        scope = scope.strip()
        if not scope:
            raise TokenError("scope cannot be blank")
        scope = LEGACY_SCOPES.get(scope, scope)
        if scope not in KNOWN_SCOPES:
            raise TokenError(f'unknown scope "{scope}"')
        if scope not in result:
            result.append(scope)
    if ALL in result and len(result) > 1:
        raise TokenError('"*" cannot be combined with other scopes')
    return tuple(result)


def validate_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise TokenError("token name is required")
    return name.strip()


def parse_go_duration(text: str) -> timedelta:
    """A Go duration string ("720h", "1h30m", "90s", "1.5h") as a timedelta,
    within Go's range; else Go's own words (`time: invalid duration "…"`)."""
    if not isinstance(text, str):
        raise TokenError(f"invalid expiresIn: time: invalid duration {_quote(text)}")
    try:
        seconds = parse_duration(text)
    except ValueError as error:
        raise TokenError(f"invalid expiresIn: {error}") from None
    return timedelta(seconds=seconds)


def parse_expires_in(value: Any) -> timedelta | None:
    """The `expiresIn` of a create body: absent/empty → no expiry; else a Go
    duration from 1m up to Go's largest (2562047h47m16.854775807s)."""
    if value is None or value == "":
        return None
    duration = parse_go_duration(value)
    if duration < MIN_EXPIRY:
        raise TokenError("expiresIn must be at least 1m")
    return duration


@dataclass(frozen=True)
class TokenUpdate:
    name: str | None = None
    scopes: tuple[str, ...] | None = None


def validate_update(body: Mapping[str, Any]) -> TokenUpdate:
    """A PATCH body `{name?, scopes?}`: at least one is required."""
    has_name = body.get("name") is not None
    has_scopes = body.get("scopes") is not None
    if not has_name and not has_scopes:
        raise TokenError("name or scopes is required")
    return TokenUpdate(
        name=validate_name(body["name"]) if has_name else None,
        scopes=validate_scopes(body["scopes"]) if has_scopes else None,
    )


def _quote(value: Any) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- scopes: checks, levels, escalation -------------------------------------


def has_scope(scopes: Iterable[str], required: str) -> bool:
    held = set(scopes)
    return ALL in held or required in held


def scopes_access_level(scopes: Iterable[str]) -> str:
    """The highest Shoal access level any of `scopes` grants ("untrusted" if none)."""
    best = "untrusted"
    for scope in scopes:
        level = SCOPE_ACCESS.get(scope)
        if level is not None and access_rank(level) > access_rank(best):
            best = level
    return best


_GUARD_MESSAGES = {
    "create": 'Cannot grant scope "{}": your token does not have this scope',
    "grant": 'Cannot grant scope "{}": your token does not have this scope',
    "update": 'Cannot update token with scope "{}": your token does not have this scope',
    "delete": 'Cannot delete token with scope "{}": your token does not have this scope',
    "rotate": 'Cannot rotate token with scope "{}": your token does not have this scope',
}


def check_escalation(
    caller_scopes: Iterable[str] | None, action: str, target_scopes: Iterable[str]
) -> None:
    """Refuse (EscalationError, forbidden) a token caller acting on scopes it lacks.

    `caller_scopes` None means the caller is not a token (a session or an
    identity): no restriction. `action` is "create"/"grant" (the new token's
    scopes), "update" (the existing token's), "delete" or "rotate". For a
    PATCH that changes scopes, check "update" on the old scopes and "grant"
    on the new ones.
    """
    if caller_scopes is None:
        return
    if action not in _GUARD_MESSAGES:
        raise ValueError(f"unknown token action {action!r}")
    held = set(caller_scopes)
    if ALL in held:
        return
    for scope in target_scopes:
        if scope not in held:
            raise EscalationError(_GUARD_MESSAGES[action].format(scope))


def required_scope_error(scope: str) -> dict[str, str]:
    """The 403 body when a token lacks the scope a route needs."""
    return {"error": "missing_scope", "requiredScope": scope}


def required_scopes_error(scopes: Sequence[str]) -> dict[str, Any]:
    """The 403 body when any one of several scopes would do."""
    return {"error": "missing_scope", "requiredScopes": list(scopes)}
