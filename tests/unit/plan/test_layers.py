"""Layers and the plan without gRPC: a table of layer inputs and the combined
plan (as the YAML `GET /v1/plan` shows) or the exact error Pebble gives."""

from __future__ import annotations

import json

import pytest
import yaml

from services.common.errors import Failure
from services.plan.plan import commands, dump, merge, order, parse
from services.plan.plan.errors import LayerError, PlanError
from services.plan.planstate import LayerRequestError, LayersDirError, PlanState


def combined(*texts: str) -> dict:
    layers = [parse.parse_layer((i + 1) * 1000, f"layer-{i}", t) for i, t in enumerate(texts)]
    return yaml.safe_load(dump.plan_to_yaml(merge.build_plan(layers)))


MERGE_TABLE = [
    (
        "merge appends lists, merges maps, replaces scalars",
        [
            """
services:
    srv:
        override: replace
        command: cmd one
        after: [a]
        environment: {A: "1", B: "2"}
        on-check-failure: {chk: restart}
    a: {override: replace, command: a}
    b: {override: replace, command: b}
""",
            """
services:
    srv:
        override: merge
        command: cmd two
        after: [b]
        environment: {B: "3"}
        backoff-delay: 2s
""",
        ],
        {
            "override": "replace",
            "command": "cmd two",
            "after": ["a", "b"],
            "environment": {"A": "1", "B": "3"},
            "on-check-failure": {"chk": "restart"},
            "backoff-delay": "2s",
        },
    ),
    (
        "replace discards the earlier definition",
        [
            "services:\n  srv: {override: replace, command: old, summary: S, environment: {A: '1'}}\n",
            "services:\n  srv: {override: replace, command: new}\n",
        ],
        {"override": "replace", "command": "new"},
    ),
    (
        "a merge of a new service just adds it",
        ["{}", "services:\n  srv: {override: merge, command: x, startup: enabled, user-id: 1000}\n"],
        {"override": "merge", "command": "x", "startup": "enabled", "user-id": 1000},
    ),
]


@pytest.mark.parametrize("name,texts,expected", MERGE_TABLE, ids=[row[0] for row in MERGE_TABLE])
def test_service_merging(name, texts, expected):
    assert combined(*texts)["services"]["srv"] == expected


def test_checks_merge_field_wise_and_show_default_threshold():
    plan = combined(
        "checks:\n  chk: {override: replace, period: 5s, http: {url: 'http://a', headers: {X: '1'}}}\n",
        "checks:\n  chk: {override: merge, level: ready, http: {headers: {Y: '2'}}}\n",
    )
    assert plan["checks"]["chk"] == {
        "override": "replace",
        "level": "ready",
        "period": "5s",
        "threshold": 3,
        "http": {"url": "http://a", "headers": {"X": "1", "Y": "2"}},
    }


def test_log_targets_show_empty_services_and_append():
    plan = combined(
        "log-targets:\n  t: {override: replace, type: loki, location: 'http://l'}\n",
        "services:\n  s: {override: replace, command: x}\n"
        "log-targets:\n  t: {override: merge, services: [s], labels: {env: prod}}\n",
    )
    assert plan["log-targets"]["t"] == {
        "type": "loki", "location": "http://l", "services": ["s"], "override": "replace",
        "labels": {"env": "prod"},
    }
    only = combined("log-targets:\n  t: {override: replace, type: syslog, location: 'udp://x'}\n")
    assert only["log-targets"]["t"]["services"] == []


def test_empty_plan_and_key_order():
    assert dump.plan_to_yaml(merge.build_plan([])) == "{}\n"
    layer = parse.parse_layer(1, "l", "services:\n  b: {override: replace, command: x}\n  a: {override: replace, command: y}\n")
    text = dump.plan_to_yaml(merge.build_plan([layer]))
    assert text.index("    a:") < text.index("    b:")
    assert text.startswith("services:\n    a:\n        override: replace\n        command: y\n")


LAYER_ERRORS = [
    ("foo: 1\n", 'cannot parse layer "l": unknown section "foo"'),
    (
        "services:\n  s:\n    override: replace\n    command: x\n    bogus: 1\n",
        ('cannot parse layer "l" section "services": yaml: unmarshal errors:\n'
         "  line 5: field bogus not found in type plan.Service"),
    ),
    ("services:\n  s: {override: replace, command: x, backoff-delay: soon}\n",
     'cannot parse layer "l" section "services": invalid duration "soon"'),
    ("services:\n  s: {override: replace, command: x, backoff-factor: fast}\n",
     'cannot parse layer "l" section "services": invalid floating-point number "fast"'),
    ("services:\n  s: {override: replace, command: x, backoff-factor: 0.5}\n",
     'plan service "s" backoff-factor must be 1.0 or greater, not 0.5'),
    ("services:\n  pebble: {override: replace, command: x}\n", 'cannot use reserved service name "pebble"'),
    ("services:\n  -s: {override: replace, command: x}\n",
     'cannot use service name "-s": starting with "-" not allowed'),
    ("services:\n  s:\n", 'service object cannot be null for service "s"'),
    ("services:\n  s: {override: replace, command: '[ a ]'}\n",
     'plan service "s" command invalid: cannot parse service "s" command: cannot start command with [ ... ] group'),
    ("services:\n  s: {override: replace, command: 'a [ b ] c'}\n",
     ('plan service "s" command invalid: cannot parse service "s" command: '
      "cannot have any arguments after [ ... ] group")),
    ("services:\n  s: {override: replace, command: 'a ] b'}\n",
     'plan service "s" command invalid: cannot parse service "s" command: cannot have ] outside of [ ... ] group'),
    ("services:\n  s: {override: replace, command: x, on-success: success-shutdown}\n",
     'plan service "s" on-success action "success-shutdown" invalid'),
    ("services:\n  s: {override: replace, command: x, on-failure: failure-shutdown}\n",
     'plan service "s" on-failure action "failure-shutdown" invalid'),
    ("checks:\n  c: {override: replace, level: loud, exec: {command: x}}\n",
     'plan check "c" level must be "alive" or "ready"'),
    ("checks:\n  c: {override: replace, startup: maybe, exec: {command: x}}\n",
     'plan check "c" startup must be "enabled" or "disabled"'),
    ("checks:\n  c: {override: replace, period: 0s, exec: {command: x}}\n", 'plan check "c" period must not be zero'),
    ("log-targets:\n  t: {override: replace, type: kafka, location: x}\n",
     'log target "t" has unsupported type "kafka", must be "loki", "opentelemetry" or "syslog"'),
    ("log-targets:\n  t: {override: replace, type: loki, location: x, labels: {pebble_x: y}}\n",
     'log target "t": label "pebble_x" uses reserved prefix "pebble_"'),
]


@pytest.mark.parametrize("text,message", LAYER_ERRORS)
def test_layer_errors_have_pebbles_messages(text, message):
    with pytest.raises(LayerError) as caught:
        parse.parse_layer(1, "l", text)
    assert caught.value.message == message


def test_reserved_label_prefix():
    with pytest.raises(LayerError, match='cannot use reserved label prefix "pebble-"'):
        parse.parse_layer(1, "pebble-x", "{}")


PLAN_ERRORS = [
    (["services:\n  s: {command: x}\n"], 'layer "layer-0" must define "override" for service "s"'),
    (["services:\n  s: {override: sideways, command: x}\n"], 'layer "layer-0" has invalid "override" value for service "s"'),
    (["checks:\n  c: {exec: {command: x}}\n"], 'layer "layer-0" must define "override" for check "c"'),
    (["services:\n  s: {override: merge, summary: no command}\n"], 'plan must define "command" for service "s"'),
    (["checks:\n  c: {override: replace, level: alive}\n"], 'plan must specify one of "http", "tcp", or "exec" for check "c"'),
    (["checks:\n  c: {override: replace, http: {headers: {A: b}}}\n"], 'plan must set "url" for http check "c"'),
    (["checks:\n  c: {override: replace, tcp: {host: h}}\n"], 'plan must set "port" for tcp check "c"'),
    (["checks:\n  c: {override: replace, exec: {command: x, service-context: ghost}}\n"],
     'plan check "c" service context specifies non-existent service "ghost"'),
    (["log-targets:\n  t: {override: replace, location: x}\n"],
     'plan must define "type" ("loki", "opentelemetry" or "syslog") for log target "t"'),
    (["log-targets:\n  t: {override: replace, type: loki}\n"], 'plan must define "location" for log target "t"'),
    (["log-targets:\n  t: {override: replace, type: loki, location: x, services: [ghost]}\n"],
     'log target "t" specifies unknown service "ghost"'),
    (["services:\n  a: {override: replace, command: x, after: [b]}\n  b: {override: replace, command: x, after: [a]}\n"],
     "services in before/after loop: a, b"),
]


@pytest.mark.parametrize("texts,message", PLAN_ERRORS)
def test_plan_errors_have_pebbles_messages(texts, message):
    with pytest.raises(PlanError) as caught:
        combined(*texts)
    assert caught.value.message == message


ORDER_PLAN = """
services:
    db: {override: replace, command: x}
    cache: {override: replace, command: x, after: [db]}
    web: {override: replace, command: x, requires: [db, cache], after: [db, cache]}
    lone: {override: replace, command: x}
    front: {override: replace, command: x, before: [web]}
"""


def test_start_order_adds_requirements_and_respects_after_before():
    plan = merge.build_plan([parse.parse_layer(1, "l", ORDER_PLAN)])
    assert order.start_order(plan, ["web"]) == [["db", "cache", "web"]]
    assert order.start_order(plan, ["lone", "web"]) == [["db", "cache", "web"], ["lone"]]
    # `before` orders within the set; lanes only share a service and its requirements.
    assert order.start_order(plan, ["front", "web"]) == [["db", "cache", "web"], ["front"]]


def test_stop_order_adds_dependents_in_reverse():
    plan = merge.build_plan([parse.parse_layer(1, "l", ORDER_PLAN)])
    # cache does not require db, so it is not a dependent; web is, and stops first.
    assert order.stop_order(plan, ["db"]) == [["web", "db"]]
    with pytest.raises(PlanError, match='service "ghost" does not exist'):
        order.start_order(plan, ["ghost"])


@pytest.mark.parametrize(
    "command,base,extra",
    [
        ("a b", ["a", "b"], []),
        ("a [ b c ]", ["a"], ["b", "c"]),
        ("'a b' [ ]", ["a b"], []),
    ],
)
def test_parse_command(command, base, extra):
    assert commands.parse_command(command) == (base, extra)


# -- layer state: disk layers, API append/combine, persistence ----------------------


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_layers_dir_order_and_labels(tmp_path):
    layers = tmp_path / "layers"
    write(layers / "001-base.yaml", "services:\n  s: {override: replace, command: one}\n")
    write(layers / "002-extra.d" / "001-sub.yaml", "services:\n  s: {override: merge, command: two}\n")
    write(layers / "notes.txt", "ignored")
    state = PlanState(layers, tmp_path / "state.json")
    assert [(l.order, l.label) for l in state.plan.layers] == [(1000, "base"), (2001, "extra/sub")]
    assert state.plan.services["s"].command == "two"


def test_layers_dir_rejects_duplicate_orders(tmp_path):
    layers = tmp_path / "layers"
    write(layers / "001-base.yaml", "{}")
    write(layers / "001-other.yaml", "{}")
    with pytest.raises(LayersDirError, match="already used"):
        PlanState(layers, tmp_path / "state.json")


def test_api_append_combine_and_errors(tmp_path):
    state = PlanState(tmp_path / "layers", tmp_path / "state.json")
    state.add_layer("base", "services:\n  s: {override: replace, command: one}\n", combine=False)
    state.add_layer("second", "services:\n  t: {override: replace, command: two}\n", combine=False)
    assert [(l.order, l.label) for l in state.plan.layers] == [(1000, "base"), (2000, "second")]

    with pytest.raises(LayerRequestError) as caught:
        state.add_layer("base", "{}", combine=False)
    assert (caught.value.failure, caught.value.message) == (Failure.INVALID, 'layer "base" already exists')

    state.add_layer("base", "services:\n  s: {override: merge, environment: {A: b}}\n", combine=True)
    assert [l.label for l in state.plan.layers] == ["base", "second"]
    assert state.plan.services["s"].environment == {"A": "b"}

    with pytest.raises(LayerRequestError) as caught:
        state.add_layer("base/inner", "{}", combine=False)
    assert caught.value.failure is Failure.INTERNAL
    state.add_layer("base/inner", "{}", combine=False, inner=True)
    assert [(l.order, l.label) for l in state.plan.layers][1] == (1001, "base/inner")

    before = dump.plan_to_yaml(state.plan)
    with pytest.raises(LayerRequestError) as caught:
        state.add_layer("bad", "services:\n  u: {override: merge}\n", combine=False)
    assert (caught.value.failure, caught.value.message) == (
        Failure.INVALID, 'plan must define "command" for service "u"')
    with pytest.raises(LayerRequestError) as caught:
        state.add_layer("bad", "services: [", combine=False)
    assert caught.value.message.startswith("cannot parse layer YAML: ")
    assert dump.plan_to_yaml(state.plan) == before


def test_api_layers_survive_a_restart(tmp_path):
    state_file = tmp_path / "state.json"
    state = PlanState(tmp_path / "layers", state_file)
    state.add_layer("base", "services:\n  s: {override: replace, command: one, kill-delay: 3s}\n", combine=False)
    state.add_layer("base", "checks:\n  c: {override: replace, tcp: {port: 80}}\n", combine=True)
    assert json.loads(state_file.read_text())["layers"][0]["label"] == "base"
    again = PlanState(tmp_path / "layers", state_file)
    assert dump.plan_to_yaml(again.plan) == dump.plan_to_yaml(state.plan)
    assert again.plan.services["s"].kill_delay == 3
