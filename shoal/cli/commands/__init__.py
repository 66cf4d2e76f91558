"""The `shoal` client commands, one module per family, in Pebble's style
over the SDK (`base` holds what they share)."""

from __future__ import annotations

import importlib

FAMILIES = ("system", "services", "changes", "checks", "files", "exec", "notices", "identities", "security",
            "lighthouse")


def load_all() -> None:
    """Import every family so each registers its commands."""
    for family in FAMILIES:
        importlib.import_module(f"shoal.cli.commands.{family}")
