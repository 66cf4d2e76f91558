"""Record what a real Pebble answers: `PEBBLE_BIN=/path/to/pebble python -m tests.replay.record [NAME...]`.

Runs every sequence (or the named ones) against the Pebble binary the user
names in PEBBLE_BIN, each on a daemon of its own, and writes the normalised
answers to tests/replay/expected/NAME.json. The recordings are facts about
Pebble's behaviour; they are Shoal's expectations.

--check-shared also runs them as Shoal's test does (the shared ones side by
side on one Pebble, each suite group in order on one) and fails if any
answers differently there.
--repeat N records N times and fails if a sequence's answers vary (timing).
"""

from __future__ import annotations

import argparse
import sys

from tests.replay import harness
from tests.replay.sequence import load
from tests.replay.targets import pebble_bin


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="sequences to record (default: all)")
    parser.add_argument("--check-shared", action="store_true")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--dry-run", action="store_true", help="print differences from the recordings, write nothing")
    args = parser.parse_args(argv)
    binary = pebble_bin()
    if not binary:
        print("set PEBBLE_BIN to the Pebble binary to record", file=sys.stderr)
        return 2
    seqs = [s for s in load() if not args.names or s.name in args.names]
    if args.names and len(seqs) != len(set(args.names)):
        print(f"unknown sequences: {sorted(set(args.names) - {s.name for s in seqs})}", file=sys.stderr)
        return 2
    runs = [harness.run_pebble(seqs, binary) for _ in range(max(1, args.repeat))]
    status = 0
    for seq in seqs:
        answers = runs[0][seq.name]
        varies = [other[seq.name] for other in runs[1:] if other[seq.name] != answers]
        if varies:
            status = 1
            print(f"{seq.name}: answers vary between runs\n{harness.differences(answers, varies[0])}")
        elif args.dry_run:
            old = harness.read_recording(seq.name)
            if old != answers:
                print(f"{seq.name}: differs from its recording\n{harness.differences(old or [], answers)}")
        else:
            harness.write_recording(seq, answers)
    if args.check_shared:
        together = harness.run_pebble(seqs, binary, together=True)
        for seq in seqs:
            if together[seq.name] != runs[0][seq.name]:
                status = 1
                print(f"{seq.name}: answers differently beside the others\n"
                      f"{harness.differences(runs[0][seq.name], together[seq.name])}")
    if not args.dry_run:
        print(f"{len(seqs)} sequences run; those that answered alike each time recorded", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
