"""The service supervisor with real processes (sh, sleep): okay delay, exit
actions, backoff, kill-delay, process groups, environment, orphans, signals."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from services.plan.plan.model import Service
from services.plan.supervisor import (
    EXIT_CHECK_FAILURE,
    EXIT_FAILURE,
    EXIT_SUCCESS,
    ServiceStatus,
    SignalError,
    StartError,
    StopError,
    Supervisor,
    group_alive,
    next_backoff,
    read_pids_file,
    with_jitter,
    write_pids_file,
)

FAST = 0.2  # okay delay for most tests


def svc(name: str, command: str, **fields) -> Service:
    fields.setdefault("kill_delay", 1.0)
    return Service(name=name, command=command, **fields)


async def until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def pid_dead(pid: int) -> bool:
    """Gone, or a zombie waiting for whoever adopted it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def lines(sup: Supervisor, name: str) -> list[str]:
    return [e.message for e in sup.logs.last([name], -1)]


class Recorder:
    def __init__(self) -> None:
        self.statuses: list[tuple[str, str]] = []
        self.shutdowns: list[int] = []

    def status(self, name: str, status: ServiceStatus) -> None:
        self.statuses.append((name, status.current))

    def shutdown(self, code: int) -> None:
        self.shutdowns.append(code)


@pytest.fixture
async def rec():
    return Recorder()


@pytest.fixture
async def sup(tmp_path, rec):
    supervisor = Supervisor(
        tmp_path / "run" / "pids.json",
        on_shutdown=rec.shutdown,
        on_status_change=rec.status,
        okay_delay=FAST,
        kill_grace=2.0,
        orphan_kill_delay=0.3,
    )
    yield supervisor
    await supervisor.stop_all()


# -- start / stop ---------------------------------------------------------------


async def test_never_started_service_is_inactive_without_since(sup):
    assert sup.status("nope") == ServiceStatus("inactive", None)
    assert await sup.stop("nope") == 'Service "nope" has never been started.'
    assert sup.started_services() == []
    assert sup.start_count("nope") == 0


async def test_start_waits_the_okay_delay_then_runs_and_stops(tmp_path):
    sup = Supervisor(tmp_path / "pids.json")  # default 1 s okay delay
    service = svc("web", "sleep 30")
    began = time.monotonic()
    try:
        assert await sup.start(service) is True
        assert time.monotonic() - began >= 1.0
        status = sup.status("web")
        assert status.current == "active" and status.since is not None
        assert sup.state("web") == "running"
        assert await sup.start(service) is False  # already started
        assert sup.start_count("web") == 1
        assert sup.is_active("web")
        assert sup.config_at_start("web") == service
        assert sup.config_at_start("web") is not service
        assert sup.started_services() == ["web"]
        pgid = read_pids_file(tmp_path / "pids.json")["groups"]["web"]
        assert pgid == sup.pid("web") == os.getpgid(sup.pid("web"))

        began = time.monotonic()
        assert await sup.stop("web") is None
        assert time.monotonic() - began < 0.9  # sleep obeys SIGTERM
        assert sup.status("web").current == "inactive"
        assert not sup.is_active("web")
        assert await sup.stop("web") == 'Service "web" already stopped.'
        assert read_pids_file(tmp_path / "pids.json")["groups"] == {}
        assert sup.started_services() == ["web"]  # still listed for metrics
    finally:
        await sup.stop_all()


async def test_exit_within_okay_delay_raises_with_output_and_backs_off(sup):
    service = svc("quick", "sh -c 'echo one; echo two >&2; exit 3'", backoff_delay=10.0)
    with pytest.raises(StartError) as caught:
        await sup.start(service)
    assert caught.value.message == "service start attempt: exited quickly with code 3, will restart"
    assert caught.value.output == "    one\n    two"  # indented for the task log
    assert sup.status("quick").current == "backoff"
    assert await sup.stop("quick") is None  # backoff → stopped at once
    assert sup.status("quick").current == "inactive"


async def test_an_aborted_start_kills_its_process_and_stops_the_service(tmp_path):
    sup = Supervisor(tmp_path / "pids.json", okay_delay=30.0)  # the abort comes long before
    aborted = asyncio.Event()
    starting = asyncio.ensure_future(sup.start(svc("slow", "sleep 60"), aborted=aborted))
    await until(lambda: sup.pid("slow") is not None)
    pid = sup.pid("slow")
    assert sup.status("slow").current == "active"
    aborted.set()
    with pytest.raises(StartError) as caught:
        await starting
    assert caught.value.message == "start aborted, sent SIGKILL to process"
    assert caught.value.output is None
    assert sup.status("slow").current == "inactive"
    await until(lambda: pid_dead(pid))
    await until(lambda: sup.pid("slow") is None)
    assert sup.status("slow").current == "inactive"  # its exit changed nothing
    await sup.stop_all()


async def test_a_start_of_a_running_service_records_its_new_config(sup):
    assert await sup.start(svc("conf", "sleep 30", environment={"V": "one"})) is True
    assert await sup.start(svc("conf", "sleep 30", environment={"V": "two"})) is False  # already running
    assert sup.config_at_start("conf").environment == {"V": "two"}
    assert sup.known_services() == ["conf"]


async def test_output_quoted_after_a_failed_start_covers_earlier_runs(sup):
    service = svc("again", "sh -c 'echo ran; exit 1'", backoff_delay=60.0)
    for _ in range(2):
        with pytest.raises(StartError) as caught:
            await sup.start(service)
        await sup.stop("again")
    assert caught.value.output == "    ran\n    ran"


async def test_a_silent_failed_start_quotes_an_empty_output(sup):
    with pytest.raises(StartError) as caught:
        await sup.start(svc("silent", "sh -c 'exit 2'", backoff_delay=60.0))
    assert caught.value.output == "    "


async def test_exit_quickly_output_is_the_last_20_lines(sup):
    service = svc(
        "chatty", "sh -c 'for i in $(seq 1 30); do echo line$i; done; exit 1'", on_failure="ignore"
    )
    with pytest.raises(StartError) as caught:
        await sup.start(service)
    assert caught.value.message == "service start attempt: exited quickly with code 1, will ignore"
    assert caught.value.output.split("\n") == ["    (...)"] + [f"    line{i}" for i in range(11, 31)]
    assert sup.status("chatty").current == "error"
    assert await sup.stop("chatty") == 'Service "chatty" had already exited.'
    assert sup.status("chatty").current == "inactive"


async def test_failing_service_restarts_after_backoff_and_becomes_active(sup, rec, tmp_path):
    marker = tmp_path / "ran-once"
    script = f"if [ -f {marker} ]; then exec sleep 30; fi; touch {marker}; sleep 0.4; exit 1"
    service = svc("flaky", f"sh -c '{script}'", backoff_delay=0.1)
    assert await sup.start(service) is True
    await until(lambda: sup.start_count("flaky") == 2 and sup.status("flaky").current == "active")
    assert [s for n, s in rec.statuses if n == "flaky"] == ["active", "backoff", "active"]
    assert sup.state("flaky") == "running"


async def test_backoff_delay_grows_and_resets_after_staying_up(sup):
    service = svc(
        "crashy",
        "sh -c 'sleep 0.3; exit 1'",
        backoff_delay=0.05,
        backoff_factor=2.0,
        backoff_limit=10.0,
    )
    await sup.start(service)
    await until(lambda: sup.start_count("crashy") >= 3)
    assert sup._records["crashy"].backoff >= 0.1  # 0.05, then 0.1, ...
    await sup.stop("crashy")

    # With a limit shorter than its uptime, every exit starts the backoff over.
    steady = svc("steady", "sh -c 'sleep 0.3; exit 1'", backoff_delay=0.05, backoff_limit=0.2)
    await sup.start(steady)
    await until(lambda: sup.start_count("steady") >= 3)
    assert sup._records["steady"].backoff == 0.05


def test_backoff_math():
    service = Service("s")
    delays, current = [], 0.0
    for _ in range(8):
        current = next_backoff(current, service)
        delays.append(current)
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    custom = Service("c", backoff_delay=1.0, backoff_factor=3.0, backoff_limit=5.0)
    assert next_backoff(next_backoff(0.0, custom), custom) == 3.0
    assert next_backoff(3.0, custom) == 5.0
    for _ in range(200):
        assert 2.0 <= with_jitter(2.0) <= 2.2


@pytest.mark.parametrize(
    ("field", "action", "code", "state", "current"),
    [
        ("on_failure", "ignore", 2, "exited", "error"),
        ("on_success", "ignore", 0, "stopped", "inactive"),
    ],
)
async def test_ignore_action(sup, field, action, code, state, current):
    service = svc("once", f"sh -c 'sleep 0.3; exit {code}'", **{field: action})
    assert await sup.start(service) is True
    await until(lambda: sup.state("once") == state)
    assert sup.status("once").current == current
    assert sup.start_count("once") == 1


@pytest.mark.parametrize(
    ("field", "action", "code", "expected"),
    [
        ("on_failure", "shutdown", 1, EXIT_FAILURE),
        ("on_success", "shutdown", 0, EXIT_SUCCESS),
        ("on_success", "failure-shutdown", 0, EXIT_FAILURE),
        ("on_failure", "success-shutdown", 4, EXIT_SUCCESS),
    ],
)
async def test_shutdown_actions_call_the_hook(sup, rec, field, action, code, expected):
    service = svc("main", f"sh -c 'sleep 0.3; exit {code}'", **{field: action})
    await sup.start(service)
    await until(lambda: rec.shutdowns)
    assert rec.shutdowns == [expected]
    assert sup.status("main").current == "error"


async def test_async_shutdown_hook_is_awaited(tmp_path):
    codes: list[int] = []

    async def hook(code: int) -> None:
        codes.append(code)

    sup = Supervisor(None, on_shutdown=hook, okay_delay=FAST)
    with pytest.raises(StartError, match="will shutdown"):
        await sup.start(svc("x", "false", on_failure="shutdown"))
    await until(lambda: codes == [EXIT_FAILURE])


# -- stopping -------------------------------------------------------------------


async def test_kill_delay_escalates_to_sigkill(sup):
    service = svc("stubborn", """sh -c 'trap "" TERM; echo ready; sleep 30'""", kill_delay=0.3)
    await sup.start(service)
    await until(lambda: "ready" in lines(sup, "stubborn"))  # SIGTERM is ignored from here on
    pid = sup.pid("stubborn")
    began = time.monotonic()
    assert await sup.stop("stubborn") is None
    elapsed = time.monotonic() - began
    assert 0.3 <= elapsed < 2.0
    assert sup.state("stubborn") == "stopped"
    assert not group_alive(pid)


async def test_a_stop_during_the_okay_delay_fails_the_start(tmp_path):
    sup = Supervisor(tmp_path / "pids.json", okay_delay=30.0)
    starting = asyncio.ensure_future(sup.start(svc("early", "sleep 60")))
    await until(lambda: sup.state("early") == "starting")
    assert await asyncio.wait_for(sup.stop("early"), 5) is None  # nothing held it up
    with pytest.raises(StartError) as caught:
        await starting
    assert caught.value.message == "service start attempt: stopped before the 30s okay delay"
    assert caught.value.output == "    "
    assert sup.status("early").current == "inactive"
    await sup.stop_all()


async def test_stop_and_start_while_stopping_answer_at_once(sup):
    await sup.start(svc("slow-stop", """sh -c 'trap "" TERM; sleep 60 & wait'""", kill_delay=30.0))
    stopping = asyncio.ensure_future(sup.stop("slow-stop"))
    await until(lambda: sup.state("slow-stop") == "terminating")
    assert await asyncio.wait_for(sup.stop("slow-stop"), 1) == 'Service "slow-stop" already stopping.'
    with pytest.raises(StartError, match="^cannot start service while terminating$"):
        await asyncio.wait_for(sup.start(svc("slow-stop", "sleep 60")), 1)
    await sup.stop_all(within=0.2)
    assert await asyncio.wait_for(stopping, 5) is None


async def test_stop_error_when_the_process_survives(sup, monkeypatch):
    await sup.start(svc("immortal", "sleep 30", kill_delay=0.05))
    monkeypatch.setattr("services.plan.supervisor._signal_group", lambda pgid, sig: None)
    sup.kill_grace = 0.1
    with pytest.raises(StopError) as caught:
        await sup.stop("immortal")
    assert (
        caught.value.message
        == "cannot stop service: process still running after SIGTERM and SIGKILL"
    )
    monkeypatch.undo()
    assert sup.status("immortal").current == "inactive"  # stopped all the same, as in Pebble
    assert await sup.stop("immortal") == 'Service "immortal" already stopped.'
    pid = sup.pid("immortal")
    await sup.stop_all(within=0.5)  # the shutdown still kills what is left
    await until(lambda: pid_dead(pid))


async def test_stop_kills_the_whole_process_group(sup, tmp_path):
    child_file = tmp_path / "child.pid"
    await sup.start(svc("parent", f"sh -c 'sleep 30 & echo $! > {child_file}; wait'"))
    await until(lambda: child_file.exists() and child_file.read_text().strip())
    child = int(child_file.read_text())
    assert os.getpgid(child) == sup.pid("parent")
    await sup.stop("parent")
    await until(lambda: pid_dead(child), timeout=2)


async def test_leftover_children_die_when_the_main_process_exits(sup, tmp_path):
    child_file = tmp_path / "child.pid"
    service = svc(
        "leaver",
        f"sh -c 'sleep 30 & echo $! > {child_file}; sleep 0.4; exit 0'",
        on_success="ignore",
    )
    await sup.start(service)
    await until(lambda: sup.state("leaver") == "stopped")
    await until(lambda: pid_dead(int(child_file.read_text())), timeout=2)


async def test_stop_all_stops_running_and_backoff_services(sup):
    await sup.start(svc("a", "sleep 30"))
    with pytest.raises(StartError):
        await sup.start(svc("b", "false", backoff_delay=10.0))
    assert sup.status("b").current == "backoff"
    await sup.stop_all()
    assert sup.status("a").current == "inactive"
    assert sup.status("b").current == "inactive"



async def test_stop_all_is_bounded_whatever_the_kill_delay_and_starts_nothing_again(sup, tmp_path):
    """Issue 15: a service that ignores SIGTERM with a kill-delay of 1000h, one
    whose own stop is under way (holding its lock for that kill-delay), and
    their children: all gone within the bound, and nothing restarts after."""
    stubborn = """sh -c 'trap "" TERM; sleep 60 & echo $! > CHILD; echo ready; wait; sleep 60'"""
    children = {}
    for name in ("deaf", "stopping"):
        children[name] = tmp_path / f"{name}.child"
        await sup.start(svc(name, stubborn.replace("CHILD", str(children[name])), kill_delay=3600.0 * 1000))
        await until(lambda name=name: "ready" in lines(sup, name))
    stop_under_way = asyncio.ensure_future(sup.stop("stopping"))
    await until(lambda: sup.state("stopping") == "terminating")
    began = time.monotonic()
    await sup.stop_all(within=0.5)
    assert time.monotonic() - began < 3.0
    for name, child in children.items():
        assert sup.status(name).current == "inactive"
        await until(lambda child=child: pid_dead(int(child.read_text())), timeout=2)
    assert await asyncio.wait_for(stop_under_way, 5) is None
    with pytest.raises(StartError, match="the node agent is stopping"):
        await sup.start(svc("late", "sleep 30"))


# -- process set-up -------------------------------------------------------------


async def test_environment_and_working_dir_reach_the_process(tmp_path):
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "BASE": "from-daemon", "FOO": "daemon"}
    sup = Supervisor(None, base_env=base, okay_delay=FAST)
    command = """sh -c 'echo "$FOO|$BASE|$(pwd)|${HOME:-nohome}"; exec sleep 30'"""
    service = svc("envy", command, environment={"FOO": "service"}, working_dir=str(tmp_path))
    try:
        await sup.start(service)
        await until(lambda: lines(sup, "envy"))
        assert lines(sup, "envy") == [f"service|from-daemon|{tmp_path}|nohome"]
    finally:
        await sup.stop_all()


async def test_default_args_group_is_part_of_the_command(sup):
    await sup.start(svc("args", "sh -c 'echo \"$0 $1\"; exec sleep 30' [ zero one ]"))
    await until(lambda: lines(sup, "args"))
    assert lines(sup, "args") == ["zero one"]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch user")
async def test_user_is_honoured_as_root(sup):
    command = """sh -c 'echo "$(id -u):$(id -g):$HOME:$USER"; exec sleep 30'"""
    await sup.start(svc("nob", command, user="nobody", working_dir="/"))
    await until(lambda: lines(sup, "nob"))
    import pwd

    entry = pwd.getpwnam("nobody")
    assert lines(sup, "nob") == [f"{entry.pw_uid}:{entry.pw_gid}:{entry.pw_dir}:nobody"]


def _status_fields(pid: int) -> dict[str, str]:
    return dict(line.split(":\t", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":\t" in line)


async def test_a_service_starts_with_default_signals_its_own_session_and_only_its_stdio(sup):
    """What the child gets from the spawn: SIGPIPE and SIGXFSZ back to their
    defaults (Python ignores both), a session of its own, and no fd of the
    node agent besides stdin, stdout and stderr."""
    leak = os.open("/dev/null", os.O_RDONLY)
    os.set_inheritable(leak, True)  # even an inheritable fd of the agent stays out
    try:
        await sup.start(svc("child", "sleep 30"))
    finally:
        os.close(leak)
    pid = sup.pid("child")
    ignored = int(_status_fields(pid)["SigIgn"], 16)
    assert not ignored & (1 << (signal.SIGPIPE - 1)) and not ignored & (1 << (signal.SIGXFSZ - 1))
    assert os.getsid(pid) == pid == os.getpgid(pid)
    assert sorted(os.listdir(f"/proc/{pid}/fd")) == ["0", "1", "2"]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch user")
async def test_a_service_run_as_a_user_has_that_users_groups(sup):
    import pwd

    entry = pwd.getpwnam("nobody")
    await sup.start(svc("nob-groups", "sleep 30", user="nobody"))
    fields = _status_fields(sup.pid("nob-groups"))
    assert fields["Uid"].split() == [str(entry.pw_uid)] * 4
    assert fields["Gid"].split() == [str(entry.pw_gid)] * 4
    assert sorted(map(int, fields["Groups"].split())) == sorted(os.getgrouplist("nobody", entry.pw_gid))


async def test_group_without_user_is_an_error(sup):
    with pytest.raises(StartError, match="must specify user, not just group"):
        await sup.start(svc("g", "sleep 30", group="root"))
    assert sup.status("g").current == "inactive"  # it could not start: stopped, as in Pebble
    assert sup.start_count("g") == 0


def test_credentials_resolution():
    import grp
    import pwd

    from services.plan.supervisor import _credentials

    root = pwd.getpwuid(0)
    assert _credentials(Service("s")).uid is None
    creds = _credentials(Service("s", user=root.pw_name))
    assert (creds.uid, creds.gid, creds.home, creds.user) == (
        0,
        root.pw_gid,
        root.pw_dir,
        root.pw_name,
    )
    assert _credentials(Service("s", user_id=0, group_id=5)).gid == 5
    assert _credentials(Service("s", user_id=0, group=grp.getgrgid(0).gr_name)).gid == 0
    errors = {
        "user": Service("s", user="no-such-user-xyz"),
        "group": Service("s", user_id=0, group="no-such-group-xyz"),
        "mismatch": Service("s", user=root.pw_name, user_id=12345),
    }
    messages = {}
    for key, service in errors.items():
        with pytest.raises(StartError) as caught:
            _credentials(service)
        messages[key] = caught.value.message
    assert messages == {  # Pebble's (Go's) words, with no prefix
        "user": "user: unknown user no-such-user-xyz",
        "group": "group: unknown group no-such-group-xyz",
        "mismatch": f'user "{root.pw_name}" UID (0) does not match user-id (12345)',
    }


async def test_unknown_executable_cannot_start(sup):
    with pytest.raises(StartError) as caught:
        await sup.start(svc("missing", "/nonexistent/program --flag"))
    assert caught.value.message == "cannot start service: fork/exec /nonexistent/program: no such file or directory"
    assert sup.status("missing").current == "inactive"
    with pytest.raises(StartError) as caught:
        await sup.start(svc("unfound", "no-such-program-here --flag"))
    assert caught.value.message == 'cannot start service: exec: "no-such-program-here": executable file not found in $PATH'
    assert await sup.stop("missing") == 'Service "missing" already stopped.'


# -- checks and signals ---------------------------------------------------------


async def test_check_failure_restart_terminates_then_restarts(sup, rec):
    await sup.start(svc("checked", "sleep 30", backoff_delay=0.05))
    first = sup.pid("checked")
    await sup.check_failed("checked", "restart")
    assert pid_dead(first)
    await until(lambda: sup.start_count("checked") == 2 and sup.state("checked") == "running")
    assert [s for _, s in rec.statuses] == ["active", "inactive", "backoff", "active"]
    await sup.check_failed("checked", "ignore")
    assert sup.start_count("checked") == 2
    await sup.check_failed("checked", "shutdown")
    await sup.check_failed("checked", "success-shutdown")
    assert rec.shutdowns == [EXIT_CHECK_FAILURE, EXIT_SUCCESS]


async def test_check_failure_restart_of_an_exited_service_backs_off(sup):
    with pytest.raises(StartError):
        await sup.start(svc("dead", "false", on_failure="ignore", backoff_delay=10.0))
    assert sup.state("dead") == "exited"
    await sup.check_failed("dead", "restart")
    assert sup.state("dead") == "backoff"


async def test_send_signal(sup):
    command = """sh -c 'trap "echo got-hup" HUP; echo ready; while true; do sleep 0.05; done'"""
    await sup.start(svc("sig", command))
    await until(lambda: "ready" in lines(sup, "sig"))  # the trap is set
    await sup.send_signal("sig", "SIGHUP")
    await until(lambda: "got-hup" in lines(sup, "sig"))
    for name in ("HUP", "SIGNOPE", "SIGRTMIN", "SIGIOT", ""):  # Pebble's names only, no aliases
        with pytest.raises(SignalError) as caught:
            await sup.send_signal("sig", name)
        assert caught.value.message == f'cannot send signal to "sig": invalid signal name "{name}"'
    with pytest.raises(SignalError) as caught:
        await sup.send_signal("other", "SIGHUP")
    assert caught.value.message == 'cannot send signal to "other": service is not running'
    await sup.stop("sig")
    with pytest.raises(SignalError, match="service is not running"):
        await sup.send_signal("sig", "SIGHUP")


async def test_a_signal_reaches_the_main_process_only(sup, tmp_path):
    child = tmp_path / "child.pid"
    command = f"""sh -c 'trap "echo main-got-usr1" USR1; sleep 60 & echo $! > {child}; echo ready; wait; wait'"""
    await sup.start(svc("sig-main", command))
    await until(lambda: "ready" in lines(sup, "sig-main"))
    await sup.send_signal("sig-main", "SIGUSR1")
    await until(lambda: "main-got-usr1" in lines(sup, "sig-main"))
    assert Path(f"/proc/{int(child.read_text())}").exists()  # the group's other process: untouched
    await sup.stop("sig-main")


# -- orphans --------------------------------------------------------------------


def orphan(command: str, ready: str = "") -> tuple[int, int]:
    """A process group whose leader has exited: (pgid, pid of the survivor).
    With `ready`, the survivor prints that line when it is set up, and this
    returns only once it has."""
    proc = subprocess.Popen(
        ["sh", "-c", f"{command} 2>/dev/null & echo $!"],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    lines = [proc.stdout.readline().strip() for _ in range(2 if ready else 1)]
    proc.stdout.close()
    proc.wait(timeout=5)
    assert not ready or ready in lines, lines
    return proc.pid, int(next(line for line in lines if line != ready))


async def test_reap_orphans_kills_groups_left_by_a_previous_run(sup, tmp_path):
    polite_group, polite = orphan("sleep 30")
    stubborn_group, stubborn = orphan("""sh -c 'trap "" TERM; echo ready; sleep 30'""", ready="ready")
    write_pids_file(
        sup.pids_file, {"polite": polite_group, "stubborn": stubborn_group, "gone": 999999}
    )
    assert group_alive(polite_group) and group_alive(stubborn_group)

    assert await sup.reap_orphans() == ["polite", "stubborn"]
    assert pid_dead(polite) and pid_dead(stubborn)
    assert not group_alive(polite_group) and not group_alive(stubborn_group)
    assert read_pids_file(sup.pids_file)["groups"] == {}


async def test_reap_orphans_ignores_records_from_another_boot(sup):
    group, _ = orphan("sleep 30")
    try:
        sup.pids_file.parent.mkdir(parents=True, exist_ok=True)
        sup.pids_file.write_text(json.dumps({"boot-id": "another-boot", "groups": {"old": group}}))
        assert await sup.reap_orphans() == []
        assert group_alive(group)
        assert read_pids_file(sup.pids_file)["groups"] == {}
    finally:
        os.killpg(group, signal.SIGKILL)


async def test_reap_orphans_without_a_file_does_nothing(sup):
    assert await sup.reap_orphans() == []
