"""Each process loads only what it runs: `shoal run` (the supervisor) never
loads gRPC, protobuf, aiohttp or the client commands."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from services.common.config import SERVICE_NAMES
from shoal.cli.main import command_word
from shoal.descriptors import SERVICES
from tests.support import ROOT

HEAVY = ("grpc", "google", "aiohttp", "rich", "yaml", "cryptography", "shoal.client", "shoal.v1", "ssl", "asyncio")


def _loaded_by(code: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
                          cwd=ROOT, capture_output=True, text=True, check=True, timeout=60)
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_the_service_names_are_the_descriptors_services():
    assert SERVICE_NAMES == tuple(SERVICES)


def test_the_supervisor_loads_no_grpc_protobuf_aiohttp_or_client_code():
    loaded = _loaded_by("from shoal.cli import main, suite\nmain.build_parser(client_commands=False)")
    heavy = sorted(name for name in loaded if any(name == h or name.startswith(h + ".") for h in HEAVY))
    assert heavy == []


def test_the_command_word_skips_options_and_the_home_value():
    assert command_word(["--home", "run", "services"]) == "services"
    assert command_word(["run", "--http", ":4000"]) == "run"
    assert command_word(["--home=/x", "gateway"]) == "gateway"
    assert command_word([]) == ""


@pytest.mark.parametrize(("service", "unused"), [
    ("plan", ("aiohttp", "cryptography", "yaml")),  # an HTTP client only for HTTP checks and log targets; YAML with the first layer
    ("identity", ("aiohttp", "cryptography", "zipfile")),  # X.509 only for cert identities; package metadata when asked
    ("beacon", ("aiohttp", "cryptography")),  # AES-GCM only for stored beacon tokens
    ("application", ("aiohttp", "cryptography", "yaml")),
])
def test_a_service_loads_what_it_needs_only_when_it_needs_it(service, unused):
    loaded = _loaded_by(f"import services.{service}.server")
    assert sorted(name for name in loaded if name.split(".")[0] in unused) == []


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_a_service_reads_the_protos_of_the_services_it_calls_only(service):
    calls = {"identity": set(), "plan": set(), "beacon": {"identity", "plan"},
             "application": {"identity", "plan", "beacon"}}[service]
    path = f"/shoal.v1.{SERVICES[service][0]}/X"
    loaded = _loaded_by(f"import services.{service}.server\nfrom shoal.descriptors import method_at\nmethod_at({path!r})")
    protos = {name.split(".")[-1].removesuffix("_pb2") for name in loaded
              if name.startswith("shoal.v1.") and name.endswith("_pb2") and not name.endswith("options_pb2")}
    assert protos == {service} | calls
