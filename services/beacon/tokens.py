"""Beacon tokens at rest: AES-256-GCM under a key derived from the cluster
secret (HKDF-SHA256), bound to the beacon's address so a ciphertext copied
to another beacon's row does not decrypt. Tokens are never returned by an
HTTP route; only ResolveInstance (INTERNAL) hands one to the gateway or the
application service for one call."""

from __future__ import annotations

import os

VERSION = b"\x01"
_NONCE = 12
_INFO = b"shoal beacon token v1"


class TokenDecryptError(Exception):
    """A stored token does not decrypt (another secret, or a changed row)."""


class TokenCipher:
    """The cipher is made on first use: a beacon service that stores no
    token never loads `cryptography` (about 10 MB)."""

    def __init__(self, secret: bytes):
        if not secret:
            raise ValueError("the cluster secret is empty")
        self._secret = secret
        self._cipher = None

    @property
    def _aead(self):
        if self._cipher is None:
            from cryptography.hazmat.primitives import hashes
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM
            from cryptography.hazmat.primitives.kdf.hkdf import HKDF

            key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(self._secret)
            self._cipher = AESGCM(key)
        return self._cipher

    def encrypt(self, token: str, address: str) -> bytes:
        nonce = os.urandom(_NONCE)
        return VERSION + nonce + self._aead.encrypt(nonce, token.encode(), address.encode())

    def decrypt(self, blob: bytes, address: str) -> str:
        blob = bytes(blob)
        if blob[:1] != VERSION or len(blob) < 1 + _NONCE + 16:
            raise TokenDecryptError(f"the stored token of {address} is not in a known format")
        nonce, sealed = blob[1 : 1 + _NONCE], blob[1 + _NONCE :]
        from cryptography.exceptions import InvalidTag

        try:
            return self._aead.decrypt(nonce, sealed, address.encode()).decode()
        except InvalidTag:
            raise TokenDecryptError(
                f"the stored token of {address} does not decrypt (was SHOAL_SECRET changed?)"
            ) from None
