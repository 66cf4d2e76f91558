"""Beacon and instance addresses, and aliases (pure).

An address is `host:port` (a DNS name, an IPv4 address or a bracketed IPv6
address), the gRPC target of a node agent. An alias is a short name that
stands for an address in `/d/{Host}` and `{Beacon}` paths; each instance
gets `{beaconAlias}.{name}` when its beacon is polled. Aliases never contain
`:`, so an alias can never shadow an address.

An alias names one thing. A dotted alias `{beacon}.{name}` is reserved for
the instance called `name` behind the beacon aliased `beacon`, whether that
beacon is registered yet or not, so nobody can claim the alias a later
beacon's instance would get (and a beacon's own alias holds no `.`).
"""

from __future__ import annotations

import ipaddress
import re

MAX_ALIAS = 200
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_ALIAS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class AddressError(ValueError):
    """The text is not a usable address or alias; the message says why."""


def _valid_host(host: str) -> bool:
    if host.startswith("[") and host.endswith("]"):
        try:
            return isinstance(ipaddress.ip_address(host[1:-1]), ipaddress.IPv6Address)
        except ValueError:
            return False
    if len(host) > 253:
        return False
    return all(_LABEL.match(label) for label in host.split("."))


def check_address(address: str) -> str:
    """`address` if it is `host:port`, else AddressError."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not port.isascii():
        raise AddressError(f'address "{address}" must be host:port')
    if not 0 < int(port) < 65536 or port != str(int(port)):
        raise AddressError(f'address "{address}" has an invalid port')
    if not _valid_host(host):
        raise AddressError(f'address "{address}" has an invalid host')
    return address


def is_address(text: str) -> bool:
    try:
        check_address(text)
    except AddressError:
        return False
    return True


def check_alias(alias: str) -> str:
    """`alias` if it can name an address, else AddressError."""
    if not alias:
        raise AddressError("alias must not be empty")
    if len(alias) > MAX_ALIAS:
        raise AddressError(f"alias longer than {MAX_ALIAS} characters")
    if not _ALIAS.match(alias):
        raise AddressError(
            f'alias "{alias}" may hold only letters, digits, ".", "_" and "-", starting with a letter or digit'
        )
    return alias


def reserved_for(alias: str) -> tuple[str, str] | None:
    """(beacon alias, instance name) when `alias` is the name an instance
    gets behind a beacon, else None."""
    beacon, dot, name = alias.partition(".")
    return (beacon, name) if dot and beacon and name else None


def instance_alias(beacon_alias: str, name: str) -> str | None:
    """`{beaconAlias}.{name}` for an instance, or None when that is no valid alias."""
    alias = f"{beacon_alias}.{name}"
    try:
        return check_alias(alias)
    except AddressError:
        return None
