"""`shoal run`'s plan of children: the gateway workers it runs, the
listeners it hands them, and which children wait for the others."""

from __future__ import annotations

import argparse
import os
import socket

import pytest

from gateway.sockets import bind_listeners, fds_spec, inherited, parse_fds
from services.common.config import load_settings
from shoal.cli.main import build_parser, gateway_workers
from shoal.cli.suite import suite_children


def test_gateway_workers_takes_a_number_or_auto():
    assert gateway_workers("1") == 1 and gateway_workers("3") == 3
    assert gateway_workers("auto") == len(os.sched_getaffinity(0))
    for bad in ("0", "-1", "two", "65", ""):
        with pytest.raises(argparse.ArgumentTypeError):
            gateway_workers(bad)
    assert build_parser(client_commands=False).parse_args(["run"]).gateway_workers == 1


def test_listen_fds_names_each_listener_once_and_the_socket_always():
    assert parse_fds("unix=3,http=4,https=5") == {"unix": 3, "http": 4, "https": 5}
    for bad in ("http=4", "unix=3,unix=4", "unix=x", "unix=3,ftp=4", "unix"):
        with pytest.raises(ValueError):
            parse_fds(bad)


def test_every_worker_gets_the_same_listeners_and_beacon_and_application_wait(tmp_path):
    settings = load_settings({"SHOAL_SECRET": "s"}, home=tmp_path / "home")
    listeners = bind_listeners(tmp_path / "s.sock", http="127.0.0.1:0")
    try:
        args = build_parser(client_commands=False).parse_args(["run", "--gateway-workers", "3"])
        children = {child.name: child for child in suite_children(settings, args, listeners)}
        workers = [children[name] for name in ("gateway", "gateway-2", "gateway-3")]
        assert {w.pass_fds for w in workers} == {tuple(s.fileno() for s in listeners.values())}
        assert all(w.argv[-2:] == ["--listen-fds", fds_spec(listeners)] for w in workers)
        assert children["beacon"].after == children["application"].after == (
            "identity", "plan", "gateway", "gateway-2", "gateway-3")
        assert children["identity"].after == children["plan"].after == ()
        handed = inherited(f"unix={os.dup(listeners['unix'].fileno())}")
        assert handed["unix"].family == socket.AF_UNIX
        handed["unix"].close()
    finally:
        for sock in listeners.values():
            sock.close()
