"""Side by side: `PEBBLE_BIN=/path/to/pebble python -m tests.replay.compare [NAME...]`.

Runs the sequences (or the named ones) against the Pebble binary in
PEBBLE_BIN and against fresh Shoal suites at the same time, prints a diff
per sequence that answers differently, then a summary count. Exits 1 when
any differ. --area picks one area (the sequence file's name). The steps
Shoal answers differently on purpose (tests/replay/deliberate.py) are
compared with Shoal's answer there and listed with their reason.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import sys

from tests.replay import deliberate, harness
from tests.replay.sequence import load
from tests.replay.targets import pebble_bin


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="sequences to run (default: all)")
    parser.add_argument("--area", action="append", default=[], help="only the sequences of this area")
    args = parser.parse_args(argv)
    binary = pebble_bin()
    if not binary:
        print("set PEBBLE_BIN to the Pebble binary to compare with", file=sys.stderr)
        return 2
    seqs = [s for s in load() if (not args.names or s.name in args.names) and (not args.area or s.area in args.area)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        pebble = pool.submit(harness.run_pebble, seqs, binary)
        shoal = pool.submit(harness.run_shoal, seqs)
        pebble, shoal = pebble.result(), shoal.result()
    different = []
    for seq in seqs:
        for entry in deliberate.deliberate_steps(seq.name).values():
            print(f"--- {seq.name} step {entry.step} ({entry.label}) differs on purpose: {entry.reason}")
        diff = harness.differences(deliberate.apply(seq.name, pebble[seq.name]), shoal[seq.name])
        if diff:
            different.append(seq)
            print(f"=== {seq.area} / {seq.name}: {seq.about}\n{diff}\n")
    print(f"{len(seqs)} sequences: {len(seqs) - len(different)} identical, {len(different)} different")
    for area in sorted({s.area for s in different}):
        print(f"  {area}: {', '.join(s.name for s in different if s.area == area)}")
    return 1 if different else 0


if __name__ == "__main__":
    sys.exit(main())
