"""A plan agent as its own beacon.

A beacon registry (the beacon service, the gateway's `/d/` proxy, the
application service) reaches an agent with the agent's beacon token in the
`shoal-beacon-token` metadata instead of a signed caller: agents on other
machines do not share the cluster secret. The token is given with
`shoal service plan --beacon-token TOKEN`; without one, a token is generated
on first start, printed once, and only its SHA-256 is kept in
`$SHOAL_HOME/beacon-token.sha256`. A caller presenting it acts as an admin
of this agent (all plan RPCs, including the INTERNAL ListAgentInstances).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from services.common.agent_channels import METADATA_KEY
from services.common.signing import Caller

DIGEST_FILE = "beacon-token.sha256"
CALLER = "beacon-token"


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True)
class BeaconToken:
    """The agent's token, held as its SHA-256 only."""

    digest: bytes

    def matches(self, presented: str) -> bool:
        if not presented:
            return False
        return hmac.compare_digest(_digest(presented), self.digest)


def load_token(home: Path, given: str = "") -> tuple[BeaconToken, str | None]:
    """The agent's token, and the token text when it was just generated
    (to print once); a given token wins over the one kept in `home`."""
    if given:
        return BeaconToken(_digest(given)), None
    path = home / DIGEST_FILE
    try:
        return BeaconToken(bytes.fromhex(path.read_text().strip())), None
    except FileNotFoundError:
        pass
    token = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another start made it first
        return BeaconToken(bytes.fromhex(path.read_text().strip())), None
    with os.fdopen(fd, "w") as f:
        f.write(_digest(token).hex() + "\n")
        f.flush()
        os.fsync(f.fileno())
    return BeaconToken(_digest(token)), token


def announce(token: str, home: Path) -> None:
    """Print a generated token, once (only its hash is kept)."""
    print(
        f"plan: generated beacon token (shown only now; its hash is in {home / DIGEST_FILE}): {token}",
        file=sys.stderr,
        flush=True,
    )


def authenticator(token: BeaconToken):
    """A CallerInterceptor authenticator accepting the beacon token."""
    caller = Caller(identity=CALLER, access="internal", uid=os.getuid())

    def authenticate(metadata) -> Caller | None:
        values = [v for k, v in metadata or () if k == METADATA_KEY]
        if len(values) != 1:
            return None
        value = values[0] if isinstance(values[0], str) else values[0].decode()
        return caller if token.matches(value) else None

    return authenticate


def reported_address(listen: str) -> str:
    """The address to report for this agent: its TCP listen address when it
    names a host, else "" (the registry then uses the address it dialled)."""
    if not listen or listen.startswith("unix:"):
        return ""
    host = listen.rsplit(":", 1)[0].strip("[]")
    return "" if host in ("", "0.0.0.0", "::") else listen


def agent_name() -> str:
    name = socket.gethostname().split(".")[0]
    cleaned = "".join(c if c.isalnum() or c in "-_" else "-" for c in name).strip("-")
    return cleaned or "agent"
