"""Print recordings compactly: `python -m tests.replay.show NAME...`."""

from __future__ import annotations

import json
import sys

from tests.replay import harness


def main(argv: list[str]) -> int:
    for name in argv:
        answers = harness.read_recording(name)
        print(f"===== {name}")
        for answer in answers or []:
            rest = {k: v for k, v in answer.items() if k != "step"}
            print(f"{answer['step']}: {json.dumps(rest, sort_keys=True, ensure_ascii=False)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
