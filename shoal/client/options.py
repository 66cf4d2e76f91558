"""Where to connect (Info) and how (DialOpts), kept apart as Juju does."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Info:
    """Addresses are unix socket paths (`/path/.shoal.socket` or
    `unix:/path`) and `http://` / `https://` URLs. The address that worked
    moves to the front of `addresses` after a successful open."""

    addresses: list[str]
    ca_cert: str = ""  # PEM trusted for https addresses ("" = system roots)
    client_cert: str = ""  # path to a PEM client certificate (for a `cert` identity)
    client_key: str = ""

    def __post_init__(self):
        if not self.addresses:
            raise ValueError("Info needs at least one address")
        for address in self.addresses:
            if not (address.startswith(("http://", "https://", "unix:", "/"))):
                raise ValueError(f"not a socket path or http(s) URL: {address!r}")


@dataclass
class DialOpts:
    dial_address_interval: float = 0.05  # between starting dials to successive addresses
    dial_timeout: float = 10.0  # the dial phase (0 = none)
    timeout: float = 600.0  # dial plus login (0 = none)
    retry_delay: float = 0.0  # between failed dials to one address (0 = one attempt)
    ping_period: float = 60.0
    ping_timeout: float = 30.0
    request_timeout: float = 30.0  # each API call (long waits add their own)
    follow_redirects: bool = False  # follow a gateway's redirect once, without credentials
    extra: dict = field(default_factory=dict)
