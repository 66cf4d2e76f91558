"""Signed audit events, chained.

Every login, failed login, lockout and admin change is recorded as an
`AuditEvent` and signed with HMAC-SHA256 under a 32-byte server key, so
`GET /api/audit/{id}/verify` can prove a stored event untouched. Each event
also carries its place in one chain: its sequence number and the signature
of the event before it, both signed with it. So an edited event fails its
own signature, and a deleted one breaks the chain at its neighbours; the
store also keeps the chain's head (last sequence and signature, under a MAC
of its own), so events cut from the end are noticed too (`check_chain`).

Signature: `"v3:" + hex(HMAC-SHA256(key, message))`, lower-case hex, where
`message` is exactly these bytes, in order:

    b"shoal.audit.event" 0x00 b"v3" 0x00          domain string
    u64be(seq)                                    its place in the chain, from 1
    u64be(len(previous))  previous                the previous event's signature ("" for the first)
    u64be(len(id))        id                      UTF-8
    i64be(timestamp)                              Unix seconds, no length prefix
    u64be(len(event))     event                   UTF-8
    u64be(len(user))      user                    UTF-8
    u64be(len(ip))        ip                      UTF-8
    u64be(len(path))      path                    UTF-8
    0x01 | 0x00                                   success
    u64be(len(details))   details                 UTF-8

`u64be` is an unsigned 64-bit big-endian integer (a byte count of the UTF-8
field that follows, or the sequence); `i64be` a signed 64-bit big-endian
integer. The timestamp is truncated to whole seconds (floor), so sub-second
precision lost in storage does not break a signature. Length prefixes make
the encoding unambiguous (no field can spill into the next).

Events written before chaining (`"v2:"`, the same message without the
domain's v3, the sequence and the previous signature) still verify as
themselves; the chain begins with the first v3 event. `verify` accepts only
these two forms: an empty, malformed or otherwise-prefixed signature fails
closed.
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

from services.common.fsutil import fsync_directory
from services.identity.times import as_utc, format_rfc3339, utcnow

KEY_BYTES = 32
SIGNATURE_PREFIX = "v3:"
LEGACY_PREFIX = "v2:"
DOMAIN = b"shoal.audit.event\x00v3\x00"
LEGACY_DOMAIN = b"shoal.audit.event\x00v2\x00"
HEAD_DOMAIN = b"shoal.audit.head\x00v1\x00"
_SIGNATURE_RE = re.compile(r"v[23]:[0-9a-f]{64}")

VERIFIED = "Event signature verified"
NOT_VERIFIED = "Event signature verification failed"

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
LOGIN_REFUSED_LOCKED = "login_refused_locked"  # aggregated: one event per key and interval, with a count
BOOTSTRAP_TOKEN_CREATED = "bootstrap_token_created"
QUICK_SETUP = "quick_setup"


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
    seq: int = 0  # its place in the chain (0: not yet appended)
    previous: str | None = ""  # the previous event's signature; None for an event from before chaining

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
            "sequence": self.seq,
            "previousSignature": self.previous or "",
        }


def _field(text: str) -> bytes:
    data = text.encode("utf-8", "surrogatepass")
    return struct.pack(">Q", len(data)) + data


def canonical_bytes(event: AuditEvent, legacy: bool = False) -> bytes:
    """The signed message (layout in the module docstring); `legacy`: the v2
    form of events from before chaining."""
    seconds = math.floor(as_utc(event.timestamp).timestamp())
    chain = (LEGACY_DOMAIN,) if legacy else (DOMAIN, struct.pack(">Q", event.seq), _field(event.previous or ""))
    return b"".join(
        (
            *chain,
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


def sign(key: bytes, event: AuditEvent, legacy: bool = False) -> str:
    if not key:
        raise ValueError("audit signing key is empty")
    mac = hmac.new(key, canonical_bytes(event, legacy), hashlib.sha256).hexdigest()
    return (LEGACY_PREFIX if legacy else SIGNATURE_PREFIX) + mac


def signed(key: bytes, event: AuditEvent) -> AuditEvent:
    """The event with its signature filled in (its `seq` and `previous`
    already set: the store chains it)."""
    return replace(event, signature=sign(key, event))


def chained(key: bytes, event: AuditEvent, seq: int, previous: str) -> AuditEvent:
    """`event` as the `seq`-th of the chain, after the event signed `previous`."""
    return signed(key, replace(event, seq=seq, previous=previous))


def verify(key: bytes, event: AuditEvent) -> bool:
    """True only if `event.signature` is a signature of this event under
    `key`: v3 (with its place in the chain), or v2 for an event from before
    chaining (one with no previous signature)."""
    signature = event.signature
    if not key or not isinstance(signature, str) or not _SIGNATURE_RE.fullmatch(signature):
        return False
    legacy = signature.startswith(LEGACY_PREFIX)
    if legacy != (event.previous is None):  # v2 only before chaining, v3 only in the chain
        return False
    try:
        expected = sign(key, event, legacy)
    except (ValueError, OverflowError, struct.error):
        return False
    return hmac.compare_digest(expected.encode(), signature.encode())


# --- the chain -------------------------------------------------------------------


@dataclass(frozen=True)
class Head:
    """The chain's last event, as the store keeps it beside the events."""

    seq: int
    signature: str
    mac: str = ""


def head_mac(key: bytes, seq: int, signature: str) -> str:
    return hmac.new(key, HEAD_DOMAIN + struct.pack(">Q", seq) + _field(signature), hashlib.sha256).hexdigest()


def new_head(key: bytes, event: AuditEvent) -> Head:
    return Head(event.seq, event.signature, head_mac(key, event.seq, event.signature))


@dataclass(frozen=True)
class ChainCheck:
    verified: bool
    message: str


def check_chain(
    key: bytes,
    event: AuditEvent,
    before: AuditEvent | None,
    after: AuditEvent | None,
    head: Head | None,
) -> ChainCheck:
    """Whether `event` is untouched and still in its place: its own
    signature; the event before it (seq - 1) is there and signed what this
    one names as previous; the next event after it is seq + 1 and names this
    one; and when none follows, the signed head says this is the last."""
    if not verify(key, event):
        return ChainCheck(False, NOT_VERIFIED)
    if event.previous is not None:
        if event.seq == 1 and event.previous:
            return ChainCheck(False, "Audit chain broken: the first event names a previous one")
        if event.seq > 1 and (before is None or before.seq != event.seq - 1
                              or not hmac.compare_digest(before.signature, event.previous)):
            return ChainCheck(False, f"Audit chain broken: event #{event.seq - 1}, before this one, is missing or altered")
    if after is not None:
        if after.seq != event.seq + 1 or (
            after.previous is not None and not hmac.compare_digest(after.previous, event.signature)
        ):
            return ChainCheck(False, f"Audit chain broken: event #{event.seq + 1}, after this one, is missing or altered")
    elif (head is not None or event.previous is not None) and not _is_head(key, event, head):
        return ChainCheck(False, "Audit chain broken: events after this one are missing")
    return ChainCheck(True, VERIFIED)


def _is_head(key: bytes, event: AuditEvent, head: Head | None) -> bool:
    return (
        head is not None
        and hmac.compare_digest(head.mac, head_mac(key, head.seq, head.signature))
        and head.seq == event.seq
        and hmac.compare_digest(head.signature, event.signature)
    )


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
    fsync_directory(path.parent)
    return key


def _read_key(path: Path) -> bytes:
    key = path.read_bytes()
    if len(key) != KEY_BYTES:
        raise ValueError(f"audit signing key {path} has {len(key)} bytes, expected {KEY_BYTES}")
    return key
