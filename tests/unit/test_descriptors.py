"""The protos are the one source of truth: every RPC is fully annotated and
the committed generated code is what `make protos` makes."""

from __future__ import annotations

import filecmp
import subprocess
import sys
from pathlib import Path

import pytest

from services.identity.identities import ACCESS_LEVELS
from shoal.access import ACCESS_NAMES, SCOPE_ACCESS
from shoal.descriptors import ACCESS_RANK, SERVICES, all_methods, method_at
from shoal.v1 import options_pb2

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("method", all_methods(), ids=lambda m: f"{m.service}.{m.name}")
def test_every_rpc_has_an_access_level_and_an_http_route(method):
    assert method.access in ACCESS_RANK, f"{method.full_path} lacks (shoal.v1.access)"
    if method.access == "internal":
        assert not method.http_method, f"{method.full_path} is internal yet has an HTTP route"
    else:
        assert method.http_method in {"GET", "POST", "PUT", "PATCH", "DELETE"}, (
            f"{method.full_path} lacks its google.api.http annotation"
        )
        assert method.http_path.startswith(("/v1/", "/api/"))
        for param in method.path_params:
            assert param in method.request_class.DESCRIPTOR.fields_by_name


def test_no_two_generic_rpcs_share_a_method_and_path():
    seen = {}
    for m in all_methods():
        if not m.http_method or m.handler:
            continue
        key = (m.http_method, m.http_path)
        assert key not in seen, f"{m.name} and {seen[key]} both claim {key}"
        seen[key] = m.name


def test_committed_generated_code_matches_a_fresh_generation(tmp_path):
    import google.api.annotations_pb2 as annotations

    include = Path(annotations.__file__).parents[2]
    protos = sorted(str(p) for p in (ROOT / "protos" / "shoal" / "v1").glob("*.proto"))
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{ROOT / 'protos'}", f"-I{include}",
         f"--python_out={tmp_path}", f"--pyi_out={tmp_path}", f"--grpc_python_out={tmp_path}", *protos],
        check=True,
    )
    fresh = tmp_path / "shoal" / "v1"
    committed = ROOT / "shoal" / "v1"
    generated = sorted(p.name for p in fresh.iterdir())
    assert generated, "protoc generated nothing"
    _, mismatch, errors = filecmp.cmpfiles(fresh, committed, generated, shallow=False)
    assert not mismatch and not errors, f"stale generated code (run `make protos`): {mismatch + errors}"


def _options(method):
    """The raw method options of `method`, straight from the generated descriptor."""
    proto_name, module = SERVICES[method.service]
    return module.DESCRIPTOR.services_by_name[proto_name].methods_by_name[method.name].GetOptions()


@pytest.mark.parametrize("method", [m for m in all_methods() if m.http_method], ids=lambda m: m.name)
def test_every_routed_rpcs_per_route_facts_are_its_own_method_options(method):
    opts = _options(method)
    assert method.access == ACCESS_NAMES[opts.Extensions[options_pb2.access]]
    assert method.scopes == tuple(opts.Extensions[options_pb2.scopes])
    assert method.handler == opts.Extensions[options_pb2.handler]
    assert method.healthy_field == opts.Extensions[options_pb2.healthy_field]
    assert method.async_change == opts.Extensions[options_pb2.async_change]
    assert method.deadline_seconds == opts.Extensions[options_pb2.deadline_seconds]
    if opts.HasExtension(options_pb2.long_poll):
        poll = opts.Extensions[options_pb2.long_poll]
        assert (method.long_poll.timeout_field, method.long_poll.empty_waits_forever) == (
            poll.timeout_field, poll.empty_waits_forever)
        field = method.request_class.DESCRIPTOR.fields_by_name[poll.timeout_field]
        assert field.type == field.TYPE_STRING, f"{method.name}: a long-poll's wait is a Go-duration string"
    else:
        assert method.long_poll is None
    if method.healthy_field:
        field = method.response_class.DESCRIPTOR.fields_by_name[method.healthy_field]
        assert field.type == field.TYPE_BOOL


@pytest.mark.parametrize("method", all_methods(), ids=lambda m: m.name)
def test_every_scope_an_rpc_names_is_a_scope_tokens_can_hold(method):
    for scope in method.scopes:
        assert scope in SCOPE_ACCESS and scope != "*", f"{method.name} names unknown scope {scope!r}"
    if method.scopes:
        assert method.http_method, f"{method.name} has scopes but no route"


def test_the_facts_the_gateway_once_keyed_by_rpc_name_are_in_the_protos():
    by_name = {m.name: m for m in all_methods()}
    assert by_name["GetHealth"].healthy_field == "healthy"
    assert by_name["WaitChange"].long_poll.empty_waits_forever
    assert not by_name["ListNotices"].long_poll.empty_waits_forever
    assert by_name["GetMetrics"].scopes == ("monitoring:read", "agent:report")
    assert by_name["GetPlan"].scopes == ("monitoring:read", "settings:read")
    assert by_name["CreateToken"].scopes == ("settings:write",)
    assert by_name["ServicesAction"].scopes == ()  # only "*" reaches it
    plan_format = by_name["GetPlan"].request_class.DESCRIPTOR.fields_by_name["format"].GetOptions()
    assert list(plan_format.Extensions[options_pb2.query_values]) == ["yaml"]
    assert plan_format.Extensions[options_pb2.query_required]


def test_one_ranking_of_access_levels():
    assert list(ACCESS_RANK) == ["untrusted", "metrics", "read", "admin", "internal"]
    assert [ACCESS_RANK[name] for name in ACCESS_RANK] == sorted(
        number for number in options_pb2.Access.values() if number)
    assert sorted(ACCESS_LEVELS, key=ACCESS_RANK.get) == list(ACCESS_LEVELS)
    assert set(SCOPE_ACCESS.values()) <= set(ACCESS_LEVELS)


def test_method_at_finds_each_method_by_its_grpc_path_and_nothing_else():
    assert all(method_at(m.full_path) is m for m in all_methods())
    assert method_at("/grpc.health.v1.Health/Check") is None
    assert method_at("/shoal.v1.Plan/NoSuchMethod") is None
