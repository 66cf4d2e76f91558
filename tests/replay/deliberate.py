"""Where Shoal answers a recorded step differently from Pebble on purpose.

Each entry names one step of one sequence (numbered from 1, as the diffs
number them, with its label so that an edited sequence cannot shift it
silently), what Shoal answers there instead, and why. The replay test and
`compare` hold Shoal to that answer in place of Pebble's: the difference is
still checked, word for word, and it is listed, never silently skipped.
The README's "stricter or different on purpose" notes list the same
entries. Keep this list short: every other step must answer as Pebble did.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Deliberate:
    sequence: str
    step: int  # 1-based, as in a diff
    label: str  # the step as written in the sequence ("GET /v1/metrics")
    reason: str
    shoal: dict = field(default_factory=dict)  # the answer's top-level keys as Shoal answers them


_LOCKED = {"only": {"@status": 401, "result.kind": "login-required", "result.message": "access denied"}}

DELIBERATE: tuple[Deliberate, ...] = (
    Deliberate(
        "routing-unknown-paths", 7, "GET /api/v0.2/beacons/list",
        "Shoal serves its Lighthouse and security APIs (/api/...) on the same socket as /v1; Pebble has "
        "no such routes. Pebble clients never ask for them.",
        {"status": 200, "type": "application/json", "body": []},
    ),
    Deliberate(
        "access-wrong-basic-password", 11, "GET /v1/metrics",
        "Shoal locks a name out for 15 minutes after five wrong passwords (here three on the socket and "
        "two over HTTP), so the right password is refused too, in Pebble's words; Pebble has no lockout.",
        _LOCKED,
    ),
)


def deliberate_steps(sequence: str) -> dict[int, Deliberate]:
    return {d.step: d for d in DELIBERATE if d.sequence == sequence}


def apply(sequence: str, answers: list[dict]) -> list[dict]:
    """`answers` (Pebble's, as recorded) with the deliberate steps of
    `sequence` answered as Shoal answers them."""
    out = copy.deepcopy(answers)
    for number, entry in deliberate_steps(sequence).items():
        if number <= len(out) and out[number - 1].get("step") == entry.label:
            out[number - 1].update(copy.deepcopy(entry.shoal))
    return out
