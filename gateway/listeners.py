"""Where the gateway listens: the unix socket (peer credentials), plain HTTP,
and HTTPS with a given or a generated self-signed certificate."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import socket
import ssl
import struct
from pathlib import Path

from aiohttp import web

from gateway.sockets import split_address

__all__ = ["fingerprint", "peer_uid", "self_signed", "split_address", "transport_kind"]

_UCRED = struct.Struct("3i")


def peer_uid(request: web.Request) -> int | None:
    """The uid of the process at the other end of a unix socket, else None."""
    transport = request.transport
    sock = transport.get_extra_info("socket") if transport else None
    if sock is None or sock.family != socket.AF_UNIX:
        return None
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
    _pid, uid, _gid = _UCRED.unpack(raw)
    return uid


def transport_kind(request: web.Request) -> str:
    """"unix", "https" or "http"."""
    transport = request.transport
    if transport is None:
        return "http"
    if transport.get_extra_info("sslcontext") is not None:
        return "https"
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family == socket.AF_UNIX:
        return "unix"
    return "http"


def self_signed(tls_dir: Path) -> tuple[Path, Path]:
    """A certificate and key in `tls_dir`, generated on first use (by one of
    the gateway workers that start together: the others wait for it)."""
    cert_path, key_path = tls_dir / "cert.pem", tls_dir / "key.pem"
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    tls_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(tls_dir / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not (cert_path.exists() and key_path.exists()):
                _generate(cert_path, key_path)
        finally:
            with contextlib.suppress(OSError):
                fcntl.flock(lock, fcntl.LOCK_UN)
    return cert_path, key_path


def _generate(cert_path: Path, key_path: Path) -> None:
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "shoal")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    key_bytes = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key_bytes)
    partial = cert_path.with_name(cert_path.name + ".partial")  # the certificate appears whole, after its key
    partial.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    os.replace(partial, cert_path)


def fingerprint(cert_path: Path) -> str:
    der = ssl.PEM_cert_to_DER_cert(cert_path.read_text())
    return hashlib.sha256(der).hexdigest()
