"""The protos are the one source of truth: every RPC is fully annotated and
the committed generated code is what `make protos` makes."""

from __future__ import annotations

import filecmp
import subprocess
import sys
from pathlib import Path

import pytest

from shoal.descriptors import ACCESS_RANK, all_methods

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
