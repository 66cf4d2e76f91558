"""Which addresses beacons may be at (services/beacon/networks.py): decided
from configuration and the address alone, with an injected resolver (these
tests send no packet anywhere)."""

from __future__ import annotations

import pytest

from services.beacon.networks import (
    AddressPolicy,
    Listener,
    NotAllowed,
    listeners_of,
    pinned_target,
)
from services.common.config import DEFAULT_BEACON_NETWORKS, load_settings, parse_networks

EVERYWHERE = ("0.0.0.0/0", "::/0")


def resolver(table: dict[str, list[str]]):
    asked = []

    async def resolve(host: str, port: int):
        asked.append(host)
        if host not in table:
            raise OSError(f"{host}: unknown host")
        return table[host]

    resolve.asked = asked
    return resolve


def policy(networks=DEFAULT_BEACON_NETWORKS, listeners=(), table=None) -> AddressPolicy:
    return AddressPolicy(networks, listeners, resolver(table or {}))


@pytest.mark.parametrize("address, target", [
    ("127.0.0.1:7000", "ipv4:127.0.0.1:7000"),
    ("10.1.2.3:7000", "ipv4:10.1.2.3:7000"),
    ("172.16.0.9:7000", "ipv4:172.16.0.9:7000"),
    ("192.168.1.1:443", "ipv4:192.168.1.1:443"),
    ("[::1]:7000", "ipv6:[::1]:7000"),
    ("[fd12::5]:7000", "ipv6:[fd12::5]:7000"),
])
async def test_loopback_and_private_addresses_are_allowed_by_default(address, target):
    assert await policy().check(address) == target


@pytest.mark.parametrize("address", [
    "169.254.169.254:80",          # cloud metadata
    "169.254.1.1:7000",            # link-local
    "[fe80::1]:7000",              # IPv6 link-local
    "[fd00:ec2::254]:80",          # AWS metadata over IPv6 (inside fc00::/7)
    "[::ffff:169.254.169.254]:80",  # the metadata address inside an IPv4-mapped one
    "[64:ff9b::a9fe:a9fe]:80",     # ... and inside a NAT64 one
    "100.100.100.200:80",          # Alibaba Cloud metadata
    "0.0.0.0:7000",
    "[::]:7000",
    "224.0.0.1:7000",
])
async def test_link_local_metadata_and_unspecified_addresses_are_never_allowed_whatever_is_configured(address):
    for networks in (DEFAULT_BEACON_NETWORKS, EVERYWHERE):
        with pytest.raises(NotAllowed, match="never at"):
            await policy(networks).check(address)


@pytest.mark.parametrize("address", ["8.8.8.8:53", "100.64.0.1:7000", "[2001:db8::1]:7000"])
async def test_addresses_outside_the_configured_networks_are_refused(address):
    with pytest.raises(NotAllowed, match="none of the beacon networks"):
        await policy().check(address)
    assert await policy(EVERYWHERE).check(address)


async def test_configured_networks_replace_the_default():
    only = policy(("10.0.0.0/8",))
    assert await only.check("10.0.0.1:1") == "ipv4:10.0.0.1:1"
    with pytest.raises(NotAllowed):
        await only.check("127.0.0.1:1")


@pytest.mark.parametrize("address", ["unix:1234", "unix-abstract:80", "dns:53", "vsock:1", "ipv4:80", "xds:1"])
async def test_grpc_target_schemes_are_never_hosts_and_are_not_resolved(address):
    checker = policy(EVERYWHERE)
    with pytest.raises(NotAllowed, match="gRPC target scheme"):
        await checker.check(address)
    assert checker._resolve.asked == []


@pytest.mark.parametrize("address", ["unix:/run/shoal/plan.sock", "unix-abstract:/x", "/etc/passwd"])
async def test_socket_paths_are_not_addresses(address):
    with pytest.raises(NotAllowed, match="host:port"):
        await policy(EVERYWHERE).check(address)


async def test_a_name_is_dialled_as_the_addresses_it_was_checked_to_be():
    checker = policy(table={"localhost": ["127.0.0.1", "::1"], "agent.internal": ["10.0.0.7"],
                            "sneaky.internal": ["10.0.0.8", "169.254.169.254"]})
    assert await checker.check("localhost:7000") == "ipv4:127.0.0.1:7000"
    assert await checker.check("agent.internal:7000") == "ipv4:10.0.0.7:7000"
    with pytest.raises(NotAllowed, match="169.254.169.254 is in 169.254.0.0/16"):
        await checker.check("sneaky.internal:7000")
    with pytest.raises(NotAllowed, match="does not resolve"):
        await checker.check("nowhere.internal:7000")


async def test_the_suites_own_listeners_are_refused():
    listeners = listeners_of(["127.0.0.1:4000", "0.0.0.0:4443", "unix:/x/plan.sock", "ipv4:127.0.0.1:7001,127.0.0.1:7002"])
    assert listeners == (Listener("127.0.0.1", 4000), Listener("0.0.0.0", 4443), Listener("127.0.0.1", 7001),
                         Listener("127.0.0.1", 7002))
    checker = policy(listeners=listeners)
    for address in ("127.0.0.1:4000", "127.0.0.2:4000", "127.0.0.1:4443", "127.0.0.1:7002"):
        with pytest.raises(NotAllowed, match="own listeners"):
            await checker.check(address)
    assert await checker.check("127.0.0.1:4001")
    assert await checker.check("10.0.0.1:4000")  # another machine's port 4000


def test_pinned_targets_take_one_family():
    import ipaddress

    ips = [ipaddress.ip_address(a) for a in ("::1", "127.0.0.1", "127.0.0.2")]
    assert pinned_target(ips, 7) == "ipv4:127.0.0.1:7,127.0.0.2:7"
    assert pinned_target(ips[:1], 7) == "ipv6:[::1]:7"


def test_the_networks_are_read_once_into_settings(tmp_path):
    settings = load_settings({"SHOAL_SECRET": "s", "SHOAL_BEACON_NETWORKS": " 10.0.0.0/8 ,fd00::/8,192.168.1.7"},
                             home=tmp_path / "home")
    assert settings.beacon_networks == ("10.0.0.0/8", "fd00::/8", "192.168.1.7/32")
    assert load_settings({"SHOAL_SECRET": "s"}, home=tmp_path / "h2").beacon_networks == DEFAULT_BEACON_NETWORKS
    with pytest.raises(ValueError, match='"10.0.0.300/8" is not a network'):
        parse_networks("10.0.0.0/8,10.0.0.300/8")
    with pytest.raises(ValueError, match="names no network"):
        parse_networks(" , ")
