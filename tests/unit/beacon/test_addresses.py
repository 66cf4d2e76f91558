import pytest

from services.beacon.addresses import (
    AddressError,
    check_address,
    check_alias,
    instance_alias,
    is_address,
)


@pytest.mark.parametrize("address", ["127.0.0.1:4000", "node-1.example.com:443", "[::1]:7000", "agent:1"])
def test_host_port_addresses_are_accepted(address):
    assert check_address(address) == address


@pytest.mark.parametrize(
    "address, reason",
    [
        ("", "must be host:port"),
        ("127.0.0.1", "must be host:port"),
        ("127.0.0.1:", "must be host:port"),
        (":80", "must be host:port"),
        ("host:0", "invalid port"),
        ("host:65536", "invalid port"),
        ("host:080", "invalid port"),
        ("host:８０", "must be host:port"),
        ("unix:/run/plan.sock", "must be host:port"),
        ("a/b:80", "invalid host"),
        ("-bad.example:80", "invalid host"),
        ("[not-ipv6]:80", "invalid host"),
        ("ho st:80", "invalid host"),
    ],
)
def test_other_text_is_not_an_address(address, reason):
    with pytest.raises(AddressError, match=reason):
        check_address(address)
    assert not is_address(address)


@pytest.mark.parametrize("alias", ["prod", "prod.web-1", "eu_west.node2", "a" * 200])
def test_aliases_are_short_names(alias):
    assert check_alias(alias) == alias


@pytest.mark.parametrize(
    "alias, reason",
    [
        ("", "must not be empty"),
        ("a" * 201, "longer than 200"),
        ("10.0.0.1:80", "may hold only"),  # an alias never shadows an address
        ("a/b", "may hold only"),
        (".hidden", "may hold only"),
        ("two words", "may hold only"),
    ],
)
def test_aliases_that_could_mislead_are_refused(alias, reason):
    with pytest.raises(AddressError, match=reason):
        check_alias(alias)


def test_an_instance_is_aliased_beacon_dot_name():
    assert instance_alias("prod", "vm1") == "prod.vm1"
    assert instance_alias("prod", "bad name") is None
