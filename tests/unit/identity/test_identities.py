"""Pebble identities: validation messages, the four actions, uniqueness and masking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.common.errors import Failure
from services.identity.identities import (
    MASK,
    BasicIdentity,
    CertIdentity,
    Identity,
    IdentityError,
    LocalIdentity,
    access_at_least,
    apply_identity_action,
    find_by_user_id,
    parse_identity,
    render_identities,
)

HASH = "$6$abcdefgh$KQeXafAQAaOoKTevphVU215RvJdgzyfASRasIOuh12hO8u0r1bGW92ZnTmC9IjsiQ8VPiTXBiZF49dFL1U4wX/"


def _cert_pem(cn: str = "client") -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


PEM = _cert_pem()


def _error(fn, *args) -> str:
    with pytest.raises(IdentityError) as info:
        fn(*args)
    assert info.value.failure is Failure.INVALID
    return info.value.message


CURRENT = {
    "alice": Identity(access="metrics", basic=BasicIdentity(HASH)),
    "bob": Identity(access="admin", local=LocalIdentity(42)),
}


# --- parsing and validation ---------------------------------------------------


def test_parses_every_type_together():
    identity = parse_identity(
        "mary",
        {
            "access": "read",
            "local": {"user-id": 1000},
            "basic": {"password": HASH},
            "cert": {"pem": PEM},
        },
    )
    assert identity == Identity(
        access="read",
        local=LocalIdentity(1000),
        basic=BasicIdentity(HASH),
        cert=CertIdentity(PEM),
    )


def test_local_user_id_zero_is_allowed():
    assert parse_identity("root", {"access": "admin", "local": {"user-id": 0}}).local == (
        LocalIdentity(0)
    )


def test_local_user_id_max_uint32_allowed_and_beyond_refused():
    assert parse_identity("u", {"access": "read", "local": {"user-id": 2**32 - 1}})
    message = _error(parse_identity, "u", {"access": "read", "local": {"user-id": 2**32}})
    assert message.startswith('invalid identity for "u": ')
    message = _error(parse_identity, "u", {"access": "read", "local": {"user-id": -1}})
    assert message.startswith('invalid identity for "u": ')


def test_local_identity_requires_user_id():
    assert _error(parse_identity, "u", {"access": "read", "local": {}}) == (
        'invalid identity for "u": local identity must specify user-id'
    )


def test_basic_identity_requires_password():
    assert _error(parse_identity, "u", {"access": "read", "basic": {}}) == (
        'invalid identity for "u": basic identity must specify password (hashed)'
    )
    assert _error(parse_identity, "u", {"access": "read", "basic": {"password": ""}}) == (
        'invalid identity for "u": basic identity must specify password (hashed)'
    )


def test_basic_password_format_is_not_checked():
    assert parse_identity("u", {"access": "read", "basic": {"password": "not-a-hash"}})


def test_access_must_be_specified():
    assert _error(parse_identity, "u", {"local": {"user-id": 1}}) == (
        'invalid identity for "u": access value must be specified '
        '("admin", "read", "metrics", or "untrusted")'
    )


def test_access_must_be_a_known_value():
    assert _error(parse_identity, "u", {"access": "root", "local": {"user-id": 1}}) == (
        'invalid identity for "u": invalid access value "root", must be '
        '"admin", "read", "metrics", or "untrusted"'
    )


@pytest.mark.parametrize("access", ["admin", "read", "metrics", "untrusted"])
def test_every_access_value_is_accepted(access):
    assert parse_identity("u", {"access": access, "local": {"user-id": 1}}).access == access


def test_identity_needs_at_least_one_type():
    assert _error(parse_identity, "u", {"access": "read"}) == (
        'invalid identity for "u": identity must have at least one type '
        '("local", "basic", or "cert")'
    )


@pytest.mark.parametrize("name", ["1abc", "-x", "_x", "a b", "a.b", "é", ""])
def test_invalid_name_prints_empty_name_inside(name):
    message = _error(parse_identity, name, {"access": "read", "local": {"user-id": 1}})
    assert message.startswith(f'invalid identity for "{name}": identity name "" invalid')


@pytest.mark.parametrize("name", ["a", "Abc", "a-b_c9", "x_"])
def test_valid_names(name):
    assert parse_identity(name, {"access": "read", "local": {"user-id": 1}})


def test_cert_with_one_certificate_parses():
    identity = parse_identity("c", {"access": "read", "cert": {"pem": PEM}})
    assert identity.cert is not None
    cert = identity.cert.certificate()
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "client"
    assert identity.cert.der() == cert.public_bytes(serialization.Encoding.DER)


def test_cert_with_trailing_newline_is_fine():
    assert parse_identity("c", {"access": "read", "cert": {"pem": PEM + "\n\n"}})


def test_cert_with_anything_after_it_is_refused():
    message = _error(parse_identity, "c", {"access": "read", "cert": {"pem": PEM + "junk"}})
    assert "nothing after it" in message
    message = _error(parse_identity, "c", {"access": "read", "cert": {"pem": PEM + _cert_pem()}})
    assert "nothing after it" in message


def test_cert_must_be_a_certificate_block():
    key = ec.generate_private_key(ec.SECP256R1())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    message = _error(parse_identity, "c", {"access": "read", "cert": {"pem": key_pem}})
    assert message == (
        'invalid identity for "c": cert identity PEM block must be a CERTIFICATE, not "PRIVATE KEY"'
    )


def test_cert_without_pem_block_is_refused():
    message = _error(parse_identity, "c", {"access": "read", "cert": {"pem": "hello"}})
    assert message.startswith('invalid identity for "c": cert identity must include')
    message = _error(parse_identity, "c", {"access": "read", "cert": {}})
    assert message.startswith('invalid identity for "c": cert identity must include')


def test_cert_with_garbage_der_is_refused():
    bad = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    message = _error(parse_identity, "c", {"access": "read", "cert": {"pem": bad}})
    assert message.startswith('invalid identity for "c": cannot parse certificate')


# --- actions ------------------------------------------------------------------


def test_add_new_identity():
    result = apply_identity_action(
        CURRENT, "add", {"carol": {"access": "read", "local": {"user-id": 7}}}
    )
    assert result["carol"] == Identity(access="read", local=LocalIdentity(7))
    assert set(result) == {"alice", "bob", "carol"}
    assert "carol" not in CURRENT  # the input mapping is untouched


def test_add_null_value_is_refused():
    assert _error(apply_identity_action, CURRENT, "add", {"x": None}) == (
        'identity value for "x" must not be null for add operation'
    )


def test_add_existing_lists_all_existing_names_sorted():
    payload = {
        "bob": {"access": "read", "local": {"user-id": 1}},
        "alice": {"access": "read", "local": {"user-id": 2}},
        "zed": {"access": "read", "local": {"user-id": 3}},
    }
    assert _error(apply_identity_action, CURRENT, "add", payload) == (
        "identities already exist: alice, bob"
    )


def test_update_existing_identity():
    result = apply_identity_action(
        CURRENT, "update", {"alice": {"access": "admin", "basic": {"password": HASH}}}
    )
    assert result["alice"].access == "admin"


def test_update_null_value_is_refused():
    assert _error(apply_identity_action, CURRENT, "update", {"alice": None}) == (
        'identity value for "alice" must not be null for update operation'
    )


def test_update_missing_lists_missing_names():
    payload = {
        "zed": {"access": "read", "local": {"user-id": 3}},
        "amy": {"access": "read", "local": {"user-id": 4}},
        "alice": {"access": "read", "local": {"user-id": 5}},
    }
    assert _error(apply_identity_action, CURRENT, "update", payload) == (
        "identities do not exist: amy, zed"
    )


def test_replace_upserts_and_null_deletes_even_if_absent():
    result = apply_identity_action(
        CURRENT,
        "replace",
        {
            "alice": None,
            "ghost": None,
            "bob": {"access": "read", "local": {"user-id": 42}},
            "new": {"access": "untrusted", "local": {"user-id": 0}},
        },
    )
    assert set(result) == {"bob", "new"}
    assert result["bob"].access == "read"


def test_remove_deletes_named_identities():
    assert set(apply_identity_action(CURRENT, "remove", {"alice": None})) == {"bob"}


def test_remove_value_must_be_null():
    assert _error(apply_identity_action, CURRENT, "remove", {"alice": {"access": "read"}}) == (
        'identity value for "alice" must be null for remove operation'
    )


def test_remove_missing_is_an_error():
    assert _error(apply_identity_action, CURRENT, "remove", {"x": None, "alice": None}) == (
        "identities do not exist: x"
    )


def test_invalid_action_message():
    assert _error(apply_identity_action, CURRENT, "delete", {}) == (
        'invalid action "delete", must be "add", "update", "replace", or "remove"'
    )


def test_invalid_identity_in_action_is_wrapped_with_its_name():
    assert _error(apply_identity_action, CURRENT, "add", {"carol": {"access": "read"}}) == (
        'invalid identity for "carol": identity must have at least one type '
        '("local", "basic", or "cert")'
    )


def test_duplicate_local_user_id_is_refused():
    assert (
        _error(
            apply_identity_action,
            CURRENT,
            "add",
            {"zoe": {"access": "read", "local": {"user-id": 42}}},
        )
        == "cannot have multiple identities with user ID 42 (bob, zoe)"
    )


def test_duplicate_user_id_check_sees_the_result_not_the_input():
    # Moving uid 42 from bob to zoe in one replace is fine.
    result = apply_identity_action(
        CURRENT,
        "replace",
        {"bob": None, "zoe": {"access": "read", "local": {"user-id": 42}}},
    )
    assert find_by_user_id(result, 42) == ("zoe", result["zoe"])


def test_identity_objects_are_accepted_in_the_payload():
    result = apply_identity_action({}, "add", {"eve": Identity("read", local=LocalIdentity(5))})
    assert result["eve"].local == LocalIdentity(5)


# --- rendering ----------------------------------------------------------------


def test_get_shape_masks_password_and_pem():
    identities = dict(CURRENT)
    identities["carol"] = Identity(access="read", cert=CertIdentity(PEM))
    assert render_identities(identities) == {
        "alice": {"access": "metrics", "basic": {"password": MASK}},
        "bob": {"access": "admin", "local": {"user-id": 42}},
        "carol": {"access": "read", "cert": {"pem": "*****"}},
    }


def test_storage_shape_round_trips():
    identity = Identity("read", LocalIdentity(3), BasicIdentity(HASH), CertIdentity(PEM))
    assert parse_identity("x", identity.to_dict()) == identity


def test_access_ordering():
    assert access_at_least("admin", "read")
    assert access_at_least("read", "metrics")
    assert not access_at_least("metrics", "read")
    assert not access_at_least("bogus", "untrusted")
