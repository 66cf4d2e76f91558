"""`shoal` prints what the real `pebble` CLI prints: the CLI sequences of
tests/replay (recorded from Pebble v1.32.1's CLI against Pebble, committed in
tests/replay/expected) are run with `shoal` in the pebble CLI's place, against
a Shoal suite, and their normalised stdout, stderr and exit codes compared
with Pebble's — tables column for column (fixed widths, "-" placeholders,
"today at HH:MM UTC"), messages, YAML and JSON. Pebble is not needed.

Where Shoal prints more on purpose, that is taken out before comparing, and
said here:
- the plain progress lines that waiting commands write on stderr when it is
  not a terminal (`Start service "x": Done`); Pebble's CLI writes nothing.

Steps whose answer differs because the daemon's *API* answers differently
from Pebble's (not what the CLI makes of it) are listed in SERVER_DIFFERENCES
with the reason (`label#n`: its n-th occurrence only); tests/integration/test_pebble_replay.py holds those cases,
and each entry goes when the daemon is fixed. Every other step must match.
"""

from __future__ import annotations

import re
import sys

import pytest

from tests.replay import harness, runner
from tests.replay.sequence import load

SEQUENCES = {s.name: s for s in load() if s.uses_cli}
SERVER_DIFFERENCES = {
    "cli-checks-and-health": {
        "cli checks#3": "a stopped check keeps its change-id in Shoal's /v1/checks (Pebble drops it)",
    },
    "cli-files": {
        "exec cat '{tmp}/pulled.txt'": "an HTTP exec step: Shoal's exec task has an empty log list and the "
                                       "launcher's GRPC_ENABLE_FORK_SUPPORT in its environment",
        "cli mkdir '{tmp}/no/parents'": "Shoal's make-dirs error names the directory, Pebble's its temporary",
    },
    "cli-notices": {
        "cli notify --repeat-after=1h replay.test/cli-one": "Shoal's POST /v1/notices fails on repeat-after (500)",
        "cli notices": "Shoal's GET /v1/notices fails on after= (500), and counts differ after the step above",
        "cli notice 1": "follows from the failed repeat-after; Shoal also answers last-data: {} for no data",
    },
    "cli-signal-and-logs": {
        "cli logs cli-sig": "Shoal signals the service's process group, so the shell's sleep dies of SIGUSR1 "
                            "and the shell reports it",
        "cli signal SIGBOGUS cli-sig": "Shoal's /v1/signals error does not name the service",
    },
}
PROGRESS_LINE = re.compile(r"^.+: (Doing|Done|Error|Undone|Hold|Undoing|Abort|Undo)\n", re.MULTILINE)


@pytest.fixture(scope="module")
def shoal_as_pebble(tmp_path_factory):
    """An executable that runs `shoal` where the runner runs `pebble`, at the
    socket the runner names in PEBBLE_SOCKET."""
    wrapper = tmp_path_factory.mktemp("bin") / "shoal-as-pebble"
    wrapper.write_text(f'#!/bin/sh\nSHOAL_SOCKET="$PEBBLE_SOCKET" exec {sys.executable} -m shoal.cli.main "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


@pytest.fixture(scope="module")
def shoal_answers(request, shoal_as_pebble) -> dict[str, list[dict]]:
    wanted = {item.callspec.params["name"] for item in request.session.items
              if item.path == request.path and hasattr(item, "callspec")}
    patch = pytest.MonkeyPatch()
    patch.setattr(runner, "pebble_bin", lambda: shoal_as_pebble)
    try:
        return harness.run_shoal([SEQUENCES[name] for name in sorted(wanted)])
    finally:
        patch.undo()


def comparable(name: str, answers: list[dict]) -> list[dict]:
    """`answers` without Shoal's progress lines and without the steps listed
    in SERVER_DIFFERENCES (both sides keep the same steps)."""
    skipped = SERVER_DIFFERENCES.get(name, {})
    seen: dict[str, int] = {}
    out = []
    for answer in answers:
        label = answer.get("step", "")
        seen[label] = seen.get(label, 0) + 1
        if label in skipped or f"{label}#{seen[label]}" in skipped:
            continue
        if answer.get("step", "").startswith("cli ") and "stderr" in answer:
            answer = {**answer, "stderr": PROGRESS_LINE.sub("", answer["stderr"])}
        out.append(answer)
    return out


@pytest.mark.parametrize("name", sorted(SEQUENCES))
def test_shoal_prints_what_the_pebble_cli_prints(name, shoal_answers):
    expected = harness.read_recording(name)
    assert expected is not None, f"no recording of {name}"
    diff = harness.differences(comparable(name, expected), comparable(name, shoal_answers[name]))
    assert not diff, f"{name} ({SEQUENCES[name].about}) — pebble CLI (-) vs shoal (+):\n{diff}"
