"""The plan agent's beacon token (services/plan/beacon_agent.py)."""

import stat

from services.plan.beacon_agent import (
    CALLER,
    DIGEST_FILE,
    METADATA_KEY,
    authenticator,
    load_token,
    reported_address,
)


def test_a_given_token_is_accepted_and_nothing_else(tmp_path):
    token, generated = load_token(tmp_path, "given")
    assert generated is None and not (tmp_path / DIGEST_FILE).exists()
    authenticate = authenticator(token)
    caller = authenticate(((METADATA_KEY, "given"),))
    assert caller.identity == CALLER and caller.at_least("admin")
    assert authenticate(((METADATA_KEY, "wrong"),)) is None
    assert authenticate(((METADATA_KEY, ""),)) is None
    assert authenticate(()) is None
    assert authenticate(((METADATA_KEY, "given"), (METADATA_KEY, "given"))) is None


def test_without_a_token_one_is_generated_once_and_only_its_hash_kept(tmp_path):
    token, generated = load_token(tmp_path)
    assert generated and len(generated) == 64
    digest_file = tmp_path / DIGEST_FILE
    assert generated not in digest_file.read_text()
    assert stat.S_IMODE(digest_file.stat().st_mode) == 0o600
    again, shown = load_token(tmp_path)
    assert shown is None and again == token
    assert authenticator(again)(((METADATA_KEY, generated),)) is not None


def test_the_agent_reports_a_concrete_listen_address_only():
    assert reported_address("127.0.0.1:4000") == "127.0.0.1:4000"
    assert reported_address("0.0.0.0:4000") == ""
    assert reported_address("[::]:4000") == ""
    assert reported_address("unix:/run/plan.sock") == ""
    assert reported_address("") == ""
