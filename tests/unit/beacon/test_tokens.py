import pytest

from services.beacon.tokens import TokenCipher, TokenDecryptError


def test_a_token_round_trips_and_is_not_stored_in_clear():
    cipher = TokenCipher(b"cluster-secret")
    blob = cipher.encrypt("s3cret-token", "10.0.0.1:4000")
    assert b"s3cret-token" not in blob
    assert cipher.decrypt(blob, "10.0.0.1:4000") == "s3cret-token"


def test_the_same_token_encrypts_differently_each_time():
    cipher = TokenCipher(b"cluster-secret")
    assert cipher.encrypt("t", "a:1") != cipher.encrypt("t", "a:1")


def test_a_token_copied_to_another_beacon_does_not_decrypt():
    cipher = TokenCipher(b"cluster-secret")
    blob = cipher.encrypt("t", "a:1")
    with pytest.raises(TokenDecryptError, match="does not decrypt"):
        cipher.decrypt(blob, "b:1")


def test_another_secret_cannot_read_the_token():
    blob = TokenCipher(b"one").encrypt("t", "a:1")
    with pytest.raises(TokenDecryptError, match="SHOAL_SECRET"):
        TokenCipher(b"two").decrypt(blob, "a:1")


def test_a_changed_or_foreign_blob_is_refused():
    cipher = TokenCipher(b"k")
    blob = bytearray(cipher.encrypt("t", "a:1"))
    blob[-1] ^= 1
    with pytest.raises(TokenDecryptError):
        cipher.decrypt(bytes(blob), "a:1")
    with pytest.raises(TokenDecryptError, match="known format"):
        cipher.decrypt(b"plain-token", "a:1")


def test_an_empty_secret_is_refused():
    with pytest.raises(ValueError):
        TokenCipher(b"")
