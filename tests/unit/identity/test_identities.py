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
    decode_identities,
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


def test_a_basic_password_that_is_no_sha512_crypt_hash_is_refused_on_input():
    for bad in ("not-a-hash", "$6$salt$hash", "$5$abc$def", "correct horse battery"):
        assert _error(apply_identity_action, {}, "add", {"u": {"access": "read", "basic": {"password": bad}}}) == (
            'invalid identity for "u": basic identity password must be a sha512-crypt hash '
            '("$6$salt$...", as "openssl passwd -6" makes it)'
        )
    assert apply_identity_action({}, "add", {"u": {"access": "read", "basic": {"password": HASH}}})
    rounds = "$6$rounds=5000$abcdefgh$" + HASH.rsplit("$", 1)[1]
    assert apply_identity_action({}, "add", {"u": {"access": "read", "basic": {"password": rounds}}})


def test_storage_is_read_as_it_is():
    """What an older Shoal stored is still read (and never verifies)."""
    assert parse_identity("u", {"access": "read", "basic": {"password": "not-a-hash"}})
    assert parse_identity("x" * 1000, {"access": "read", "local": {"user-id": 1}})


def test_a_name_longer_than_256_characters_is_refused_without_repeating_it():
    name = "a" * 100_000
    message = _error(apply_identity_action, {}, "add", {name: {"access": "read", "local": {"user-id": 1}}})
    assert message == "invalid identity name: 100000 characters, at most 256"
    assert _error(apply_identity_action, {}, "remove", {name: None}) == message
    assert apply_identity_action({}, "add", {"a" * 256: {"access": "read", "local": {"user-id": 1}}})


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
    assert message == (
        f'invalid identity for "{name}": identity name "" invalid: must start with an alphabetic character '
        "and only contain alphanumeric characters, underscore, and hyphen"
    )


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
    assert message == 'invalid identity for "c": cert identity cannot have extra data after the PEM block'
    message = _error(parse_identity, "c", {"access": "read", "cert": {"pem": PEM + _cert_pem()}})
    assert message == 'invalid identity for "c": cert identity cannot have extra data after the PEM block'


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
    assert message.startswith('invalid identity for "c": cannot parse certificate from cert identity: ')


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
    value = {"access": "read", "local": {"user-id": 9}}
    assert _error(apply_identity_action, CURRENT, "remove", {"alice": value}) == (
        'identity value for "alice" must be null for remove operation'
    )


def test_every_identity_is_validated_before_the_action_and_the_null_rules():
    """Pebble's order: a bad identity is reported before a bad action, and
    before a null value elsewhere in the same request."""
    bad = {"access": "read"}
    wanted = 'invalid identity for "b": identity must have at least one type ("local", "basic", or "cert")'
    assert _error(apply_identity_action, CURRENT, "merge", {"b": bad}) == wanted
    assert _error(apply_identity_action, CURRENT, "add", {"a": None, "b": bad}) == wanted
    assert _error(apply_identity_action, CURRENT, "remove", {"b": bad}) == wanted


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


# --- decoding, as Pebble's Go decoder reads the body ------------------------------

DECODE = "cannot decode request body: json: cannot unmarshal "


@pytest.mark.parametrize(
    "value,message",
    [
        # recorded from Pebble v1.32.1 (tests/replay/expected/identities-*)
        ({"idn-negative": {"access": "read", "local": {"user-id": -1}}},
         "number -1 into Go struct field .identities.idn-negative.local.user-id of type uint32"),
        ({"idn-huge": {"access": "read", "local": {"user-id": 4294967296}}},
         "number 4294967296 into Go struct field .identities.idn-huge.local.user-id of type uint32"),
        ({"idn-string-uid": {"access": "read", "local": {"user-id": "42"}}},
         "string into Go struct field .identities.idn-string-uid.local.user-id of type uint32"),
        (["idn-as-list"], "array into Go struct field .identities of type map[string]*daemon.apiIdentity"),
        ({"idn-list": [1]}, "array into Go struct field .identities.idn-list of type daemon.apiIdentity"),
        # the same rule for the other fields and kinds
        ({"x": {"local": {"user-id": 1.5}}}, "number 1.5 into Go struct field .identities.x.local.user-id of type uint32"),
        ({"x": {"local": {"user-id": True}}}, "bool into Go struct field .identities.x.local.user-id of type uint32"),
        ({"x": {"access": 5}}, "number into Go struct field .identities.x.access of type identities.Access"),
        ({"x": {"local": "7"}}, "string into Go struct field .identities.x.local of type daemon.apiLocalIdentity"),
        ({"x": {"basic": {"password": 5}}}, "number into Go struct field .identities.x.basic.password of type string"),
        ({"x": {"cert": {"pem": ["a"]}}}, "array into Go struct field .identities.x.cert.pem of type string"),
        ({"x": {"cert": 1}}, "number into Go struct field .identities.x.cert of type daemon.apiCertIdentity"),
        ("all", "string into Go struct field .identities of type map[string]*daemon.apiIdentity"),
    ],
)
def test_wrong_json_types_are_gos_decode_errors(value, message):
    assert _error(decode_identities, value) == DECODE + message


def test_decoding_matches_field_names_as_go_does_and_drops_unknown_ones():
    assert decode_identities(None) == {}
    assert decode_identities({"a": None, "b": {"Access": "read", "LOCAL": {"User-ID": 3}, "colour": "blue"}}) == {
        "a": None, "b": {"access": "read", "local": {"user-id": 3}}}
    assert decode_identities({"c": {"access": None, "local": {"user-id": None}, "basic": None}}) == {
        "c": {"local": {}}}
    # what it decodes to then gets Pebble's validation messages
    assert _error(apply_identity_action, {}, "add", decode_identities({"c": {"access": "read", "local": {}}})) == (
        'invalid identity for "c": local identity must specify user-id')


def test_the_mask_sent_back_keeps_the_current_password():
    """What GET shows, sent back (ops' own suite does so): the hash stays."""
    result = apply_identity_action(CURRENT, "replace", {"alice": {"access": "read", "basic": {"password": MASK}}})
    assert result["alice"] == Identity(access="read", basic=BasicIdentity(HASH))
    for current in ({}, {"bob": CURRENT["bob"]}):  # nothing to keep: refused as any non-hash
        name = "bob" if current else "new"
        message = _error(apply_identity_action, current, "replace", {name: {"access": "read", "basic": {"password": MASK}}})
        assert "must be a sha512-crypt hash" in message
