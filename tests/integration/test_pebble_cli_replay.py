"""The real `pebble` CLI against Shoal: the CLI sequences in tests/replay/sequences
run the binary named by PEBBLE_BIN with PEBBLE_SOCKET at a Shoal suite, and
its stdout, stderr and exit codes must equal what it printed against Pebble
(tests/replay/expected). The repository never ships or builds Pebble, so
without PEBBLE_BIN these cases are skipped.
"""

from __future__ import annotations

import pytest

from tests.replay import harness
from tests.replay.sequence import load
from tests.replay.targets import pebble_bin

SEQUENCES = {s.name: s for s in load() if s.uses_cli}

pytestmark = pytest.mark.skipif(not pebble_bin(), reason="the pebble CLI is not part of the repository: "
                                                          "set PEBBLE_BIN to a Pebble v1.32.1 binary")


@pytest.fixture(scope="module")
def shoal_answers(request) -> dict[str, list[dict]]:
    wanted = {item.callspec.params["name"] for item in request.session.items
              if item.path == request.path and hasattr(item, "callspec")}
    return harness.run_shoal([SEQUENCES[name] for name in sorted(wanted)])


@pytest.mark.parametrize("name", sorted(SEQUENCES))
def test_pebble_cli_prints_against_shoal_what_it_prints_against_pebble(name, shoal_answers):
    expected = harness.read_recording(name)
    assert expected is not None, f"no recording of {name}: run PEBBLE_BIN=... python -m tests.replay.record {name}"
    diff = harness.differences(expected, shoal_answers[name])
    assert not diff, f"{name} ({SEQUENCES[name].about}) — Pebble (-) vs Shoal (+):\n{diff}"
