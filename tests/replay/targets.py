"""The two daemons a sequence runs against: a real Pebble (the binary named by
PEBBLE_BIN, never built or shipped here) and a Shoal suite (tests/support.py).

Each exposes the same few things the runner needs: its unix socket, its
plain-HTTP address, its state directory, and stop().
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from tests.replay import client
from tests.support import Suite, free_port

MARKER = "REPLAY_DAEMON"
# Both daemons get this PATH (Pebble's own default), so what services and
# exec see does not depend on who started the replay.
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def processes(marker: str, argv: str | None = None) -> list[int]:
    """Pids of live (not zombie) processes that a daemon with this marker started,
    with exactly this argv (split as a shell would) when one is given."""
    want = [a.encode() for a in shlex.split(argv)] if argv is not None else None
    tag = f"{MARKER}={marker}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            stat = Path(f"/proc/{entry}/stat").read_text()
            environ = Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if stat.rsplit(")", 1)[-1].split()[0] in ("Z", "X") or tag not in environ:
            continue
        if want is None or cmdline.rstrip(b"\0").split(b"\0") == want:
            found.append(int(entry))
    return found


def kill_leftovers(marker: str, timeout: float = 5) -> None:
    """After a daemon stopped: whatever it started and left behind (orphans of
    a signalled shell, say) is killed, by pid, and waited for (bounded)."""
    deadline = time.monotonic() + timeout
    while (left := processes(marker)) and time.monotonic() < deadline:
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)


def pebble_bin() -> str:
    """The Pebble binary the user named in PEBBLE_BIN ("" when unset)."""
    return os.environ.get("PEBBLE_BIN", "")


def make_root(prefix: str) -> Path:
    """A temporary directory every uid can traverse (callers run as other uids too)."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    root.chmod(0o755)
    return root


class Target:
    """A daemon. `marker` is in the environment of every process it starts, so
    the replay finds (and cleans up) its own processes and never another's."""

    kind = ""
    socket: str
    http_address: str
    home: Path
    marker: str

    def stop(self) -> None:
        raise NotImplementedError


class PebbleDaemon(Target):
    kind = "pebble"

    def __init__(self, binary: str, home: Path):
        self.binary = binary
        self.home = home
        self.socket = str(home / ".pebble.socket")
        self.http_address = f"127.0.0.1:{free_port()}"
        self.https_address = f"127.0.0.1:{free_port()}"
        self.process: subprocess.Popen | None = None
        self.marker = uuid.uuid4().hex

    def start(self, timeout: float = 15, attempts: int = 3) -> PebbleDaemon:
        """Start the daemon and wait until it answers. Two daemons started at
        once may be handed the same free port, so an early exit is retried
        with new ports."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.home.chmod(0o755)
        for attempt in range(attempts):
            if attempt:
                self.http_address = f"127.0.0.1:{free_port()}"
                self.https_address = f"127.0.0.1:{free_port()}"
            exited = self._start_once(timeout)
            if not exited:
                return self
        raise RuntimeError(f"pebble exited at start {attempts} times; last:\n{exited}")

    def _start_once(self, timeout: float) -> str:
        """"" once it answers, else the end of its log after it exited."""
        self.log = open(self.home.parent / f"{self.home.name}.log", "ab")  # noqa: SIM115 - open while it runs
        env = {**os.environ, "PATH": PATH, "PEBBLE": str(self.home), "PEBBLE_SOCKET": self.socket,
               MARKER: self.marker}
        env.pop("PEBBLE_VERBOSE", None)
        self.process = subprocess.Popen(
            [self.binary, "run", "--hold", "--http", self.http_address, "--https", self.https_address],
            cwd=self.home, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.log.close()
                return Path(self.log.name).read_text(errors="replace")[-2000:]
            try:
                answer = client.http_request(client.connect_unix(self.socket, timeout=1), "GET",
                                             "/v1/system-info", None, {}, timeout=1)
                if answer.status == 200:
                    return ""
            except OSError:
                pass
            time.sleep(0.02)
        self.stop()
        raise TimeoutError(f"pebble did not answer within {timeout}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if getattr(self, "log", None):
            self.log.close()
        kill_leftovers(self.marker)


class ShoalSuite(Target):
    kind = "shoal"

    def __init__(self, home: Path):
        home.mkdir(parents=True, exist_ok=True)
        home.chmod(0o755)
        self.home = home
        self.marker = uuid.uuid4().hex
        self.suite = Suite(home=home, http_port=free_port(), https_port=free_port(),
                           env={"SHOAL_REFUSAL_DELAY": "0", "PATH": PATH, MARKER: self.marker})
        self.socket = self.suite.socket
        self.http_address = f"127.0.0.1:{self.suite.http_port}"

    def start(self, timeout: float = 90) -> ShoalSuite:
        """Start the suite (a loaded machine may take a while); one that does
        not get ready is stopped, never left behind."""
        try:
            self.suite.start(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.suite.process is not None:
            self.suite.stop()
        kill_leftovers(self.marker)


def remove_tree(path: Path, attempts: int = 5) -> None:
    """Remove a run's directory; a daemon's last write may race the first try."""
    for _ in range(attempts):
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            return
        time.sleep(0.2)
