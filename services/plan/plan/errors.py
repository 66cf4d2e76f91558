"""The plan model's errors, with Pebble's messages."""

from __future__ import annotations

from services.common.errors import DomainError


class LayerError(DomainError):
    """A layer that cannot be parsed or fails its own validation."""


class PlanError(DomainError):
    """Layers that cannot be combined, or a combined plan that is invalid."""
