"""The bootstrap token: remote set-up of a fresh Shoal, as Pulse's.

At the first start with no admin that can log in from elsewhere (an admin
identity with a password or a certificate, or a "*" token), the identity
service makes one token (24 random bytes as hex), prints it once to its log
and keeps only its SHA-256. `POST /api/security/validate-bootstrap-token`
checks it (204), and `POST /api/security/quick-setup`, over HTTPS or the
unix socket only, uses it up to create the first admin. Once used, or once
an admin exists by other means, it is gone: none is ever made again.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

TOKEN_BYTES = 24
MIN_PASSWORD = 8
_API_TOKEN_RE = re.compile(r"[0-9a-f]{64}")


def new_token() -> str:
    return secrets.token_hex(TOKEN_BYTES)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def matches(raw: str, stored_hash: str) -> bool:
    """`raw` is the token whose hash is stored (constant time); blank never is."""
    if not raw or not raw.strip():
        return False
    return hmac.compare_digest(hash_token(raw.strip()).encode(), stored_hash.encode("ascii", "replace"))


def is_api_token(raw: str) -> bool:
    """What a raw API token looks like (64 lower-case hex characters)."""
    return bool(_API_TOKEN_RE.fullmatch(raw))


def announcement(raw: str) -> str:
    """The one log line that shows the token."""
    return (
        f"bootstrap token for remote set-up (shown once, kept only as its hash): {raw} "
        "-- send it in X-Setup-Token to POST /api/security/quick-setup over HTTPS"
    )
