"""The Kubernetes manifests: every overlay renders with kustomize (kubectl's
built-in), validates against the Kubernetes schemas, and holds the promises
DESIGN.md and deploy/README.md make (replicas, probes, non-root read-only
containers, limits, disruption budgets, network policies, the autoscaler),
with every container command one the `shoal` CLI accepts."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from shoal.cli.main import build_parser

KUSTOMIZE = Path(__file__).resolve().parents[2] / "deploy" / "kustomize"
OVERLAYS = ["dev", "prod"]
K8S_VERSION = "1.30.0"


def render(path: Path) -> list[dict]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl (with its built-in kustomize) is needed to render deploy/kustomize"
    out = subprocess.run([kubectl, "kustomize", str(path)], capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


@pytest.fixture(scope="module", params=["base", *OVERLAYS])
def rendered(request) -> tuple[str, list[dict]]:
    path = KUSTOMIZE / "base" if request.param == "base" else KUSTOMIZE / "overlays" / request.param
    return request.param, render(path)


def by_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def test_every_object_validates_against_the_kubernetes_schemas(rendered):
    _, docs = rendered
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_workloads(rendered):
    name, docs = rendered
    deployments = by_kind(docs, "Deployment")
    assert set(deployments) == {"shoal-gateway", "shoal-identity", "shoal-beacon", "shoal-application"}
    expected = 1 if name == "dev" else 2
    assert {n: d["spec"]["replicas"] for n, d in deployments.items()} == dict.fromkeys(deployments, expected)
    assert set(by_kind(docs, "DaemonSet")) == {"shoal-plan"}
    if name == "dev":
        assert set(by_kind(docs, "StatefulSet")) == {"shoal-postgres"}
        urls = by_kind(docs, "Secret")["shoal-secrets"].get("stringData", {})
        assert urls["SHOAL_DATABASE_URL"].startswith("postgresql://")  # dev never falls back to SQLite
    else:
        assert not by_kind(docs, "StatefulSet")


def _containers(docs):
    for doc in docs:
        if doc["kind"] in ("Deployment", "DaemonSet") and doc["metadata"]["name"].startswith("shoal-"):
            spec = doc["spec"]["template"]["spec"]
            for container in spec["containers"]:
                yield doc, spec, container


def test_containers_are_non_root_read_only_limited_and_probed(rendered):
    _, docs = rendered
    seen = 0
    for doc, pod, container in _containers(docs):
        seen += 1
        assert pod["securityContext"]["runAsNonRoot"] is True
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False
        assert container["resources"]["requests"] and container["resources"]["limits"]
        mounts = {m["mountPath"] for m in container["volumeMounts"]}
        assert {"/var/lib/shoal", "/tmp"} <= mounts  # the only writable places
        for probe in ("readinessProbe", "livenessProbe"):
            if doc["metadata"]["name"] == "shoal-gateway":
                assert container[probe]["httpGet"]["path"].startswith("/v1/health")
            else:
                assert container[probe]["grpc"]["port"] == container["ports"][0]["containerPort"]
        env = {e["name"] for e in container.get("env", [])}
        assert "SHOAL_SECRET" in env  # one signing secret for every process
    assert seen == 5


def test_commands_are_ones_the_cli_accepts(rendered):
    _, docs = rendered
    parser = build_parser()
    for doc, _, container in _containers(docs):
        args = parser.parse_args(container["args"])
        kind = doc["metadata"]["name"].removeprefix("shoal-")
        if kind == "gateway":
            assert args.command == "gateway" and args.http and args.https
        else:
            assert (args.command, args.name) == ("service", kind) and args.listen.endswith(
                str(container["ports"][0]["containerPort"]))


def test_disruption_budgets_autoscaler_and_network_policies(rendered):
    name, docs = rendered
    policies = by_kind(docs, "NetworkPolicy")
    services = policies["shoal-services"]
    assert services["spec"]["ingress"][0]["from"] == [
        {"podSelector": {"matchLabels": {"app.kubernetes.io/part-of": "shoal"}}}]
    for _, pod, _ in _containers(docs):
        pass
    labels = [d["spec"]["template"]["metadata"]["labels"] for d, _, _ in _containers(docs)]
    assert all(lab["app.kubernetes.io/part-of"] == "shoal" for lab in labels)
    if name == "dev":
        assert not by_kind(docs, "PodDisruptionBudget") and not by_kind(docs, "HorizontalPodAutoscaler")
        assert "shoal-postgres" in policies
        return
    assert set(by_kind(docs, "PodDisruptionBudget")) == {
        "shoal-gateway", "shoal-identity", "shoal-beacon", "shoal-application"}
    hpa = by_kind(docs, "HorizontalPodAutoscaler")["shoal-gateway"]
    assert hpa["spec"]["scaleTargetRef"]["name"] == "shoal-gateway" and hpa["spec"]["minReplicas"] == 2


def test_no_secret_values_are_kept_in_the_repository(rendered):
    _, docs = rendered
    secret = by_kind(docs, "Secret")["shoal-secrets"]
    assert all(value == "" for value in secret.get("data", {}).values())
    assert "SHOAL_SECRET" not in secret.get("stringData", {})


def test_services_are_scraped_through_their_annotations(rendered):
    _, docs = rendered
    parser = build_parser()
    scraped = set()
    for doc, _, container in _containers(docs):
        kind = doc["metadata"]["name"].removeprefix("shoal-")
        if kind == "gateway":
            continue  # its /api/metrics needs a metrics credential: a scrape job of its own (README)
        annotations = doc["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true" and annotations["prometheus.io/path"] == "/metrics"
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert int(annotations["prometheus.io/port"]) == ports["metrics"]
        assert parser.parse_args(container["args"]).metrics_listen == f"0.0.0.0:{ports['metrics']}"
        scraped.add(kind)
    assert scraped == {"identity", "beacon", "application", "plan"}
    rules = by_kind(docs, "NetworkPolicy")["shoal-services"]["spec"]["ingress"]
    assert {"from": [{"namespaceSelector": {}}], "ports": [{"port": 9464}]} in rules
