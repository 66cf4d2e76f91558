"""Make two daemons' answers comparable, and nothing more.

Replaced, because they differ between any two runs of the same daemon:
- change, task and notice ids: renumbered per sequence by first appearance
  (`<change-1>`, `<task-1>`, `<notice-1>`), in answers and in the messages
  that quote them; a change list, whose order the API leaves open, is sorted
  by id first;
- RFC3339 timestamps (`<time>`; whole seconds `<time-s>`); a time field equal
  to an earlier one of the same object says so (`<time=first-occurred>`), so
  "last-repeated did not move" stays visible;
- the random part of the temporary a file is written to;
- the boot id, the version, the daemon's own listener addresses, its state
  directory and the sequence's temporary directory;
- in an exec's environment, what the daemon inherited from whoever started it.

Everything else — status codes, the envelope, which fields are present,
kinds, messages word for word, list order where the API defines it, process
states — is kept exactly. JSON objects compare by keys, not by key order.
"""

from __future__ import annotations

import os
import re

TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)(?![\d:])")
CLI_WHEN = re.compile(r"\b(today|yesterday) at \d\d:\d\d [A-Z]{3,4}\b")
# Pebble writes a file to a temporary beside it, named with a random number.
ATOMIC_TEMP = re.compile(r"(?<=[^\s/])\.\d{1,10}~(?=$|[\s:\"'])")
BOOT_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

# Messages that quote an id: (id class, pattern whose group 1 is the id).
ID_MESSAGES = [
    ("change", re.compile(r'(?<=change with id ")(\d+)(?=")')),
    ("change", re.compile(r"(?<=change )(\d+)(?= with nothing pending)")),
    ("task", re.compile(r'(?<=task ")(\d+)(?=")')),
    ("task", re.compile(r"(?<=exec )(\d+)(?=: )")),
    ("notice", re.compile(r'(?<=notice with [Ii][Dd] ")(\d+)(?=")')),
]

# What an exec's environment keeps: the variables Pebble sets itself, and
# whatever neither the replay's own environment nor the daemon's own settings
# put there (so what the request or its service context set).
EXEC_ENV_KEEP = {"HOME", "USER", "PATH", "LANG"}
DAEMON_ENV_PREFIXES = ("SHOAL_", "PEBBLE", "REPLAY_DAEMON")


def keep_exec_variable(name: str) -> bool:
    return name in EXEC_ENV_KEEP or (name not in os.environ and not name.startswith(DAEMON_ENV_PREFIXES))


def time_placeholder(match: re.Match) -> str:
    fraction, zone = match.group(1), match.group(2)
    name = "<time>" if fraction else "<time-s>"
    return name if zone == "Z" else name[:-1] + zone + ">"


class Normaliser:
    def __init__(self, replacements: dict[str, str]):
        # Longest first, so a directory inside another is replaced whole.
        self.replacements = sorted(((k, v) for k, v in replacements.items() if k),
                                   key=lambda kv: -len(kv[0]))
        self.ids: dict[str, dict[str, str]] = {"change": {}, "task": {}, "notice": {}}

    # -- ids ---------------------------------------------------------------------
    def id_of(self, kind: str, raw) -> str:
        if not isinstance(raw, str) or not raw:
            return raw
        known = self.ids[kind]
        if raw not in known:
            known[raw] = f"<{kind}-{len(known) + 1}>"
        return known[raw]

    def message_ids(self, text: str) -> str:
        for kind, pattern in ID_MESSAGES:
            text = pattern.sub(lambda m, k=kind: self.ids[k].get(m.group(1), m.group(1)), text)
        return text

    # -- strings -----------------------------------------------------------------
    def text(self, value: str) -> str:
        for old, new in self.replacements:
            value = value.replace(old, new)
        value = TIME.sub(time_placeholder, value)
        value = ATOMIC_TEMP.sub(".<random>~", value)
        value = CLI_WHEN.sub("<when>", value)
        return self.message_ids(value)

    # -- JSON values ---------------------------------------------------------------
    def value(self, value):
        if isinstance(value, dict):
            return self.obj(value)
        if isinstance(value, list):
            if value and all(is_change(item) for item in value):
                value = sorted(value, key=lambda c: int(c["id"]) if str(c["id"]).isdigit() else 0)
            return [self.value(item) for item in value]
        if isinstance(value, str):
            return self.text(value)
        return value

    def obj(self, obj: dict) -> dict:
        obj = dict(obj)
        # Ids first, in a fixed key order, so both daemons number them alike.
        if is_change(obj):
            obj["id"] = self.id_of("change", obj["id"])
            if isinstance(obj.get("tasks"), list):
                obj["tasks"] = [{**task, "id": self.id_of("task", task["id"])}
                                if isinstance(task, dict) and "id" in task else task
                                for task in obj["tasks"]]
        if is_notice(obj):
            obj["id"] = self.id_of("notice", obj["id"])
            if obj.get("type") == "change-update":
                obj["key"] = self.id_of("change", obj["key"])
        for key in ("change-id", "prev-change-id"):
            if key in obj:
                obj[key] = self.id_of("change", obj[key])
        if "task-id" in obj:
            obj["task-id"] = self.id_of("task", obj["task-id"])
        if isinstance(obj.get("boot-id"), str) and BOOT_ID.match(obj["boot-id"]):
            obj["boot-id"] = "<boot-id>"
            if isinstance(obj.get("version"), str):
                obj["version"] = "<version>"
        if "environment" in obj and "task-id" in obj and isinstance(obj["environment"], dict):
            obj["environment"] = {k: v for k, v in obj["environment"].items() if keep_exec_variable(k)}
        out: dict = {}
        seen_times: dict[str, str] = {}
        for key in sorted(obj):
            value = obj[key]
            if isinstance(value, str) and TIME.fullmatch(value):
                same = seen_times.get(value)
                seen_times.setdefault(value, key)
                out[key] = f"<time={same}>" if same else self.text(value)
            else:
                out[key] = self.value(value)
        return out

    def envelope(self, body):
        """A Pebble envelope: its async change id first, then the rest."""
        if isinstance(body, dict) and isinstance(body.get("change"), str):
            body = {**body, "change": self.id_of("change", body["change"])}
        return self.value(body)


def is_change(value) -> bool:
    return isinstance(value, dict) and {"id", "kind", "summary", "status", "ready"} <= value.keys()


def is_notice(value) -> bool:
    return isinstance(value, dict) and {"id", "type", "key", "occurrences"} <= value.keys()


def normalise(entries: list[dict], replacements: dict[str, str]) -> list[dict]:
    """The normalised transcript of one sequence on one daemon."""
    norm = Normaliser(replacements)
    out = []
    for entry in entries:
        out.append(normalise_entry(norm, entry))
    return out


def normalise_entry(norm: Normaliser, entry: dict) -> dict:
    entry = dict(entry)
    if "body" in entry:
        body = entry["body"]
        if entry.get("step", "").startswith("POST /v1/notices") and _is_id_result(body):
            body = {**body, "result": {"id": norm.id_of("notice", body["result"]["id"])}}
        entry["body"] = norm.envelope(body)
    if "only" in entry:
        entry["only"] = norm.value(entry["only"])
    for key in ("start", "change"):
        if isinstance(entry.get(key), dict):
            entry[key] = normalise_entry(norm, entry[key])
    for key in ("stdout", "stderr", "error", "location"):
        if isinstance(entry.get(key), str):
            entry[key] = norm.text(entry[key])
    return entry


def _is_id_result(body) -> bool:
    return (isinstance(body, dict) and isinstance(body.get("result"), dict)
            and set(body["result"]) == {"id"})
