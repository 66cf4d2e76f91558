"""Run many sequences against one kind of daemon, side by side, and return
their normalised transcripts.

- Pebble: every sequence gets a daemon of its own (it starts in milliseconds),
  so a recording is what Pebble answers from a clean state.
- Shoal: a suite takes a couple of seconds to start, so the sequences that
  do not need a clean state share one suite and run concurrently (each uses
  its own services, checks, labels, notice keys and uids, which the loader
  checks); a `fresh` sequence gets a suite of its own, and so does each
  `suite` group.

A `suite` group runs in file order on a suite of its own: its sequences need
a clean state and leave one behind them (their services stopped, their
identities removed by their cleanup steps, nothing the next one looks at),
so one suite serves them all; only the last may leave something behind.

`record --check-shared` runs the sequences the Shoal way against Pebble,
which proves they do not disturb each other.
"""

from __future__ import annotations

import concurrent.futures
import json
import traceback
from collections.abc import Callable
from pathlib import Path

from tests.replay.normalise import normalise
from tests.replay.runner import Run
from tests.replay.sequence import Sequence
from tests.replay.targets import PebbleDaemon, ShoalSuite, Target, make_root, remove_tree

SHARED_WORKERS = 8
FRESH_WORKERS = 3

Transcripts = dict[str, list[dict]]


def replacements(target: Target, tmp: Path, ports: dict[str, int]) -> dict[str, str]:
    out = {str(tmp): "<tmp>", str(target.home): "<home>", target.socket: "<socket>",
           target.http_address: "<http-address>"}
    out.update({f":{port}": f":<port-{name}>" for name, port in ports.items()})
    https = getattr(target, "https_address", "") or (
        f"127.0.0.1:{target.suite.https_port}" if isinstance(target, ShoalSuite) else "")
    if https:
        out[https] = "<https-address>"
    return out


def run_one(seq: Sequence, target: Target, tmp: Path, mode: str) -> list[dict]:
    tmp.mkdir(parents=True, exist_ok=True)
    tmp.chmod(0o755)
    run = Run(seq, target, tmp, mode)
    try:
        raw = run.run()
    except Exception:  # noqa: BLE001 - a harness failure is reported as the sequence's answer
        raw = [{"step": "<harness>", "error": traceback.format_exc(limit=3)}]
    return normalise(raw, replacements(target, tmp, run.ports))


Job = Callable[[], Transcripts]


def _alone(seqs: list[Sequence], root: Path, make: Callable[[Path], Target], name: str) -> Transcripts:
    """Sequences one after another on a daemon of their own, in `root/name`:
    one sequence, or a suite group (whose members clean up after themselves)."""
    home = root / name / "daemon"
    home.parent.mkdir(parents=True, exist_ok=True)
    target = make(home)
    try:
        mode = "group" if len(seqs) > 1 else "alone"
        return {seq.name: run_one(seq, target, root / seq.name / "tmp", mode) for seq in seqs}
    finally:
        target.stop()


def _parallel(jobs: dict[tuple[str, ...], Job], workers: int) -> Transcripts:
    """Run the jobs, `workers` at a time; a job that fails (a daemon that would
    not start, say) answers with the error for each of its sequences instead
    of ending the run."""
    out: Transcripts = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(job): names for names, job in jobs.items()}
        for future in concurrent.futures.as_completed(futures):
            try:
                out.update(future.result())
            except Exception as error:  # noqa: BLE001 - reported as the sequences' answer
                for name in futures[future]:
                    out[name] = [{"step": "<harness>", "error": f"{type(error).__name__}: {error}"}]
    return out


def run_together(seqs: list[Sequence], root: Path, make: Callable[[Path], Target],
                 shared_workers: int = SHARED_WORKERS, alone_workers: int = FRESH_WORKERS) -> Transcripts:
    """How Shoal's test runs them: the shared sequences side by side on one
    daemon; each `suite` group in order on a daemon of its own; each fresh
    sequence alone. Groups and fresh sequences run `alone_workers` at a time,
    beside the shared batch."""
    shared = [s for s in seqs if not s.fresh and not s.suite]
    groups: dict[str, list[Sequence]] = {}
    for seq in seqs:
        if seq.suite:
            groups.setdefault(seq.suite, []).append(seq)
    alone = [group for group in groups.values()] + [[s] for s in seqs if s.fresh]
    alone.sort(key=len, reverse=True)  # the longest first
    jobs = {tuple(s.name for s in group): (lambda g=group: _alone(g, root, make, g[0].suite or g[0].name))
            for group in alone}
    out: Transcripts = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as background:
        alone_job = background.submit(_parallel, jobs, alone_workers)
        if shared:
            def batch() -> Transcripts:
                target = make(root / "shared" / "daemon")
                try:
                    return _parallel({(s.name,): (lambda s=s: {s.name: run_one(s, target, root / s.name / "tmp",
                                                                               "shared")})
                                      for s in shared}, shared_workers)
                finally:
                    target.stop()
            out.update(_parallel({tuple(s.name for s in shared): batch}, 1))
        out.update(alone_job.result())
    return out


def run_pebble(seqs: list[Sequence], binary: str, together: bool = False, keep: bool = False) -> Transcripts:
    """Every sequence on a Pebble of its own (what is recorded); with
    `together`, the way Shoal's test runs them (to check they do not disturb
    each other)."""
    root = make_root("replay-")
    try:
        def make(home: Path) -> Target:
            return PebbleDaemon(binary, home).start()
        if together:
            return run_together(seqs, root, make)
        return _parallel({(s.name,): (lambda s=s: _alone([s], root, make, s.name)) for s in seqs}, SHARED_WORKERS)
    finally:
        if not keep:
            remove_tree(root)


def run_shoal(seqs: list[Sequence], keep: bool = False) -> Transcripts:
    """The sequences on Shoal suites, the way run_together arranges them."""
    root = make_root("replay-")
    try:
        return run_together(seqs, root, lambda home: ShoalSuite(home).start())
    finally:
        if not keep:
            remove_tree(root)


# -- recordings ---------------------------------------------------------------------------

EXPECTED_DIR = Path(__file__).parent / "expected"


def recording_path(name: str) -> Path:
    return EXPECTED_DIR / f"{name}.json"


def write_recording(seq: Sequence, answers: list[dict]) -> None:
    EXPECTED_DIR.mkdir(exist_ok=True)
    record = {"name": seq.name, "area": seq.area, "about": seq.about, "answers": answers}
    recording_path(seq.name).write_text(json.dumps(record, indent=1, sort_keys=True, ensure_ascii=False) + "\n")


def read_recording(name: str) -> list[dict] | None:
    path = recording_path(name)
    if not path.exists():
        return None
    return json.loads(path.read_text())["answers"]


# -- differences ----------------------------------------------------------------------------


def differences(expected: list[dict], actual: list[dict]) -> str:
    """A readable account of where `actual` departs from `expected` ("" when they agree)."""
    import difflib

    lines = []
    for index in range(max(len(expected), len(actual))):
        want = expected[index] if index < len(expected) else None
        got = actual[index] if index < len(actual) else None
        if want == got:
            continue
        name = (want or got or {}).get("step", "?")
        lines.append(f"step {index + 1}: {name}")
        a = json.dumps(want, indent=1, sort_keys=True, ensure_ascii=False).splitlines()
        b = json.dumps(got, indent=1, sort_keys=True, ensure_ascii=False).splitlines()
        diff = list(difflib.unified_diff(a, b, "pebble", "shoal", n=2, lineterm=""))
        lines.extend("    " + line for line in diff[2:])
    return "\n".join(lines)
