"""Shoal beside real Pebble v1.32.1: every HTTP sequence in tests/replay/sequences
runs against a real Shoal suite and its normalised answers must equal what
Pebble answered (tests/replay/expected, recorded with `python -m tests.replay.record`).
Pebble itself is not needed here.

The sequences run as a batch before the first case (side by side in one
shared suite, `fresh` ones on suites of their own) and each case then
compares one sequence; a failure prints the step-by-step difference. Only
the selected cases' sequences run (`-k notices` runs the notice ones).
The few steps Shoal answers differently on purpose (tests/replay/deliberate.py)
are held to Shoal's answer, with their reason, instead of Pebble's.
"""

from __future__ import annotations

import pytest

from tests.replay import deliberate, harness
from tests.replay.sequence import load

SEQUENCES = {s.name: s for s in load() if not s.uses_cli}


@pytest.fixture(scope="module")
def shoal_answers(request) -> dict[str, list[dict]]:
    wanted = {item.callspec.params["name"] for item in request.session.items
              if item.path == request.path and hasattr(item, "callspec")}
    # In file order: a `suite` group's members run one after another in the order
    # they were recorded in (services-autostart leaves enabled services behind it,
    # so it must come after services-autostart-no-default, as in the file).
    return harness.run_shoal([seq for name, seq in SEQUENCES.items() if name in wanted])


@pytest.mark.parametrize("name", sorted(SEQUENCES))
def test_shoal_answers_as_pebble(name, shoal_answers):
    recorded = harness.read_recording(name)
    assert recorded is not None, f"no recording of {name}: run PEBBLE_BIN=... python -m tests.replay.record {name}"
    expected = deliberate.apply(name, recorded)
    diff = harness.differences(expected, shoal_answers[name])
    assert not diff, f"{name} ({SEQUENCES[name].about}) — Pebble (-) vs Shoal (+):\n{diff}"
