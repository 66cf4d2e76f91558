"""`shoal exec` against the real suite: output, stdin, split stderr, exit
codes, options, errors, a pseudo-terminal (the stdlib `pty` module runs
`shoal exec -t` under one: raw mode, the terminal's size and its changes on
SIGWINCH, typed input), and signals passed through to the command."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time

from tests.cli_support import cli_env, ok, shoal
from tests.support import ROOT


def test_output_stdin_and_the_commands_exit_code(suite):
    assert ok(suite, "exec", "echo", "hello") == "hello\n"
    split = shoal(suite, "exec", "--", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (split.returncode, split.stdout, split.stderr) == (3, "out\n", "err\n")
    assert ok(suite, "exec", "cat", stdin="piped in\n") == "piped in\n"
    binary = bytes(range(256)) * 64
    done = shoal(suite, "exec", "cat", stdin=binary, text=False)
    assert (done.returncode, done.stdout) == (0, binary)


def test_options_reach_the_command(suite, tmp_path):
    assert ok(suite, "exec", "-w", str(tmp_path), "pwd") == f"{tmp_path}\n"
    assert ok(suite, "exec", "--env", "CLI_A=1", "--env", "CLI_B=two=2", "--", "sh", "-c",
              'echo "$CLI_A $CLI_B"') == "1 two=2\n"
    # nobody's home does not exist: a working directory is needed, as with Pebble
    assert ok(suite, "exec", "-w", "/", "--user", "nobody", "--", "id", "-un") == "nobody\n"
    assert ok(suite, "exec", "-w", "/", "--uid", "65534", "--gid", "65534", "--", "sh", "-c",
              "echo $(id -u) $(id -g)") == "65534 65534\n"


def test_errors_are_pebbles(suite):
    timed_out = shoal(suite, "exec", "--timeout=200ms", "sleep", "30")
    message = ('error: cannot perform the following tasks:\n- Execute command "sleep" (timed out after 200ms: '
               "context deadline exceeded)\n")
    assert (timed_out.returncode, timed_out.stderr) == (1, message)
    missing = shoal(suite, "exec", "cli-no-such-command")
    assert (missing.returncode, missing.stderr) == (1, 'error: cannot find executable "cli-no-such-command"\n')
    interactive = shoal(suite, "exec", "-i", "cat")
    assert (interactive.returncode, interactive.stderr) == (
        1, "error: cannot call exec: cannot use interactive mode without a terminal\n")
    assert shoal(suite, "exec", "-t", "-T", "true").stderr == "error: cannot use -t and -T at the same time\n"
    assert shoal(suite, "exec").stderr == "error: the required argument `<command>` was not provided\n"


class Terminal:
    """`shoal exec ARGS` on the far side of a pseudo-terminal."""

    def __init__(self, suite, *args: str, rows: int = 30, columns: int = 100):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: becomes shoal
            os.chdir(ROOT)
            os.execve(sys.executable, [sys.executable, "-m", "shoal.cli.main", "exec", *args], cli_env(suite))
        self.resize(rows, columns)
        self.output = b""

    def resize(self, rows: int, columns: int) -> None:
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))

    def read_until(self, wanted: bytes, timeout: float = 20) -> bytes:
        deadline = time.monotonic() + timeout
        while wanted not in self.output:
            assert time.monotonic() < deadline, f"{wanted!r} not seen in {self.output!r}"
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:  # the child has gone and closed its side
                    chunk = b""
                assert chunk, f"ended before {wanted!r}: {self.output!r}"
                self.output += chunk
        return self.output

    def read_more(self, timeout: float = 20) -> None:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        assert ready, f"nothing more after {self.output!r}"
        chunk = os.read(self.fd, 4096)
        assert chunk, f"ended after {self.output!r}"
        self.output += chunk

    def type(self, text: bytes) -> None:
        os.write(self.fd, text)

    def wait(self, timeout: float = 20) -> int:
        deadline = time.monotonic() + timeout
        while True:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
            assert time.monotonic() < deadline, "shoal exec did not exit"
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if ready:
                try:
                    self.output += os.read(self.fd, 4096)
                except OSError:
                    pass


def test_exec_with_a_terminal_resizes_and_exits_with_the_commands_code(suite):
    script = 'tty; stty size; echo READY; while read line; do stty size; [ "$line" = quit ] && exit 7; done'
    term = Terminal(suite, "-t", "--", "sh", "-c", script)
    output = term.read_until(b"READY")
    assert b"/dev/pts/" in output and b"30 100\r\n" in output  # a remote pty of the local terminal's size
    term.resize(40, 120)
    os.kill(term.pid, signal.SIGWINCH)
    for _ in range(50):  # each line typed makes the command print its terminal's size
        mark = len(term.output)
        term.type(b"\r")
        while not re.search(rb"\d+ \d+\r\n", term.output[mark:]):
            term.read_more()
        if b"40 120" in term.output[mark:]:
            break
    assert b"40 120\r\n" in term.output
    term.type(b"quit\r")
    assert term.wait() == 7


def test_signals_pass_through_to_the_command(suite, tmp_path):
    script = ('trap "echo got-usr1" USR1; trap "echo got-int" INT; trap "echo got-term; exit 9" TERM; '
              "echo READY; while true; do sleep 0.1; done")
    process = subprocess.Popen([sys.executable, "-m", "shoal.cli.main", "exec", "--", "sh", "-c", script],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=cli_env(suite))
    try:
        seen = []

        def line() -> str:
            ready, _, _ = select.select([process.stdout], [], [], 20)
            assert ready, f"no output after {seen}"
            text = process.stdout.readline().decode()
            seen.append(text)
            return text

        assert line() == "READY\n"
        process.send_signal(signal.SIGUSR1)
        assert line() == "got-usr1\n"
        process.send_signal(signal.SIGINT)  # not the local CLI's end: the command's
        assert line() == "got-int\n"
        process.send_signal(signal.SIGTERM)
        assert line() == "got-term\n"
        assert process.wait(timeout=20) == 9
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_sighup_is_forwarded_and_ends_the_wait(suite, tmp_path):
    marker = tmp_path / "hup"
    script = f'trap "echo hup > {marker}; exit 0" HUP; echo READY; while true; do sleep 0.1; done'
    process = subprocess.Popen([sys.executable, "-m", "shoal.cli.main", "exec", "--", "sh", "-c", script],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=cli_env(suite))
    try:
        assert process.stdout.readline() == b"READY\n"
        process.send_signal(signal.SIGHUP)
        assert process.wait(timeout=20) == 0
        assert process.stderr.read() == b"SIGHUP received, exiting\r\n"
        deadline = time.monotonic() + 20
        while not marker.exists():
            assert time.monotonic() < deadline, "the command never got SIGHUP"
            time.sleep(0.05)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
