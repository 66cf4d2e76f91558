"""Run many sequences against one kind of daemon, side by side, and return
their normalised transcripts.

- Pebble: every sequence gets a daemon of its own (it starts in milliseconds),
  so a recording is what Pebble answers from a clean state.
- Shoal: a suite takes a couple of seconds to start, so the sequences that
  do not need a clean state share one suite and run concurrently (each uses
  its own services, checks, labels, notice keys and uids, which the loader
  checks); a `fresh` sequence gets a suite of its own.

`record --check-shared` runs the shared sequences the Shoal way against one
Pebble daemon, which proves they do not disturb each other.
"""

from __future__ import annotations

import concurrent.futures
import json
import traceback
from collections.abc import Callable
from pathlib import Path

import yaml

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


def environment_names(seq: Sequence) -> set[str]:
    """Environment variables a sequence sets itself (kept in exec answers)."""
    names: set[str] = set()
    for _, text in seq.layer_texts():
        try:
            layer = yaml.safe_load(text) or {}
        except yaml.YAMLError:
            continue
        for section in ("services", "checks"):
            for item in (layer.get(section) or {}).values() if isinstance(layer, dict) else []:
                env = (item or {}).get("environment") if isinstance(item, dict) else None
                if isinstance(env, dict):
                    names.update(env)
    for step in seq.steps:
        env = (step.get("exec") or {}).get("environment") if isinstance(step.get("exec"), dict) else None
        if isinstance(env, dict):
            names.update(env)
    return names


def run_one(seq: Sequence, target: Target, tmp: Path, shared: bool) -> list[dict]:
    tmp.mkdir(parents=True, exist_ok=True)
    tmp.chmod(0o755)
    run = Run(seq, target, tmp, shared)
    try:
        raw = run.run()
    except Exception:  # noqa: BLE001 - a harness failure is reported as the sequence's answer
        raw = [{"step": "<harness>", "error": traceback.format_exc(limit=3)}]
    return normalise(raw, replacements(target, tmp, run.ports), environment_names(seq))


def _fresh(seq: Sequence, root: Path, make: Callable[[Path], Target]) -> list[dict]:
    base = root / seq.name
    base.mkdir(parents=True)
    target = make(base / "daemon")
    try:
        return run_one(seq, target, base / "tmp", shared=False)
    finally:
        target.stop()


def _parallel(jobs: dict[str, Callable[[], list[dict]]], workers: int) -> Transcripts:
    out: Transcripts = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(job): name for name, job in jobs.items()}
        for future in concurrent.futures.as_completed(futures):
            out[futures[future]] = future.result()
    return out


def run_pebble(seqs: list[Sequence], binary: str, shared: bool = False, workers: int = SHARED_WORKERS,
               keep: bool = False) -> Transcripts:
    """Every sequence on a Pebble of its own; with `shared`, the shared ones on one Pebble."""
    root = make_root("replay-pebble-")
    try:
        def make(home: Path) -> Target:
            return PebbleDaemon(binary, home).start()
        jobs = {}
        one = None
        if shared:
            one = make(root / "shared" / "daemon")
        for seq in seqs:
            if shared and not seq.fresh:
                jobs[seq.name] = lambda s=seq: run_one(s, one, root / s.name / "tmp", shared=True)
            else:
                jobs[seq.name] = lambda s=seq: _fresh(s, root, make)
        try:
            return _parallel(jobs, workers)
        finally:
            if one is not None:
                one.stop()
    finally:
        if not keep:
            remove_tree(root)


def run_shoal(seqs: list[Sequence], shared_workers: int = SHARED_WORKERS, fresh_workers: int = FRESH_WORKERS,
              keep: bool = False) -> Transcripts:
    """The shared sequences on one Shoal suite, concurrently; each fresh one on its own suite."""
    root = make_root("replay-shoal-")
    try:
        def make(home: Path) -> Target:
            return ShoalSuite(home).start()
        shared = [s for s in seqs if not s.fresh]
        fresh = [s for s in seqs if s.fresh]
        out: Transcripts = {}
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as both:
            fresh_job = both.submit(_parallel, {s.name: (lambda s=s: _fresh(s, root, make)) for s in fresh},
                                    fresh_workers)
            if shared:
                suite = make(root / "shared" / "daemon")
                try:
                    out.update(_parallel({s.name: (lambda s=s: run_one(s, suite, root / s.name / "tmp", True))
                                          for s in shared}, shared_workers))
                finally:
                    suite.stop()
            out.update(fresh_job.result())
        return out
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
