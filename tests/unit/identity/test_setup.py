"""The bootstrap token's rules and Lighthouse user names, without gRPC."""

from __future__ import annotations

import pytest

from services.common.errors import DomainError
from services.identity import bootstrap
from services.identity.users_rpc import validate_password, validate_user_name


def test_the_bootstrap_token_is_kept_only_as_its_hash_and_matched_in_constant_time():
    raw = bootstrap.new_token()
    assert len(raw) == 48 and int(raw, 16) >= 0
    stored = bootstrap.hash_token(raw)
    assert raw not in stored and bootstrap.matches(raw, stored) and bootstrap.matches(f" {raw}\n", stored)
    assert not bootstrap.matches("", stored) and not bootstrap.matches("   ", stored)
    assert not bootstrap.matches(bootstrap.new_token(), stored)
    assert raw in bootstrap.announcement(raw)


def test_a_quick_setup_api_token_looks_like_one():
    assert bootstrap.is_api_token("a" * 64)
    assert not bootstrap.is_api_token("A" * 64) and not bootstrap.is_api_token("a" * 63)


@pytest.mark.parametrize("name", ["intern", "manager", "boss@example.com", "ünïcode", "a.b-c_d+e"])
def test_user_names_as_lighthouse_documents_them(name):
    assert validate_user_name(name) == name


@pytest.mark.parametrize("name", ["", "a\x00b", "tab\there", "a b", "token:x", "a/b", "x" * 255, "zero\u200bwidth"])
def test_user_names_shoal_refuses(name):
    with pytest.raises(DomainError) as info:
        validate_user_name(name)
    assert info.value.kind == "users"  # Lighthouse's Cause


def test_passwords_without_nul_and_not_huge():
    assert validate_password("p" * 1024)
    for bad in ("a\x00b", "p" * 1025):
        with pytest.raises(DomainError):
            validate_password(bad)
