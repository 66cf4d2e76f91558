"""The `log-targets` section without gRPC: tables of layers → the API's answer
(status and exact message) or the combined targets, label expansion and the
`services` selection. Every expected answer was recorded from a real Pebble
v1.32.1 given the same layers on the same base plan."""

from __future__ import annotations

import pytest
import yaml

from services.common.errors import Failure
from services.plan.logforward import labels
from services.plan.plan import log_targets as targets
from services.plan.plan.dump import plan_to_yaml
from services.plan.plan.merge import build_plan
from services.plan.plan.model import LogTarget
from services.plan.plan.parse import parse_layer
from services.plan.planstate import LayerRequestError, PlanState

BASE = """
services:
  svc1: {override: replace, command: sleep 1000}
  svc2: {override: replace, command: sleep 1000}
log-targets:
  base: {override: replace, type: loki, location: 'http://127.0.0.1:9/x', services: [svc1]}
"""

PARSE = "cannot parse layer YAML: "
UNMARSHAL = 'cannot parse layer "new" section "log-targets": yaml: unmarshal errors:\n  '

# One layer labelled "new" added on BASE → (status, message); 200 means added.
ADD_LAYER = [
    ("unsupported type", "log-targets:\n  t: {override: replace, type: kafka, location: x}\n",
     400, PARSE + 'log target "t" has unsupported type "kafka", must be "loki", "opentelemetry" or "syslog"'),
    ("types are case-sensitive", "log-targets:\n  t: {override: replace, type: LOKI, location: x}\n",
     400, PARSE + 'log target "t" has unsupported type "LOKI", must be "loki", "opentelemetry" or "syslog"'),
    ("a number is read as the type's text", "log-targets:\n  t: {override: replace, type: 1, location: x}\n",
     400, PARSE + 'log target "t" has unsupported type "1", must be "loki", "opentelemetry" or "syslog"'),
    ("no type", "log-targets:\n  t: {override: replace, location: x}\n",
     400, 'plan must define "type" ("loki", "opentelemetry" or "syslog") for log target "t"'),
    ("null type", "log-targets:\n  t: {override: replace, type: ~, location: x}\n",
     400, 'plan must define "type" ("loki", "opentelemetry" or "syslog") for log target "t"'),
    ("no location", "log-targets:\n  t: {override: replace, type: loki}\n",
     400, 'plan must define "location" for log target "t"'),
    ("unknown service", "log-targets:\n  t: {override: replace, type: loki, location: x, services: [ghost]}\n",
     400, 'log target "t" specifies unknown service "ghost"'),
    ("unknown removed service",
     "log-targets:\n  t: {override: replace, type: loki, location: x, services: [svc1, -ghost]}\n",
     400, 'log target "t" specifies unknown service "ghost"'),
    ("empty service name", "log-targets:\n  t: {override: replace, type: loki, location: x, services: ['']}\n",
     400, 'log target "t" specifies unknown service ""'),
    ("a lone dash", "log-targets:\n  t: {override: replace, type: loki, location: x, services: ['-']}\n",
     400, 'log target "t" specifies unknown service ""'),
    ("a number is a service name", "log-targets:\n  t: {override: replace, type: loki, location: x, services: [1]}\n",
     400, 'log target "t" specifies unknown service "1"'),
    ("type is checked before services, services before location",
     "log-targets:\n  t: {override: replace, services: [ghost]}\n",
     400, 'plan must define "type" ("loki", "opentelemetry" or "syslog") for log target "t"'),
    ("services before location", "log-targets:\n  t: {override: replace, type: syslog, services: [ghost]}\n",
     400, 'log target "t" specifies unknown service "ghost"'),
    ("reserved label prefix", "log-targets:\n  t: {override: replace, type: loki, location: x, labels: {pebble_x: y}}\n",
     400, PARSE + 'log target "t": label "pebble_x" uses reserved prefix "pebble_"'),
    ("labels are checked before the type",
     "log-targets:\n  t: {override: replace, type: kafka, location: x, labels: {pebble_service: y}}\n",
     400, PARSE + 'log target "t": label "pebble_service" uses reserved prefix "pebble_"'),
    ("null target", "log-targets:\n  t:\n", 400, PARSE + 'log target object cannot be null for log target "t"'),
    ("null target with ~", "log-targets:\n  t: ~\n", 400, PARSE + 'log target object cannot be null for log target "t"'),
    ("no override", "log-targets:\n  t: {type: loki, location: x}\n",
     400, 'layer "new" must define "override" for log target "t"'),
    ("bad override", "log-targets:\n  t: {override: sideways, type: loki, location: x}\n",
     400, 'layer "new" has invalid "override" value for log target "t"'),
    ("unknown field", "log-targets: {t: {override: replace, type: loki, location: x, foo: 1}}\n",
     400, PARSE + UNMARSHAL + "line 1: field foo not found in type plan.LogTarget"),
    ("services must be a list", "log-targets: {t: {override: replace, type: loki, location: x, services: all}}\n",
     400, PARSE + UNMARSHAL + "line 1: cannot unmarshal !!str `all` into []string"),
    ("services must not be a map", "log-targets: {t: {override: replace, type: loki, location: x, services: {a: b}}}\n",
     400, PARSE + UNMARSHAL + "line 1: cannot unmarshal !!map into []string"),
    ("labels must be a map", "log-targets: {t: {override: replace, type: loki, location: x, labels: [a]}}\n",
     400, PARSE + UNMARSHAL + "line 1: cannot unmarshal !!seq into map[string]string"),
    ("label values are strings", "log-targets: {t: {override: replace, type: loki, location: x, labels: {a: [b]}}}\n",
     400, PARSE + UNMARSHAL + "line 1: cannot unmarshal !!seq into string"),
    ("type is a plan.LogTargetType", "log-targets: {t: {override: replace, type: [loki], location: x}}\n",
     400, PARSE + UNMARSHAL + "line 1: cannot unmarshal !!seq into plan.LogTargetType"),
    ("override is a plan.Override", "log-targets: {t: {override: [replace], type: loki, location: x}}\n",
     400, PARSE + UNMARSHAL + "line 1: cannot unmarshal !!seq into plan.Override"),
    ("location is a string", "log-targets: {t: {override: replace, type: loki, location: {a: b}}}\n",
     400, PARSE + UNMARSHAL + "line 1: cannot unmarshal !!map into string"),
    ("every type error is listed",
     "log-targets: {t: {override: replace, type: [a], location: [b], services: c}}\n",
     400, PARSE + UNMARSHAL + "line 1: cannot unmarshal !!seq into plan.LogTargetType\n"
     "  line 1: cannot unmarshal !!seq into string\n  line 1: cannot unmarshal !!str `c` into []string"),
    ("a target must be a map", "log-targets: {t: [x]}\n",
     400, PARSE + UNMARSHAL + "line 1: cannot unmarshal !!seq into plan.LogTarget"),
    ("the section must be a map", "log-targets: [a]\n",
     400, PARSE + UNMARSHAL + "line 1: cannot unmarshal !!seq into map[string]*plan.LogTarget"),
    ("null service items are dropped",
     "log-targets:\n  t: {override: replace, type: loki, location: x, services: [~]}\n", 200, None),
    ("labels of any scalar", "log-targets:\n  t: {override: replace, type: loki, location: x, labels: {a: 1, b: ~}}\n",
     200, None),
    ("an empty target name", "log-targets:\n  '': {override: replace, type: loki, location: x}\n", 200, None),
    ("an empty label name", "log-targets:\n  t: {override: replace, type: loki, location: x, labels: {'': v}}\n",
     200, None),
    ("all and removals; the location's scheme is not checked",
     "log-targets:\n  t: {override: replace, type: syslog, location: 'ftp://x', services: [all, -all, -svc1, svc2]}\n",
     200, None),
    ("merge onto a target that has its type", "log-targets:\n  base: {override: merge, location: 'http://h/y'}\n",
     200, None),
    ("merge creating a target needs a location", "log-targets:\n  fresh: {override: merge, type: syslog}\n",
     400, 'plan must define "location" for log target "fresh"'),
    ("replace drops the earlier type", "log-targets:\n  base: {override: replace, location: x}\n",
     400, 'plan must define "type" ("loki", "opentelemetry" or "syslog") for log target "base"'),
]


@pytest.fixture
def state(tmp_path) -> PlanState:
    (tmp_path / "layers").mkdir()
    (tmp_path / "layers" / "001-base.yaml").write_text(BASE)
    return PlanState(tmp_path / "layers", tmp_path / "state.json")


@pytest.mark.parametrize("name,text,status,message", ADD_LAYER, ids=[c[0] for c in ADD_LAYER])
def test_adding_a_log_target_layer_answers_as_pebble(state, name, text, status, message):
    if status == 200:
        state.add_layer("new", text, combine=False)
        return
    with pytest.raises(LayerRequestError) as caught:
        state.add_layer("new", text, combine=False)
    assert status == 400
    assert (caught.value.failure, caught.value.message) == (Failure.INVALID, message)


def plan_targets(*texts: str) -> dict:
    layers = [parse_layer((i + 1) * 1000, f"layer-{i}", t) for i, t in enumerate(texts)]
    plan = yaml.safe_load(plan_to_yaml(build_plan(layers)))
    return plan.get("log-targets", {})


SERVICES = "services:\n  svc1: {override: replace, command: x}\n  svc2: {override: replace, command: x}\n"

# Layers on top of SERVICES → the combined log-targets as GET /v1/plan shows them.
MERGE = [
    (
        "merge appends services, merges labels, replaces what it sets",
        [
            ("log-targets:\n  t: {override: replace, type: loki, location: 'http://a', services: [svc1],"
             " labels: {env: prod, zone: a}}\n"),
            "log-targets:\n  t: {override: merge, location: 'http://b', services: [-svc1, svc2], labels: {zone: b}}\n",
        ],
        {"t": {"type": "loki", "location": "http://b", "services": ["svc1", "-svc1", "svc2"],
               "override": "replace", "labels": {"env": "prod", "zone": "b"}}},
    ),
    (
        "replace drops everything before it",
        [
            "log-targets:\n  t: {override: replace, type: loki, location: 'http://a', services: [all], labels: {a: b}}\n",
            "log-targets:\n  t: {override: replace, type: syslog, location: 'udp://h:514'}\n",
        ],
        {"t": {"type": "syslog", "location": "udp://h:514", "services": [], "override": "replace"}},
    ),
    (
        "merge into nothing copies the definition, override and all",
        ["log-targets:\n  t: {override: merge, type: opentelemetry, location: 'http://o:4318', services: [svc2]}\n"],
        {"t": {"type": "opentelemetry", "location": "http://o:4318", "services": ["svc2"], "override": "merge"}},
    ),
    (
        "merge leaves unset fields alone",
        [
            "log-targets:\n  t: {override: replace, type: loki, location: 'http://a', services: [svc1]}\n",
            "log-targets:\n  t: {override: merge}\n",
        ],
        {"t": {"type": "loki", "location": "http://a", "services": ["svc1"], "override": "replace"}},
    ),
]


@pytest.mark.parametrize("name,texts,expected", MERGE, ids=[c[0] for c in MERGE])
def test_log_targets_merge_as_pebble_merges_them(name, texts, expected):
    assert plan_targets(SERVICES, *texts) == expected


# A target's `services` → which of svc1, svc2 log to it.
LOGS_TO = [
    ([], set()),
    (["all"], {"svc1", "svc2"}),
    (["svc1"], {"svc1"}),
    (["all", "-svc1"], {"svc2"}),
    (["all", "-all"], set()),
    (["-all", "svc2"], {"svc2"}),
    (["svc1", "-svc1"], set()),
    (["-svc1", "svc1"], {"svc1"}),
    (["all", "-all", "-svc1", "svc2"], {"svc2"}),
    (["svc1", "-all", "all"], {"svc1", "svc2"}),
]


@pytest.mark.parametrize("services,expected", LOGS_TO)
def test_the_last_matching_entry_of_services_decides(services, expected):
    target = LogTarget(name="t", services=services)
    assert {s for s in ("svc1", "svc2") if targets.logs_to(target, s)} == expected


ENV = {"ZONE": "blue", "A_1": "x", "EMPTY": "", "1": "one", "*": "star"}

# A label value → the label sent for a service with ENV (Go's os.Expand).
EXPANSIONS = [
    ("plain", "plain"),
    ("$ZONE", "blue"),
    ("${ZONE}", "blue"),
    ("x-${ZONE}-y", "x-blue-y"),
    ("$ZONE-$A_1", "blue-x"),
    ("$ZONEX", ""),
    ("[$NOPE]", "[]"),
    ("$EMPTY.", "."),
    ("$", "$"),
    ("a$", "a$"),
    ("$$", ""),
    ("$1x", "onex"),
    ("${1}", "one"),
    ("$*", "star"),
    ("${*}", "star"),
    ("${}", ""),
    ("a${}b", "ab"),
    ("${ZONE", "ZONE"),
    ("$ ZONE", "$ ZONE"),
    ("$.x", "$.x"),
    ("${ZO NE}", ""),
    ("é$ZONE", "éblue"),
]


@pytest.mark.parametrize("value,expected", EXPANSIONS)
def test_label_values_expand_the_services_environment_as_go_does(value, expected):
    assert labels.evaluate({"k": value}, ENV) == {"k": expected}
