"""`shoal recovery-token`: a recovery token for this machine's operator,
written to a file in $SHOAL_HOME (mode 0600), never shown on a network.

It asks the identity service directly, as a Shoal service (signed with the
cluster secret in $SHOAL_HOME, so only who can read that directory can ask),
which works even when root on the unix socket has been demoted by a local
identity. The token clears lockouts once (`POST /api/security/recovery
{"action": "reset_lockout", "token": …}` over HTTPS or the unix socket).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
from pathlib import Path

import grpc

FILE_NAME = "recovery-token"


def write_secret(path: Path, text: str) -> None:
    """`text` into `path`, mode 0600 from the start, replacing it atomically."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


async def _ask(settings, minutes: int):
    from services.common.service_client import ServiceClient
    from shoal.v1 import identity_pb2

    async with ServiceClient("identity", settings, caller="cli") as svc:
        request = identity_pb2.RecoveryRequest(action="generate_token", duration=minutes)
        return await svc.stub.Recovery(request, metadata=svc.metadata(), timeout=10)


def cmd_recovery_token(args, settings) -> int:
    path = settings.home / FILE_NAME
    try:
        answer = asyncio.run(_ask(settings, args.minutes))
    except grpc.aio.AioRpcError as error:
        print(f"error: identity service: {error.details() or error.code().name}", file=sys.stderr)
        return 1
    write_secret(path, answer.token + "\n")
    print(f"recovery token written to {path} (mode 0600): valid for {answer.expires_in_minutes} minutes, once, "
          "to clear lockouts (reset_lockout)")
    return 0
