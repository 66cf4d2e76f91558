"""Run one sequence against one daemon and return its transcript: one entry
per step, as raw as the answer came (bodies parsed, nothing replaced yet).

Every wait is bounded: a poll stops at its timeout (the last answer is kept,
marked), a stream at its line count or timeout, a process check at its
timeout.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import functools
import http.client
import json
import os
import re
import shlex
import signal
import subprocess
import time
import urllib.parse
from pathlib import Path

from passlib.hash import sha512_crypt

from tests.replay import client
from tests.replay.sequence import Sequence, step_kind
from tests.replay.targets import Target, pebble_bin, processes
from tests.support import free_port

POLL_INTERVAL = 0.05
DEFAULT_POLL_TIMEOUT = 10.0
PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_-]*)(?::([^{}\s]+))?\}")
MULTIPART_BOUNDARY = "replay0123456789abcdef0123456789ab"


class Run:
    """One sequence on one daemon."""

    def __init__(self, seq: Sequence, target: Target, tmp: Path, mode: str = "alone"):
        self.seq = seq
        self.target = target
        self.tmp = tmp
        self.mode = mode  # "alone" on its own daemon, "shared" beside others, "group" before others
        self.values: dict[str, str] = {"tmp": str(tmp)}
        self.ports: dict[str, int] = {}  # {port:NAME} -> a free loopback port, per run

    # -- values --------------------------------------------------------------------
    def sub(self, value):
        """`value` with {tmp}, {hash:PASSWORD} and captured values filled in."""
        if isinstance(value, str):
            def fill(match: re.Match) -> str:
                name, arg = match.group(1), match.group(2)
                if name == "hash" and arg is not None:
                    return password_hash(arg)
                if name == "port" and arg is not None:
                    return str(self.ports.setdefault(arg, free_port()))
                if arg is None and name in self.values:
                    return str(self.values[name])
                return match.group(0)
            return PLACEHOLDER.sub(fill, value)
        if isinstance(value, list):
            return [self.sub(v) for v in value]
        if isinstance(value, dict):
            return {self.sub(k): self.sub(v) for k, v in value.items()}
        return value

    # -- the whole sequence ------------------------------------------------------------
    def run(self) -> list[dict]:
        self.make_files()
        try:
            return [self.step(step) for step in self.seq.all_steps()]
        finally:
            self.clean_up()

    def make_files(self) -> None:
        for name, content in (self.seq.files or {}).items():
            path = self.tmp / self.sub(name)
            if content is None:
                path.mkdir(parents=True, exist_ok=True)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(self.sub(content))

    def clean_up(self) -> None:
        for step in self.seq.cleanup:
            self.step(step)  # errors are answers too, and cleanup answers are not recorded
        if self.mode != "alone":
            self.stop_owned()
        for step in self.seq.all_steps():
            if "process" in step:
                for pid in processes(self.target.marker, self.sub(step["process"])):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass

    def stop_owned(self) -> None:
        """Beside other sequences, stop this one's services and checks so they
        do not keep running (and logging, and checking) beside the others."""
        owned = self.seq.owned_names()
        try:
            if owned["check"]:
                self.request({"req": "POST /v1/checks", "body": {"action": "stop", "checks": sorted(owned["check"])}})
            if owned["service"]:
                answer = self.request({"req": "POST /v1/services",
                                       "body": {"action": "stop", "services": sorted(owned["service"])}})
                change = answer.get("body", {}).get("change") if isinstance(answer.get("body"), dict) else None
                if change:
                    self.request({"req": f"GET /v1/changes/{change}/wait?timeout=15s"})
        except (OSError, http.client.HTTPException):
            pass  # a daemon that no longer answers has nothing left to stop

    # -- steps --------------------------------------------------------------------------
    def step(self, step: dict) -> dict:
        kind = step_kind(step)
        run = {"req": self.request_step, "process": self.process_step, "exec": self.exec_step,
               "cli": self.cli_step}[kind]
        try:
            return run(step)
        except (OSError, http.client.HTTPException, subprocess.SubprocessError) as error:
            # A refused or dropped connection is an answer too (a daemon that crashed).
            return {"step": label(step), "error": f"{type(error).__name__}: {error}"}

    def request_step(self, step: dict) -> dict:
        poll = step.get("poll")
        if not poll:
            entry = self.request(step)
        else:
            deadline = time.monotonic() + float(poll.get("timeout", DEFAULT_POLL_TIMEOUT))
            while True:
                entry = self.request(step)
                if holds(entry, poll["until"]):
                    break
                if time.monotonic() >= deadline:
                    entry["poll"] = "timed out"
                    break
                time.sleep(POLL_INTERVAL)
        for name, path in (step.get("capture") or {}).items():
            self.values[name] = lookup(entry.get("body"), path)
        if step.get("only"):
            # Only these parts are deterministic (the rest races inside the daemon itself).
            entry = {"step": entry["step"], "only": {path: pick(entry, path) for path in step["only"]}}
        return entry

    def request(self, step: dict) -> dict:
        method, _, target = step["req"].partition(" ")
        target = self.sub(target)
        query = self.sub(step.get("query") or {})
        if query:
            target += ("&" if "?" in target else "?") + urllib.parse.urlencode(query, doseq=True)
        headers = {k: str(v) for k, v in self.sub(step.get("headers") or {}).items()}
        body = None
        if "body" in step:
            body = json.dumps(self.sub(step["body"])).encode()
            headers.setdefault("Content-Type", "application/json")
        elif "raw" in step:
            body = self.sub(step["raw"]).encode()
        elif "multipart" in step:
            body, content_type = multipart(self.sub(step["multipart"]))
            headers.setdefault("Content-Type", content_type)
        if step.get("basic"):
            name, password = self.sub(step["basic"])
            headers["Authorization"] = "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()
        if step.get("transport") == "http":
            sock = client.tcp_socket(self.target.http_address)
        else:
            sock = client.connect_unix(self.target.socket, step.get("uid"))
        stream = step.get("stream")
        if stream:
            resp = client.http_request(sock, method, target, body, headers,
                                       stream_lines=int(stream["lines"]),
                                       stream_seconds=float(stream.get("timeout", 3)))
        else:
            resp = client.http_request(sock, method, target, body, headers)
        return {"step": step["req"], **answer_entry(resp)}

    def process_step(self, step: dict) -> dict:
        argv = self.sub(step["process"])
        want = step.get("until")
        deadline = time.monotonic() + float(step.get("timeout", 5))
        while True:
            running = bool(processes(self.target.marker, argv))
            if want is None or running == want or time.monotonic() >= deadline:
                return {"step": label(step), "running": running}
            time.sleep(POLL_INTERVAL)

    def exec_step(self, step: dict) -> dict:
        payload = self.sub(step["exec"])
        start = self.request({"req": "POST /v1/exec", "body": payload, "uid": step.get("uid")})
        entry = {"step": label(step), "start": start}
        body = start.get("body") if isinstance(start.get("body"), dict) else {}
        change = body.get("change")
        task_id = (body.get("result") or {}).get("task-id") if isinstance(body.get("result"), dict) else None
        for name, path in (step.get("capture") or {}).items():
            self.values[name] = lookup(body, path)
        if start["status"] != 202 or not change or not task_id:
            return entry
        io = client.run_exec_websockets(self.target.socket, task_id, self.sub(step.get("stdin", "")).encode(),
                                        bool(payload.get("split-stderr")))
        entry["stdout"] = io.stdout.decode(errors="replace")
        if payload.get("split-stderr"):
            entry["stderr"] = io.stderr.decode(errors="replace")
        if io.error:
            entry["error"] = io.error
        entry["change"] = self.request({"req": f"GET /v1/changes/{change}/wait?timeout=10s"})
        entry["change"]["step"] = "GET /v1/changes/{exec}/wait?timeout=10s"
        return entry

    def cli_step(self, step: dict) -> dict:
        binary = pebble_bin()
        if not binary:
            raise RuntimeError("CLI steps run the pebble CLI: set PEBBLE_BIN to a Pebble binary")
        args = [str(a) for a in self.sub(step["cli"])]
        home = self.tmp / "cli-home"
        home.mkdir(exist_ok=True)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8",
               "TZ": "UTC", "PEBBLE_SOCKET": self.target.socket, "PEBBLE": str(home / "pebble"),
               **{k: str(v) for k, v in self.sub(step.get("env") or {}).items()}}
        try:
            done = subprocess.run([binary, *args], input=self.sub(step.get("stdin", "")).encode(),
                                  capture_output=True, env=env, cwd=self.tmp, timeout=30, check=False)
            code, out, err = done.returncode, done.stdout, done.stderr
        except subprocess.TimeoutExpired as timeout:
            code, out, err = "timed out", timeout.stdout or b"", timeout.stderr or b""
        return {"step": label(step), "exit": code,
                "stdout": out.decode(errors="replace"), "stderr": err.decode(errors="replace")}


# -- helpers -------------------------------------------------------------------------


def label(step: dict) -> str:
    """How a step is named in transcripts and diffs: as written, before any value is filled in."""
    kind = step_kind(step)
    if kind == "req":
        return step["req"]
    if kind == "process":
        return f"process {step['process']}"
    if kind == "exec":
        return "exec " + shlex.join(str(a) for a in step["exec"].get("command") or [])
    return "cli " + shlex.join(str(a) for a in step["cli"])


@functools.cache
def password_hash(password: str) -> str:
    """A sha512-crypt hash as `openssl passwd -6` makes it (5000 rounds, so checking it is quick)."""
    return sha512_crypt.using(rounds=5000).hash(password)


def lookup(value, path: str):
    """`value` at a dotted path ("result.0.id"; "" is the value itself); None when absent."""
    for part in str(path).split(".") if path else []:
        if isinstance(value, list) and part.lstrip("-").isdigit() and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return None
    return value


def pick(entry: dict, path: str):
    """A step's answer at a condition path: `@status` is the HTTP status (`@type`
    the media type), a path ending in `#` the length of the list there, else a
    dotted path in the JSON body."""
    if path.startswith("@"):
        return entry.get(path[1:])
    if path.endswith("#"):
        found = lookup(entry.get("body"), path[:-1])
        return len(found) if isinstance(found, list) else None
    return lookup(entry.get("body"), path)


def holds(entry: dict, until: dict) -> bool:
    """Whether an answer meets a poll's condition: every path has the value given."""
    return all(pick(entry, path) == want for path, want in until.items())


def answer_entry(resp: client.Response) -> dict:
    content_type = resp.header("Content-Type")
    media = content_type.split(";")[0].strip().lower()
    entry: dict = {"status": resp.status, "type": media_type(content_type)}
    if resp.header("Location"):
        entry["location"] = resp.header("Location")
    if resp.status == 101:
        return entry
    if resp.lines is not None:
        entry["body"] = [parse_line(line) for line in resp.lines]
    elif media == "application/json":
        entry["body"] = parse_json(resp.body)
    elif media == "application/x-ndjson":
        entry["body"] = [parse_line(line) for line in resp.body.splitlines(keepends=True)]
    elif media == "multipart/form-data":
        entry["body"] = parse_multipart(content_type, resp.body)
    else:
        entry["body"] = resp.body.decode(errors="replace")
    return entry


def media_type(content_type: str) -> str:
    """The Content-Type without a multipart boundary (which is random)."""
    if not content_type:
        return ""
    parts = [p.strip() for p in content_type.split(";")]
    return "; ".join([parts[0]] + [p for p in parts[1:] if not p.lower().startswith("boundary=")])


def parse_json(data: bytes):
    try:
        return json.loads(data)
    except ValueError:
        return {"<not JSON>": data.decode(errors="replace")}


def parse_line(line: bytes):
    """One line of a JSON-lines stream; its trailing newline is part of the format."""
    text = line.decode(errors="replace")
    try:
        value = json.loads(text)
    except ValueError:
        return {"<not JSON>": text}
    return value if text.endswith("\n") else {"<no newline>": value}


def parse_multipart(content_type: str, data: bytes) -> list[dict]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + data)
    if not message.is_multipart():
        return [{"<not multipart>": data.decode(errors="replace")}]
    parts = []
    for part in message.iter_parts():
        payload = part.get_payload(decode=True) or b""
        item = {"disposition": str(part.get("Content-Disposition", "")),
                "type": str(part.get("Content-Type", ""))}
        item["body"] = parse_json(payload) if item["type"] == "application/json" else payload.decode(errors="replace")
        parts.append(item)
    return parts


def multipart(spec: dict) -> tuple[bytes, str]:
    """A multipart/form-data body from {boundary?, parts: [{name, filename?, json?|content?}]}."""
    boundary = spec.get("boundary", MULTIPART_BOUNDARY)
    out = b""
    for part in spec["parts"]:
        disposition = f'form-data; name="{part["name"]}"'
        if "filename" in part:
            disposition += f'; filename="{part["filename"]}"'
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
        if "json" in part:
            out += b"Content-Type: application/json\r\n\r\n" + json.dumps(part["json"]).encode()
        else:
            out += b"Content-Type: application/octet-stream\r\n\r\n" + str(part.get("content", "")).encode()
        out += b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return out, spec.get("content-type", f'multipart/form-data; boundary="{boundary}"')
