import time

import pytest

from services.common.signing import (
    ACCESS,
    IDENTITY,
    METHOD,
    ORIGIN,
    Caller,
    CallerError,
    sign,
    verify,
)

SECRET = b"s" * 32


def test_a_signed_caller_verifies_with_every_value():
    caller = Caller("alice", "read", uid=1000, scopes=("monitoring:read", "audit:read"), origin="10.0.0.7",
                    method="token")
    assert verify(SECRET, sign(SECRET, caller)) == caller


def test_missing_metadata_is_refused():
    with pytest.raises(CallerError, match="missing"):
        verify(SECRET, ())


def test_an_expired_signature_is_refused():
    with pytest.raises(CallerError, match="expired"):
        verify(SECRET, sign(SECRET, Caller("a", "admin"), ttl=-1))


def test_another_secret_is_refused():
    with pytest.raises(CallerError, match="does not verify"):
        verify(SECRET, sign(b"other", Caller("a", "admin")))


@pytest.mark.parametrize("key,value", [(IDENTITY, "root"), (ACCESS, "internal"), (ORIGIN, "127.0.0.1"),
                                       (METHOD, "peer")])
def test_any_changed_value_is_refused(key, value):
    md = tuple((k, value if k == key else v) for k, v in sign(SECRET, Caller("a", "read")))
    with pytest.raises(CallerError):
        verify(SECRET, md)


def test_a_duplicated_value_is_refused():
    md = sign(SECRET, Caller("a", "read")) + ((ACCESS, "admin"),)
    with pytest.raises(CallerError, match="duplicate"):
        verify(SECRET, md)


def test_access_ranks():
    assert Caller("a", "admin").at_least("read")
    assert not Caller("a", "read").at_least("admin")
    assert Caller("svc", "internal").at_least("admin")
    assert time.time() > 0
