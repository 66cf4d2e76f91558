"""API tokens: generation, hashing, DTO, scope validation, expiry, escalation, levels."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.common.errors import Failure
from services.identity.tokens import (
    KNOWN_SCOPES,
    SCOPE_ACCESS,
    EscalationError,
    TokenError,
    check_escalation,
    create_token,
    find_token,
    has_scope,
    hash_token,
    new_raw_token,
    parse_expires_in,
    parse_go_duration,
    required_scope_error,
    required_scopes_error,
    rotate_token,
    scopes_access_level,
    sort_newest_first,
    token_hash_matches,
    validate_name,
    validate_scopes,
    validate_update,
)

T0 = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def _error(fn, *args) -> TokenError:
    with pytest.raises(TokenError) as info:
        fn(*args)
    return info.value


# --- raw tokens ---------------------------------------------------------------


def test_raw_token_is_64_hex_characters_and_random():
    raw = new_raw_token()
    assert len(raw) == 64 and int(raw, 16) >= 0
    assert raw != new_raw_token()


def test_only_sha256_is_stored():
    raw, record = create_token("ci", T0)
    assert record.hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in repr(record)
    assert token_hash_matches(raw, record.hash)
    assert not token_hash_matches(raw[:-1] + ("0" if raw[-1] != "0" else "1"), record.hash)


def test_hints_are_first_six_and_last_four():
    raw, record = create_token("ci", T0)
    assert record.prefix == raw[:6] and record.suffix == raw[-4:]


def test_dto_shape_without_optional_fields():
    raw, record = create_token("ci", T0, token_id="id-1")
    assert record.to_dto() == {
        "id": "id-1",
        "name": "ci",
        "prefix": raw[:6],
        "suffix": raw[-4:],
        "createdAt": "2025-01-02T03:04:05Z",
        "scopes": ["*"],
    }


def test_dto_shape_with_last_used_and_expiry_never_shows_hash():
    _, record = create_token("ci", T0, ["monitoring:read"], timedelta(hours=720))
    record = replace(record, last_used_at=T0 + timedelta(seconds=1.5))
    dto = record.to_dto()
    assert list(dto) == [
        "id",
        "name",
        "prefix",
        "suffix",
        "createdAt",
        "lastUsedAt",
        "expiresAt",
        "scopes",
    ]
    assert dto["lastUsedAt"] == "2025-01-02T03:04:06.5Z"
    assert dto["expiresAt"] == "2025-02-01T03:04:05Z"
    assert dto["scopes"] == ["monitoring:read"]
    assert "hash" not in dto and record.hash not in str(dto)


def test_find_token_matches_and_skips_expired():
    raw_a, a = create_token("a", T0)
    raw_b, b = create_token("b", T0, expires_in=timedelta(minutes=5))
    records = [a, b]
    assert find_token(records, raw_a, T0) == a
    assert find_token(records, raw_b, T0 + timedelta(minutes=4)) == b
    assert find_token(records, raw_b, T0 + timedelta(minutes=5)) is None
    assert find_token(records, "0" * 64, T0) is None
    assert b.matches(raw_b, T0) and not b.matches(raw_b, T0 + timedelta(hours=1))


def test_rotation_changes_secret_but_keeps_identity():
    old_raw, record = create_token("ci", T0, ["settings:read"], timedelta(hours=1))
    used = replace(record, last_used_at=T0)
    new_raw, rotated = rotate_token(used)
    assert new_raw != old_raw
    assert (rotated.id, rotated.name, rotated.scopes, rotated.created_at, rotated.expires_at) == (
        record.id,
        record.name,
        record.scopes,
        record.created_at,
        record.expires_at,
    )
    assert rotated.last_used_at is None
    assert find_token([rotated], old_raw, T0) is None
    assert find_token([rotated], new_raw, T0) == rotated


def test_tokens_sort_newest_first():
    _, a = create_token("a", T0)
    _, b = create_token("b", T0 + timedelta(seconds=1))
    assert [r.name for r in sort_newest_first([a, b])] == ["b", "a"]


# --- scopes -------------------------------------------------------------------


def test_known_scopes_include_the_required_set():
    assert {
        "*",
        "monitoring:read",
        "monitoring:write",
        "settings:read",
        "settings:write",
        "audit:read",
        "agent:report",
        "agent:manage",
    } <= KNOWN_SCOPES


def test_omitted_scopes_mean_full_access():
    assert validate_scopes(None) == ("*",)


def test_empty_scope_list_is_refused():
    e = _error(validate_scopes, [])
    assert e.failure is Failure.INVALID
    assert e.message == "select at least one scope or omit the field for full access"


def test_blank_scope_is_refused():
    assert _error(validate_scopes, ["monitoring:read", "  "]).failure is Failure.INVALID


def test_unknown_scope_is_refused_with_its_name():
    e = _error(validate_scopes, ["monitoring:read", "x"])
    assert (e.failure, e.message) == (Failure.INVALID, 'unknown scope "x"')


def test_duplicate_scopes_are_dropped_keeping_order():
    assert validate_scopes(["settings:read", "audit:read", "settings:read"]) == (
        "settings:read",
        "audit:read",
    )


def test_star_mixed_with_others_is_refused():
    assert _error(validate_scopes, ["*", "audit:read"]).failure is Failure.INVALID
    assert validate_scopes(["*", "*"]) == ("*",)


def test_legacy_host_agent_scopes_are_renamed():
    assert validate_scopes(["host-agent:report"]) == ("agent:report",)


def test_non_list_scopes_are_refused():
    assert _error(validate_scopes, "monitoring:read").failure is Failure.INVALID
    assert _error(validate_scopes, [1]).failure is Failure.INVALID


def test_token_name_is_required():
    assert validate_name(" ci ") == "ci"
    assert _error(validate_name, "  ").failure is Failure.INVALID


def test_patch_needs_name_or_scopes():
    assert _error(validate_update, {}).failure is Failure.INVALID
    assert validate_update({"name": "x"}).scopes is None
    assert validate_update({"scopes": ["audit:read"]}).scopes == ("audit:read",)
    assert _error(validate_update, {"scopes": []}).message == (
        "select at least one scope or omit the field for full access"
    )


def test_has_scope_star_grants_everything():
    assert has_scope(["*"], "audit:read")
    assert has_scope(["audit:read"], "audit:read")
    assert not has_scope(["monitoring:read"], "monitoring:write")


def test_required_scope_error_bodies():
    assert required_scope_error("audit:read") == {
        "error": "missing_scope",
        "requiredScope": "audit:read",
    }
    assert required_scopes_error(["a", "b"]) == {
        "error": "missing_scope",
        "requiredScopes": ["a", "b"],
    }


# --- levels -------------------------------------------------------------------


def test_every_known_scope_has_a_level():
    assert set(SCOPE_ACCESS) == KNOWN_SCOPES


def test_scope_level_table():
    assert scopes_access_level(["monitoring:read"]) == "metrics"
    assert scopes_access_level(["settings:read"]) == "read"
    assert scopes_access_level(["audit:read"]) == "read"
    assert scopes_access_level(["settings:write"]) == "admin"
    assert scopes_access_level(["monitoring:write"]) == "admin"
    assert scopes_access_level(["agent:manage"]) == "admin"
    assert scopes_access_level(["*"]) == "admin"


def test_token_level_is_highest_of_its_scopes():
    assert scopes_access_level(["monitoring:read", "settings:read"]) == "read"
    assert scopes_access_level([]) == "untrusted"
    _, record = create_token("x", T0, ["monitoring:read"])
    assert record.access_level() == "metrics"


# --- expiry -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, seconds",
    [
        ("720h", 720 * 3600),
        ("1m", 60),
        ("1h30m", 5400),
        ("1.5h", 5400),
        ("90s", 90),
        ("2h0m0s", 7200),
        ("500ms", 0.5),
        ("0", 0),
    ],
)
def test_go_durations_parse(text, seconds):
    assert parse_go_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "h", "10", "1d", "1 h", "-", ".h", "1h-5m"])
def test_bad_durations_are_refused(text):
    assert _error(parse_go_duration, text).failure is Failure.INVALID


def test_expiry_must_be_at_least_one_minute():
    assert parse_expires_in("1m") == timedelta(minutes=1)
    assert _error(parse_expires_in, "59s").failure is Failure.INVALID
    assert _error(parse_expires_in, "-1h").failure is Failure.INVALID
    assert parse_expires_in(None) is None
    assert parse_expires_in("") is None


# --- escalation guard ---------------------------------------------------------


def test_token_cannot_grant_scope_it_lacks():
    with pytest.raises(EscalationError) as info:
        check_escalation(["settings:write"], "create", ["settings:write", "audit:read"])
    assert info.value.failure is Failure.FORBIDDEN
    assert info.value.message == (
        'Cannot grant scope "audit:read": your token does not have this scope'
    )


def test_token_can_grant_subset_of_its_scopes():
    check_escalation(["settings:write", "audit:read"], "create", ["audit:read"])


def test_limited_token_cannot_create_full_access_token():
    with pytest.raises(EscalationError) as info:
        check_escalation(["settings:write"], "create", ["*"])
    assert '"*"' in info.value.message


def test_star_token_may_do_anything():
    check_escalation(["*"], "create", ["*"])
    check_escalation(["*"], "delete", ["agent:manage"])


def test_non_token_caller_is_not_restricted():
    check_escalation(None, "rotate", ["*"])


@pytest.mark.parametrize("action", ["update", "delete", "rotate"])
def test_token_cannot_touch_token_with_scope_it_lacks(action):
    with pytest.raises(EscalationError) as info:
        check_escalation(["settings:write"], action, ["agent:manage"])
    assert info.value.message == (
        f'Cannot {action} token with scope "agent:manage": your token does not have this scope'
    )


def test_escalation_unknown_action_is_a_programming_error():
    with pytest.raises(ValueError):
        check_escalation(["a"], "steal", ["a"])


def test_hash_token_is_hex_sha256():
    assert hash_token("abc") == hashlib.sha256(b"abc").hexdigest()


@pytest.mark.parametrize("text", ["99999999999999999h", "2562048h", "9223372037s"])
def test_expires_in_beyond_gos_largest_duration_is_refused_as_go_words_it(text):
    error = _error(parse_expires_in, text)
    assert error.failure is Failure.INVALID
    assert error.message == f'invalid expiresIn: time: invalid duration "{text}"'


@pytest.mark.parametrize("text, words", [("1e400h", 'time: unknown unit "e" in duration "1e400h"'),
                                         ("90", 'time: missing unit in duration "90"')])
def test_expires_in_go_does_not_read_is_refused_in_gos_words(text, words):
    assert _error(parse_expires_in, text).message == f"invalid expiresIn: {words}"


def test_expires_in_up_to_gos_largest_duration_is_accepted():
    assert parse_expires_in("2562047h") == timedelta(hours=2562047)
