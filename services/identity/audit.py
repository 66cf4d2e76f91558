"""Signed audit events.

Every login, failed login, lockout and admin change is recorded as an
`AuditEvent` and signed with HMAC-SHA256 under a 32-byte server key, so
`GET /api/audit/{id}/verify` can prove a stored event untouched.

Signature: `"v2:" + hex(HMAC-SHA256(key, message))`, lower-case hex, where
`message` is exactly these bytes, in order:

    b"shoal.audit.event" 0x00 b"v2" 0x00          domain string
    u64be(len(id))        id                      UTF-8
    i64be(timestamp)                              Unix seconds, no length prefix
    u64be(len(event))     event                   UTF-8
    u64be(len(user))      user                    UTF-8
    u64be(len(ip))        ip                      UTF-8
    u64be(len(path))      path                    UTF-8
    0x01 | 0x00                                   success
    u64be(len(details))   details                 UTF-8

`u64be` is an unsigned 64-bit big-endian byte count of the UTF-8 field that
follows; `i64be` a signed 64-bit big-endian integer. The timestamp is
truncated to whole seconds (floor), so sub-second precision lost in storage
does not break a signature. Length prefixes make the encoding unambiguous
(no field can spill into the next). `verify` accepts only this form: an
empty, malformed or otherwise-prefixed signature fails closed.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import re
import secrets
import struct
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from services.identity.times import as_utc, format_rfc3339, utcnow

KEY_BYTES = 32
SIGNATURE_PREFIX = "v2:"
DOMAIN = b"shoal.audit.event\x00v2\x00"
_SIGNATURE_RE = re.compile(r"v2:[0-9a-f]{64}")

# Event types Shoal writes.
LOGIN = "login"  # success=False for a failed login
LOGOUT = "logout"
ACCOUNT_LOCKED = "account_locked"
LOCKOUT_RESET = "lockout_reset"
PASSWORD_CHANGE = "password_change"
IDENTITIES_CHANGED = "identities_changed"
USER_CREATED = "user_created"
USER_UPDATED = "user_updated"
TOKEN_CREATED = "token_created"
TOKEN_UPDATED = "token_updated"
TOKEN_DELETED = "token_deleted"
TOKEN_ROTATED = "token_rotated"
RECOVERY_TOKEN_CREATED = "recovery_token_created"


@dataclass(frozen=True)
class AuditEvent:
    id: str
    timestamp: datetime
    event: str
    user: str = ""
    ip: str = ""
    path: str = ""
    success: bool = True
    details: str = ""
    signature: str = ""

    @classmethod
    def new(
        cls,
        event: str,
        *,
        user: str = "",
        ip: str = "",
        path: str = "",
        success: bool = True,
        details: str = "",
        timestamp: datetime | None = None,
    ) -> AuditEvent:
        """An unsigned event with a fresh uuid4 id, stamped now unless given."""
        return cls(
            id=str(uuid.uuid4()),
            timestamp=as_utc(timestamp) if timestamp is not None else utcnow(),
            event=event,
            user=user,
            ip=ip,
            path=path,
            success=success,
            details=details,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "timestamp": format_rfc3339(self.timestamp),
            "event": self.event,
            "user": self.user,
            "ip": self.ip,
            "path": self.path,
            "success": self.success,
            "details": self.details,
            "signature": self.signature,
        }


def _field(text: str) -> bytes:
    data = text.encode("utf-8", "surrogatepass")
    return struct.pack(">Q", len(data)) + data


def canonical_bytes(event: AuditEvent) -> bytes:
    """The signed message (layout in the module docstring)."""
    seconds = math.floor(as_utc(event.timestamp).timestamp())
    return b"".join(
        (
            DOMAIN,
            _field(event.id),
            struct.pack(">q", seconds),
            _field(event.event),
            _field(event.user),
            _field(event.ip),
            _field(event.path),
            b"\x01" if event.success else b"\x00",
            _field(event.details),
        )
    )


def sign(key: bytes, event: AuditEvent) -> str:
    if not key:
        raise ValueError("audit signing key is empty")
    mac = hmac.new(key, canonical_bytes(event), hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + mac


def signed(key: bytes, event: AuditEvent) -> AuditEvent:
    """The event with its signature filled in."""
    return replace(event, signature=sign(key, event))


def verify(key: bytes, event: AuditEvent) -> bool:
    """True only if `event.signature` is a v2 signature of this event under `key`."""
    signature = event.signature
    if not key or not isinstance(signature, str) or not _SIGNATURE_RE.fullmatch(signature):
        return False
    try:
        expected = sign(key, event)
    except (ValueError, OverflowError, struct.error):
        return False
    return hmac.compare_digest(expected.encode(), signature.encode())


def load_or_create_key(path: str | os.PathLike[str]) -> bytes:
    """The signing key at `path`, created (32 random bytes, mode 0600) if absent.

    Creation is atomic: the key is written to a temporary file in the same
    directory and hard-linked into place, which fails if another process got
    there first (then its key is used). An existing file of the wrong size is
    an error, never silently replaced: that would void every signature.
    """
    path = Path(path)
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = secrets.token_bytes(KEY_BYTES)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            os.write(fd, key)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return _read_key(path)
        except OSError:
            # A filesystem without hard links: rename (last writer wins).
            os.replace(tmp, path)
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
    _fsync_dir(path.parent)
    return key


def _read_key(path: Path) -> bytes:
    key = path.read_bytes()
    if len(key) != KEY_BYTES:
        raise ValueError(f"audit signing key {path} has {len(key)} bytes, expected {KEY_BYTES}")
    return key


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
