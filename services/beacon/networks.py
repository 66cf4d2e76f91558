"""Which addresses beacons and their instances may be at, decided before
anything is dialled.

- Only addresses in the configured networks (Settings.beacon_networks,
  from SHOAL_BEACON_NETWORKS; default loopback plus the private ranges).
- Never a link-local or cloud-metadata address, an unspecified, multicast
  or broadcast one, whatever is configured (an IPv4 address inside an
  IPv4-mapped or NAT64 IPv6 address counts as that IPv4 address).
- Never one of this suite's own listeners (the gateway's HTTP and HTTPS
  ports, a service's TCP port).
- Never a gRPC target scheme (`unix:`, `unix-abstract:`, `dns:`, `vsock:`
  ...): an address is `host:port` and is dialled only as the IP addresses
  its host was checked to be (`pinned_target`), so what is dialled is what
  was checked (a name cannot resolve one way for the check and another for
  the dial).

`AddressPolicy.check` resolves a host name (bounded by RESOLVE_TIMEOUT) and
gives the gRPC target to dial, or raises `NotAllowed` with the reason for
the log; callers answer every refusal with one message (`REFUSED`), so the
answer says nothing about the address beyond "not allowed".
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

from services.beacon.addresses import check_address

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

RESOLVE_TIMEOUT = 2.0
MAX_RESOLVED = 16

# Refused even when a configured network holds them.
NEVER = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8",            # "this network"; 0.0.0.0 reaches the local host
    "169.254.0.0/16",       # IPv4 link-local, and the cloud metadata service at 169.254.169.254
    "100.100.100.200/32",   # Alibaba Cloud metadata
    "192.0.0.192/32",       # Oracle Cloud metadata
    "224.0.0.0/4",          # multicast
    "255.255.255.255/32",   # broadcast
    "::/128",               # unspecified
    "fe80::/10",            # IPv6 link-local
    "fd00:ec2::254/128",    # AWS metadata over IPv6
    "ff00::/8",             # IPv6 multicast
))
NAT64 = ipaddress.ip_network("64:ff9b::/96")

# Target schemes gRPC would take from the text before ":" (never an address here).
GRPC_SCHEMES = frozenset({"unix", "unix-abstract", "dns", "ipv4", "ipv6", "vsock", "xds", "google-c2p", "localhost"})

Resolver = Callable[[str, int], Awaitable[Sequence[str]]]


class NotAllowed(Exception):
    """The address may not be dialled; the message says why (for the log)."""


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (IPv4-mapped or NAT64), if any."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip in NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def split_host_port(address: str) -> tuple[str, int]:
    host, _, port = check_address(address).rpartition(":")
    return host.strip("[]"), int(port)


@dataclass(frozen=True)
class Listener:
    """One of this suite's own TCP listeners."""

    host: str  # an IP address, a name, or "" / "0.0.0.0" / "::" for every address
    port: int

    def matches(self, ip: IPAddress, port: int) -> bool:
        """Whether dialling ip:port reaches this listener. A listener on every
        address or on a name is taken to be reached on loopback (this
        machine's other addresses are not known here)."""
        if port != self.port:
            return False
        try:
            own = ipaddress.ip_address(self.host.strip("[]"))
        except ValueError:
            return ip.is_loopback
        if own.is_unspecified:
            return ip.is_loopback or ip == own
        return own == ip or (own.is_loopback and ip.is_loopback)


def listeners_of(addresses: Iterable[str]) -> tuple[Listener, ...]:
    """The TCP listeners among addresses such as `127.0.0.1:4000`, `:4000`,
    `ipv4:10.0.0.1:7001,10.0.0.2:7001` (unix sockets and names are skipped)."""
    found = []
    for text in addresses:
        if not text or text.startswith(("unix:", "unix-abstract:")):
            continue
        for part in text.split(","):
            for scheme in ("ipv4:", "ipv6:", "dns:///", "dns:"):
                part = part.removeprefix(scheme)
            host, sep, port = part.strip().rpartition(":")
            if sep and port.isdigit():
                found.append(Listener(host.strip("[]"), int(port)))
    return tuple(found)


async def system_resolver(host: str, port: int) -> Sequence[str]:
    """The IP addresses `host` resolves to (the system's resolver, /etc/hosts first)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


class AddressPolicy:
    def __init__(self, networks: Sequence[str], listeners: Sequence[Listener] = (),
                 resolver: Resolver = system_resolver):
        self.networks = tuple(ipaddress.ip_network(n, strict=False) for n in networks)
        self.listeners = tuple(listeners)
        self._resolve = resolver

    def refusal(self, ip: IPAddress, port: int) -> str | None:
        """Why `ip` (port `port`) may not be dialled, or None when it may."""
        for candidate in filter(None, (ip, embedded_ipv4(ip))):
            for never in NEVER:
                if candidate.version == never.version and candidate in never:
                    return f"{ip} is in {never}, which beacons are never at"
        if not any(ip.version == n.version and ip in n for n in self.networks):
            return f"{ip} is in none of the beacon networks ({', '.join(map(str, self.networks))})"
        if any(listener.matches(ip, port) for listener in self.listeners):
            return f"{ip}:{port} is one of this suite's own listeners"
        return None

    async def check(self, address: str) -> str:
        """The gRPC target that dials `address` (its checked IP addresses),
        or NotAllowed. Nothing is dialled here; a host name is resolved."""
        try:
            host, port = split_host_port(address)
        except ValueError as error:
            raise NotAllowed(str(error)) from None
        if host.lower() in GRPC_SCHEMES and host.lower() != "localhost":
            raise NotAllowed(f'"{host}:" is a gRPC target scheme, not a host')
        try:
            ips = [ipaddress.ip_address(host)]
        except ValueError:
            ips = await self._resolved(host, port)
        for ip in ips:
            reason = self.refusal(ip, port)
            if reason is not None:
                raise NotAllowed(f"{address}: {reason}")
        return pinned_target(ips, port)

    async def _resolved(self, host: str, port: int) -> list[IPAddress]:
        try:
            async with asyncio.timeout(RESOLVE_TIMEOUT):
                texts = await self._resolve(host, port)
        except (OSError, TimeoutError, UnicodeError) as error:
            raise NotAllowed(f"{host} does not resolve: {error or type(error).__name__}") from None
        ips: list[IPAddress] = []
        for text in texts:
            ip = ipaddress.ip_address(text.split("%", 1)[0])  # a scope id is never kept
            if ip not in ips:
                ips.append(ip)
        if not ips:
            raise NotAllowed(f"{host} resolves to no address")
        return ips[:MAX_RESOLVED]


def pinned_target(ips: Sequence[IPAddress], port: int) -> str:
    """A gRPC target dialling exactly these addresses (IPv4 ones when there
    are any: one target takes one family)."""
    v4 = [ip for ip in ips if ip.version == 4]
    if v4:
        return "ipv4:" + ",".join(f"{ip}:{port}" for ip in v4)
    return "ipv6:" + ",".join(f"[{ip}]:{port}" for ip in ips)
