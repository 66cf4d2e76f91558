"""Configuration, read once at start: flags, then SHOAL_* environment, then defaults."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

SECRET_FILE = "secret"
LOG_FORMATS = ("text", "json")
# The four gRPC services (shoal.descriptors.SERVICES names their protos; a
# test checks the two agree). Kept here so that `shoal run` loads no protos.
SERVICE_NAMES = ("identity", "plan", "beacon", "application")

# Where beacons (node agents) may be: loopback and the private ranges. Link-local
# and cloud-metadata addresses are refused whatever this holds (services/beacon/networks.py).
DEFAULT_BEACON_NETWORKS = ("127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")


@dataclass(frozen=True)
class Settings:
    home: Path
    secret: bytes
    database_url: str = ""  # "" = SQLite files in home
    schema_prefix: str = "shoal_"  # PostgreSQL: each service's tables in schema PREFIX+service
    pool_min: int = 1
    pool_max: int = 5
    grace: float = 10.0  # seconds to finish in-flight RPCs on SIGTERM
    log_level: str = "INFO"
    log_format: str = "text"  # "text" or "json" (one object per line, with request ids)
    http_address: str = ""  # the gateway's plain HTTP listener, if any
    https_address: str = ""
    addresses: dict[str, str] = field(default_factory=dict)  # service -> gRPC target
    # service -> where it answers GET /metrics (HOST:PORT, unix:PATH; "" = nowhere)
    metrics_addresses: dict[str, str] = field(default_factory=dict)
    # identity: password hashing's bounds, and the audit log's signing key
    hash_concurrency: int = 2  # hashes computed at once
    hash_pending: int = 64  # checks waiting beyond those; more → busy
    audit_key_file: str = ""  # "" = home / "audit-signing.key" (replicas point at one shared key)
    # beacon: the networks beacon and instance addresses must be in (SHOAL_BEACON_NETWORKS, CIDRs)
    beacon_networks: tuple[str, ...] = DEFAULT_BEACON_NETWORKS
    # channels to node agents (beacon, application, the gateway's proxy) close after this long unused
    agent_idle_seconds: float = 60.0
    # gateway: answer the view-served reads from its views (SHOAL_GATEWAY_VIEWS=0: every read asks the RPC)
    gateway_views: bool = True
    # gateway: how long it keeps a resolved caller (and twice that, a reported lockout)
    # when no generation tells it of a change (SHOAL_GATEWAY_CACHE_SECONDS)
    gateway_cache_seconds: float = 1.0

    def address(self, service: str) -> str:
        return self.addresses[service]

    def metrics_address(self, process: str) -> str:
        return self.metrics_addresses.get(process, "")

    def database_for(self, service: str) -> str:
        """The database URL for `service`, or its SQLite file in home."""
        return self.database_url or str(self.home / f"{service}.db")


def default_home() -> Path:
    return Path(os.environ.get("SHOAL_HOME") or Path.home() / ".shoal")


def load_secret(home: Path, env: dict[str, str]) -> bytes:
    """SHOAL_SECRET, else the secret kept in home (made on first run, mode 0600)."""
    if env.get("SHOAL_SECRET"):
        return env["SHOAL_SECRET"].encode()
    path = home / SECRET_FILE
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    value = os.urandom(32).hex().encode()  # secrets.token_hex(32), without loading libcrypto (hmac) here
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as f:
        f.write(value)
        f.flush()
        os.fsync(f.fileno())
    return value


def parse_networks(text: str) -> tuple[str, ...]:
    """SHOAL_BEACON_NETWORKS: comma-separated CIDRs (`10.0.0.0/8, ::1/128`),
    normalised; ValueError naming an entry that is not one."""
    networks = []
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        try:
            networks.append(str(ipaddress.ip_network(entry, strict=False)))
        except ValueError:
            raise ValueError(f'SHOAL_BEACON_NETWORKS: "{entry}" is not a network (CIDR such as 10.0.0.0/8)') from None
    if not networks:
        raise ValueError("SHOAL_BEACON_NETWORKS names no network")
    return tuple(networks)


def load_settings(env: dict[str, str] | None = None, **overrides) -> Settings:
    env = dict(os.environ if env is None else env)
    home = Path(overrides.pop("home", None) or env.get("SHOAL_HOME") or default_home())
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    (home / "run").mkdir(exist_ok=True, mode=0o700)
    addresses = {
        name: env.get(f"SHOAL_{name.upper()}_ADDR") or f"unix:{home / 'run' / name}.sock"
        for name in SERVICE_NAMES
    }
    values = {
        "home": home,
        "secret": load_secret(home, env),
        "database_url": env.get("SHOAL_DATABASE_URL", ""),
        "schema_prefix": env.get("SHOAL_DATABASE_SCHEMA_PREFIX", "shoal_"),
        "pool_min": int(env.get("SHOAL_DB_POOL_MIN", "1")),
        "pool_max": int(env.get("SHOAL_DB_POOL_MAX", "5")),
        "grace": float(env.get("SHOAL_GRACE", "10")),
        "log_level": env.get("SHOAL_LOG_LEVEL", "INFO"),
        "log_format": env.get("SHOAL_LOG_FORMAT", "text"),
        "http_address": env.get("SHOAL_HTTP_ADDRESS", ""),
        "https_address": env.get("SHOAL_HTTPS_ADDRESS", ""),
        "addresses": addresses,
        "metrics_addresses": {name: env[f"SHOAL_{name.upper()}_METRICS_ADDR"] for name in SERVICE_NAMES
                              if env.get(f"SHOAL_{name.upper()}_METRICS_ADDR")},
        "hash_concurrency": int(env.get("SHOAL_HASH_CONCURRENCY", "2")),
        "hash_pending": int(env.get("SHOAL_HASH_PENDING", "64")),
        "audit_key_file": env.get("SHOAL_AUDIT_KEY_FILE", ""),
        "beacon_networks": (parse_networks(env["SHOAL_BEACON_NETWORKS"]) if env.get("SHOAL_BEACON_NETWORKS")
                            else DEFAULT_BEACON_NETWORKS),
        "agent_idle_seconds": float(env.get("SHOAL_AGENT_IDLE_SECONDS", "60")),
        "gateway_views": env.get("SHOAL_GATEWAY_VIEWS", "1").lower() not in ("0", "false", "no", "off"),
        "gateway_cache_seconds": float(env.get("SHOAL_GATEWAY_CACHE_SECONDS", "1")),
    }
    values.update({k: v for k, v in overrides.items() if v is not None})
    if values["log_format"] not in LOG_FORMATS:
        raise ValueError(f'SHOAL_LOG_FORMAT: "{values["log_format"]}" is not one of {", ".join(LOG_FORMATS)}')
    return Settings(**values)
