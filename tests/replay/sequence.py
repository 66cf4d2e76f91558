"""Request sequences as data: tests/replay/sequences/*.yaml, one list of
sequences per area. The loader checks what a typo would otherwise turn into
a confusing difference: unknown keys, duplicate names, and two shared
sequences using the same service, check or layer label (shared sequences run
side by side in one Shoal suite).

A sequence:

    - name: notices-repeat-after      # unique; names its recording
      about: what it shows, in one line
      fresh: true                     # needs a daemon of its own (default: shared)
      suite: replan                   # or: runs in file order with its group on one daemon
      files: {sub/a.txt: "text"}      # made under {tmp} first (null: a directory)
      layers: [{label: x, yaml: ...}] # each added with POST /v1/layers first
      steps: [...]
      cleanup: [...]                  # run at the end, answers not recorded

A step is one of:

    - req: POST /v1/notices?types=custom   # method and path, query allowed
      query: {after: "{after}"}            # more query parameters (a list repeats one)
      body: {...}                          # sent as JSON; or raw: "text"; or multipart: [...]
      headers: {...}
      uid: 65001                           # connect to the socket as this uid
      transport: http                      # plain HTTP over loopback instead of the socket
      basic: [name, password]              # an Authorization: Basic header
      capture: {change: change}            # remember a value of the JSON answer as {change}
      poll: {until: {result.ready: true}, timeout: 10}  # repeat (bounded) until it holds
      stream: {lines: 2, timeout: 3}       # read a streamed answer, bounded
      only: ["@status", result.error]      # record just these parts (the rest races in Pebble itself)
    - process: sleep 1001                  # is a process with exactly this argv running?
      until: false                         # poll (bounded by timeout) until it is (not)
    - exec: {command: [echo, hi]}          # POST /v1/exec, its websockets, then its change
      stdin: "text"
    - cli: [services]                      # the pebble CLI (PEBBLE_BIN) against this daemon

Strings may name `{tmp}` (the sequence's own directory), `{hash:PASSWORD}`
(a sha512-crypt hash made at run time) and any captured value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

HERE = Path(__file__).parent
SEQUENCES_DIR = HERE / "sequences"

SEQUENCE_KEYS = {"name", "about", "fresh", "suite", "files", "layers", "steps", "cleanup"}
STEP_KEYS = {
    "req": {"req", "query", "body", "raw", "multipart", "headers", "uid", "transport", "basic",
            "capture", "poll", "stream", "only", "note"},
    "process": {"process", "until", "timeout", "note"},
    "exec": {"exec", "stdin", "uid", "capture", "note"},
    "cli": {"cli", "stdin", "env", "note"},
}


@dataclass
class Sequence:
    name: str
    area: str
    about: str
    steps: list[dict]
    fresh: bool = False
    suite: str = ""
    files: dict = field(default_factory=dict)
    layers: list[dict] = field(default_factory=list)
    cleanup: list[dict] = field(default_factory=list)

    @property
    def uses_cli(self) -> bool:
        return any("cli" in step for step in self.steps)

    def all_steps(self) -> list[dict]:
        """The layers as the requests that add them, then the steps."""
        added = [{"req": "POST /v1/layers", "body": {"action": "add", "label": layer["label"],
                                                     "format": "yaml", "layer": layer["yaml"],
                                                     "combine": bool(layer.get("combine"))}}
                 for layer in self.layers]
        return added + self.steps

    def layer_texts(self) -> list[tuple[str, str]]:
        """(label, YAML) of every layer the sequence adds, up front or in a step."""
        out = []
        for step in self.all_steps():
            body = step.get("body")
            if step.get("req", "").startswith("POST /v1/layers") and isinstance(body, dict):
                out.append((str(body.get("label", "")), str(body.get("layer", ""))))
        return out

    def owned_names(self) -> dict[str, set[str]]:
        """Services, checks and labels this sequence's layers define, and the
        identities, uids and notice keys its requests name."""
        owned = {"service": set(), "check": set(), "label": set(), "identity": set(), "uid": set(),
                 "notice key": set()}
        for step in self.all_steps():
            body = step.get("body") if isinstance(step.get("body"), dict) else {}
            if step.get("req", "").startswith("POST /v1/identities"):
                owned["identity"].update(body.get("identities") or {})
            if step.get("req", "").startswith("POST /v1/notices") and isinstance(body.get("key"), str):
                owned["notice key"].add(body["key"])
            if step.get("uid") is not None:
                owned["uid"].add(str(step["uid"]))
        for label, text in self.layer_texts():
            owned["label"].add(label.split("/")[0])
            try:
                layer = yaml.safe_load(text)
            except yaml.YAMLError:
                continue
            if isinstance(layer, dict):
                for section, kind in (("services", "service"), ("checks", "check")):
                    if isinstance(layer.get(section), dict):
                        owned[kind].update(str(name) for name in layer[section])
        return owned


class SequenceError(ValueError):
    pass


def step_kind(step: dict) -> str:
    kinds = [kind for kind in STEP_KEYS if kind in step]
    if len(kinds) != 1:
        raise SequenceError(f"a step needs exactly one of {sorted(STEP_KEYS)}: {step}")
    unknown = set(step) - STEP_KEYS[kinds[0]]
    if unknown:
        raise SequenceError(f"unknown keys {sorted(unknown)} in step {step}")
    return kinds[0]


def load(directory: Path = SEQUENCES_DIR) -> list[Sequence]:
    sequences: list[Sequence] = []
    for path in sorted(directory.glob("*.yaml")):
        for item in yaml.safe_load(path.read_text()) or []:
            unknown = set(item) - SEQUENCE_KEYS
            if unknown:
                raise SequenceError(f"{path.name}: unknown keys {sorted(unknown)} in {item.get('name')}")
            seq = Sequence(area=path.stem, **item)
            if seq.fresh and seq.suite:
                raise SequenceError(f"{seq.name}: fresh or suite, not both")
            for step in seq.all_steps() + seq.cleanup:
                step_kind(step)
            sequences.append(seq)
    check_unique(sequences)
    return sequences


def check_unique(sequences: list[Sequence]) -> None:
    names: set[str] = set()
    owners: dict[tuple[str, str], str] = {}
    for seq in sequences:
        if seq.name in names:
            raise SequenceError(f"two sequences are named {seq.name!r}")
        names.add(seq.name)
        for argv in {step["process"] for step in seq.steps if "process" in step}:
            other = owners.setdefault(("process", argv), seq.name)
            if other != seq.name:
                raise SequenceError(f"sequences {other} and {seq.name} both watch process {argv!r}")
        if seq.fresh:
            continue
        for kind, owned in seq.owned_names().items():
            for name in owned:
                other = owners.setdefault((kind, name), seq.name)
                if other != seq.name:
                    raise SequenceError(f"shared sequences {other} and {seq.name} both use {kind} {name!r}")
