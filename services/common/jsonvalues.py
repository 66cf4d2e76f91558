"""JSON values that passed through protobuf."""

from __future__ import annotations

from collections.abc import Mapping


def whole_numbers(value):
    """JSON numbers come through protobuf's Struct (and doubles) as floats:
    42.0 → 42, everywhere inside `value`."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {k: whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [whole_numbers(v) for v in value]
    return value
