"""Configuration is read once, into Settings (services/common/config.py)."""

from __future__ import annotations

from services.common.config import load_settings


def test_identitys_hashing_bounds_and_audit_key_come_from_the_environment(tmp_path):
    env = {"SHOAL_SECRET": "s", "SHOAL_HASH_CONCURRENCY": "3", "SHOAL_HASH_PENDING": "9",
           "SHOAL_AUDIT_KEY_FILE": str(tmp_path / "shared.key")}
    settings = load_settings(env, home=tmp_path / "home")
    assert (settings.hash_concurrency, settings.hash_pending) == (3, 9)
    assert settings.audit_key_file == str(tmp_path / "shared.key")


def test_their_defaults(tmp_path):
    settings = load_settings({"SHOAL_SECRET": "s"}, home=tmp_path / "home")
    assert (settings.hash_concurrency, settings.hash_pending, settings.audit_key_file) == (2, 64, "")
