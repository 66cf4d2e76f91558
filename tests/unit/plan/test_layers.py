"""Layers and the plan without gRPC: a table of layer inputs and the combined
plan (as the YAML `GET /v1/plan` shows) or the exact error Pebble gives."""

from __future__ import annotations

import json

import pytest
import yaml

from services.common.errors import Failure, StartupError
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
    # go-yaml quotes "y" (a YAML 1.1 bool) as Pebble's plan shows it
    assert text.startswith('services:\n    a:\n        override: replace\n        command: "y"\n')


LAYER_ERRORS = [
    ("foo: 1\n", 'cannot parse layer "l": unknown section "foo"'),
    (
        "services:\n  s:\n    override: replace\n    command: x\n    bogus: 1\n",
        # lines are counted in the section as Pebble writes it out again
        ('cannot parse layer "l" section "services": yaml: unmarshal errors:\n'
         "  line 4: field bogus not found in type plan.Service"),
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


# What a real Pebble v1.32.1 shows in its plan for a service environment value V:
# go-yaml's quoting (double quotes where the text would read as another type,
# YAML 1.1 bools included; single quotes where an indicator is in the way).
PLAN_QUOTING = [
    ('yes', '            V: "yes"\n'),
    ('No', '            V: "No"\n'),
    ('on', '            V: "on"\n'),
    ('OFF', '            V: "OFF"\n'),
    ('y', '            V: "y"\n'),
    ('n', '            V: "n"\n'),
    ('true', '            V: "true"\n'),
    ('null', '            V: "null"\n'),
    ('~', '            V: "~"\n'),
    ('', '            V: ""\n'),
    ('1', '            V: "1"\n'),
    ('0123', '            V: "0123"\n'),
    ('0o17', '            V: "0o17"\n'),
    ('0x1F', '            V: "0x1F"\n'),
    ('1.50', '            V: "1.50"\n'),
    ('1e5', '            V: "1e5"\n'),
    ('1e400', '            V: 1e400\n'),
    ('.5', '            V: ".5"\n'),
    ('.inf', '            V: ".inf"\n'),
    ('2024-01-15', '            V: "2024-01-15"\n'),
    ('2024-1-5 1:2:3', '            V: "2024-1-5 1:2:3"\n'),
    ('12:30', '            V: "12:30"\n'),
    ('1:20:30', '            V: "1:20:30"\n'),
    ('-', "            V: '-'\n"),
    ('- x', "            V: '- x'\n"),
    ('key: value', "            V: 'key: value'\n"),
    ('#hash', "            V: '#hash'\n"),
    ('a #b', "            V: 'a #b'\n"),
    ('a#b', '            V: a#b\n'),
    ('[x]', "            V: '[x]'\n"),
    ('&a', "            V: '&a'\n"),
    ('*a', "            V: '*a'\n"),
    ('!x', "            V: '!x'\n"),
    ('|x', "            V: '|x'\n"),
    ("'x", "            V: '''x'\n"),
    ('%x', "            V: '%x'\n"),
    ('@x', "            V: '@x'\n"),
    ('`x', "            V: '`x'\n"),
    (' leading', "            V: ' leading'\n"),
    ('trailing ', "            V: 'trailing '\n"),
    ('tab\there', '            V: "tab\\there"\n'),
    ('two\nlines\n', '            V: |\n                two\n                lines\n'),
    ('no final\nnewline', '            V: |-\n                no final\n                newline\n'),
    ('keep\n\n', '            V: |+\n                keep\n\n'),
    (' indented\nblock\n', '            V: |4\n                 indented\n                block\n'),
    ('é', '            V: é\n'),
    ('😀', '            V: "\\U0001F600"\n'),
    ('\x01', '            V: "\\x01"\n'),
    ('---', "            V: '---'\n"),
    ('...x', "            V: '...x'\n"),
    ('<<', '            V: <<\n'),
    ('1_000', '            V: "1_000"\n'),
    ('+1', '            V: "+1"\n'),
    ('08', '            V: "08"\n'),
    ('9223372036854775808', '            V: "9223372036854775808"\n'),
    ('18446744073709551616', '            V: "18446744073709551616"\n'),
    ('a,b', '            V: a,b\n'),
    ('a: ', "            V: 'a: '\n"),
    ('nan', '            V: nan\n'),
    ('0b101', '            V: "0b101"\n'),
]


@pytest.mark.parametrize("value,shown", PLAN_QUOTING, ids=[repr(row[0]) for row in PLAN_QUOTING])
def test_plan_yaml_quotes_strings_as_pebble(value, shown):
    environment = json.dumps({"V": value}, ensure_ascii=False)
    layer = parse.parse_layer(1, "l", f"services:\n  q:\n    override: replace\n    command: sleep 1\n"
                                      f"    environment: {environment}\n")
    text = dump.plan_to_yaml(merge.build_plan([layer]))
    assert text.split("environment:\n", 1)[1] == shown


def test_plan_map_keys_in_go_yaml_order():
    layer = parse.parse_layer(1, "l", "services:\n  svc10: {override: replace, command: x}\n"
                                      "  svc9: {override: replace, command: x}\n  Svc: {override: replace, command: x}\n")
    text = dump.plan_to_yaml(merge.build_plan([layer]))
    assert text.index("    Svc:") < text.index("    svc9:") < text.index("    svc10:")


# Syntax errors, as a real Pebble v1.32.1 words them (go-yaml's texts and line
# numbers: a parser error's line is counted from 0, a scanner error's from 1).
YAML_SYNTAX_ERRORS = [
    ('services:\n  s:\n    override: replace\n    command: [unclosed\n',
     'cannot parse layer "l": yaml: line 3: did not find expected \',\' or \']\''),
    ('summary: one\n\tsummary: tab\n',
     'cannot parse layer "l": yaml: line 2: found a tab character that violates indentation'),
    ('summary: a\nsummary: b\n',
     'cannot parse layer "l": yaml: unmarshal errors:\n  line 2: mapping key "summary" already defined at line 1'),
    ('a: [1, 2',
     'cannot parse layer "l": yaml: line 1: did not find expected \',\' or \']\''),
    ('a: "unterminated',
     'cannot parse layer "l": yaml: found unexpected end of stream'),
    ('summary: b: c',
     'cannot parse layer "l": yaml: mapping values are not allowed in this context'),
    ('summary: *unknown',
     'cannot parse layer "l": yaml: unknown anchor \'unknown\' referenced'),
    ('summary: |\n  x\n y\n',
     'cannot parse layer "l": yaml: line 2: did not find expected key'),
    ('summary: "\\q"',
     'cannot parse layer "l": yaml: found unknown escape character'),
    ('services:\n  s:\n   x: 1\n  y: 2\n',
     'cannot parse layer "l" section "services": yaml: unmarshal errors:\n  line 2: field x not found in type plan.Service\n  line 3: cannot unmarshal !!int `2` into plan.Service'),
    ('summary: |0\n  x',
     'cannot parse layer "l": yaml: found an indentation indicator equal to 0'),
    ('services:\n  s:\n    override: replace\n  - x\n',
     'cannot parse layer "l": yaml: line 1: did not find expected key'),
    ('services:\n\t s: {}\n',
     'cannot parse layer "l": yaml: line 2: found character that cannot start any token'),
    ('summary: a\n\tb',
     'cannot parse layer "l": yaml: line 2: found a tab character that violates indentation'),
    ('summary: @x',
     'cannot parse layer "l": yaml: found character that cannot start any token'),
    ('summary: >-\n\tx',
     'cannot parse layer "l": yaml: line 2: found a tab character where an indentation space is expected'),
    ('summary: "x\n  y" z: 1\n',
     'cannot parse layer "l": yaml: line 2: mapping values are not allowed in this context'),
    ('services:\n  s:\n }   c: 1\n',
     'cannot parse layer "l": yaml: line 3: mapping values are not allowed in this context'),
    ('%YAML 1.2\n---\nsummary: x',
     'cannot parse layer "l": yaml: found incompatible YAML document'),
    ('summary: !x!y b',
     'cannot parse layer "l": yaml: found undefined tag handle'),
    ('summary: {\n',
     'cannot parse layer "l": yaml: line 1: did not find expected node content'),
    ('summary: "a\\/b"',
     'cannot parse layer "l": yaml: found unknown escape character'),
    ('summary: 1\n[',
     'cannot parse layer "l": yaml: line 2: could not find expected \':\''),
    ('services:\n  s:\n    override: replace\n    command: }x\n    req\nuires: 1\n',
     'cannot parse layer "l": yaml: line 3: did not find expected node content'),
    ('summary: |\t\t\n  x\nfoo: 1',
     'cannot parse layer "l": unknown section "foo"'),
    ('summary: "\\ud83d\\ude00"',
     'cannot parse layer "l": yaml: found invalid Unicode character escape code'),
    ('summary: a\n%  x: 1\n',
     'cannot parse layer "l": yaml: line 2: could not find expected directive name'),
]


@pytest.mark.parametrize("text,message", YAML_SYNTAX_ERRORS)
def test_yaml_syntax_errors_as_pebble(text, message):
    with pytest.raises(LayerError) as caught:
        parse.parse_layer(1, "l", text)
    assert caught.value.message == message


# Values Pebble's strict decoder refuses, recorded from a real Pebble v1.32.1:
# the line is counted in the section as Pebble writes it out again (comments
# kept, flow collections on one line), type errors are collected, null list
# items are dropped, durations and floats stop the decode.
YAML_DECODE_ERRORS = [
    ('services:\n', 'cannot parse layer "l" section "services": EOF'),
    ('services:\nchecks: {}\n', 'cannot parse layer "l" section "services": EOF'),
    ('summary:\n', 'cannot parse layer "l" section "summary": EOF'),
    ('services:\n  # a comment\n  svc:\n    override: replace\n    command: x\n    colour: blue\n',
     'cannot parse layer "l" section "services": yaml: unmarshal errors:\n  line 5: field colour not found in type plan.Service'),
    ('services:\n  svc:\n    override: replace\n    command: x\n    command: y\n',
     'cannot parse layer "l" section "services": yaml: unmarshal errors:\n  line 4: mapping key "command" already defined at line 3'),
    ('services:\n  svc:\n    override: replace\n    after: [a, ~, b, null]\n    command: x\n    user-id: [1]\n',
     'cannot parse layer "l" section "services": yaml: unmarshal errors:\n  line 5: cannot unmarshal !!seq into int'),
    ('services:\n  svc:\n    override: replace\n    command: x\n    user-id: root\n    group-id: 1.5.1\n    environment: {A: [1], B: {c: d}, C: ~}\n',
     'cannot parse layer "l" section "services": yaml: unmarshal errors:\n  line 4: cannot unmarshal !!str `root` into int\n  line 5: cannot unmarshal !!str `1.5.1` into int\n  line 6: cannot unmarshal !!seq into string\n  line 6: cannot unmarshal !!map into string'),
    ('services:\n  svc:\n    override: replace\n    command: x\n    startup: [enabled]\n',
     'cannot parse layer "l" section "services": yaml: unmarshal errors:\n  line 4: cannot unmarshal !!seq into plan.ServiceStartup'),
    ('services:\n  svc:\n    override: replace\n    command: x\n    on-check-failure: {c: [restart]}\n',
     'cannot parse layer "l" section "services": yaml: unmarshal errors:\n  line 4: cannot unmarshal !!seq into plan.ServiceAction'),
    ('services:\n  svc:\n    override: replace\n    command: x\n    backoff-factor: [1]\n',
     'cannot parse layer "l" section "services": value must be a YAML number'),
    ('services:\n  svc:\n    override: replace\n    command: x\n    kill-delay: 99999999999h\n',
     'cannot parse layer "l" section "services": invalid duration "99999999999h"'),
    ('services:\n  svc:\n    override: replace\n    command: x\n    kill-delay: "1.5"\n',
     'cannot parse layer "l" section "services": invalid duration "1.5"'),
    ('services:\n  svc:\n    override: replace\n    command: x\n    description: a very long value indeed\n    user-id: a very long value indeed\n',
     'cannot parse layer "l" section "services": yaml: unmarshal errors:\n  line 5: cannot unmarshal !!str `a very ...` into int'),
    ('checks:\n  c:\n    override: replace\n    threshold: "3"\n    tcp: {port: 80.5}\n',
     'cannot parse layer "l" section "checks": yaml: unmarshal errors:\n  line 3: cannot unmarshal !!str `3` into int'),
    ('checks:\n  c:\n    override: replace\n    tcp: {port: true}\n',
     'cannot parse layer "l" section "checks": yaml: unmarshal errors:\n  line 3: cannot unmarshal !!bool `true` into int'),
    ('checks:\n  c:\n    override: replace\n    tcp: 9\n',
     'cannot parse layer "l" section "checks": yaml: unmarshal errors:\n  line 3: cannot unmarshal !!int `9` into plan.TCPCheck'),
    ('checks:\n  c:\n    override: replace\n    http: {url: x, headers: [a]}\n',
     'cannot parse layer "l" section "checks": yaml: unmarshal errors:\n  line 3: cannot unmarshal !!seq into map[string]string'),
    ('log-targets:\n  t:\n    override: replace\n    type: [loki]\n    services: all\n',
     'cannot parse layer "l" section "log-targets": yaml: unmarshal errors:\n  line 3: cannot unmarshal !!seq into plan.LogTargetType\n  line 4: cannot unmarshal !!str `all` into []string'),
    ('summary: [a]\n',
     'cannot parse layer "l" section "summary": yaml: unmarshal errors:\n  line 1: cannot unmarshal !!seq into string'),
    ('summary: {a: b}\ndescription: 5\n',
     'cannot parse layer "l" section "summary": yaml: unmarshal errors:\n  line 1: cannot unmarshal !!map into string'),
    ('services: *x\n',
     'cannot parse layer "l": yaml: unknown anchor \'x\' referenced'),
    ('x: &a {override: replace, command: x}\nservices:\n  s: *a\n',
     'cannot parse layer "l": unknown section "x"'),
    ('services:\n  s: &s\n    override: replace\n    command: x\n    env: *s\n',
     'cannot parse layer "l" section "services": yaml: unmarshal errors:\n  line 4: field env not found in type plan.Service'),
    ('services:\n  s:\n    override: replace\n    command: x\n\n\n    # comments\n    # two\n\n    # three\n    oops: 1\n',
     'cannot parse layer "l" section "services": yaml: unmarshal errors:\n  line 8: field oops not found in type plan.Service'),
    ('services:\n  s:\n    override: replace\n    command: |\n      multi\n      line\n    oops: 1\n',
     'cannot parse layer "l" section "services": yaml: unmarshal errors:\n  line 6: field oops not found in type plan.Service'),
    ('services:\n  s: {override: replace,\n    command: x,\n    oops: 1}\n',
     'cannot parse layer "l" section "services": yaml: unmarshal errors:\n  line 1: field oops not found in type plan.Service'),
    ('services:\n  s:\n    override: replace\n    command: >\n      folded\n      text\n    oops: 1\n',
     'cannot parse layer "l" section "services": yaml: unmarshal errors:\n  line 6: field oops not found in type plan.Service'),
    ('services:\n  s:\n    override: replace\n    command: "a\n      b"\n    oops: 1\n',
     'cannot parse layer "l" section "services": yaml: unmarshal errors:\n  line 4: field oops not found in type plan.Service'),
    ('- a\n',
     'cannot parse layer "l": yaml: unmarshal errors:\n  line 1: cannot unmarshal !!seq into map[string]yaml.Node'),
    ('just text\n',
     'cannot parse layer "l": yaml: unmarshal errors:\n  line 1: cannot unmarshal !!str `just text` into map[string]yaml.Node'),
    ('services:\n  [a]: {override: replace, command: x}\n',
     'cannot parse layer "l" section "services": yaml: unmarshal errors:\n  line 1: cannot unmarshal !!seq into string'),
    ('services:\n  s:\n    override: replace\n    command: x\n    [a]: b\n',
     'cannot parse layer "l" section "services": yaml: unmarshal errors:\n  line 4: cannot unmarshal !!seq into string'),
    ('services:\n  s:\n    override: replace\n    command: x\n    user-id: !!str 5\n',
     'cannot parse layer "l" section "services": yaml: unmarshal errors:\n  line 4: cannot unmarshal !!str `5` into int'),
    ('checks:\n  c:\n    override: replace\n    threshold: 99999999999999999999\n    tcp: {port: 9}\n\n',
     'cannot parse layer "l" section "checks": yaml: unmarshal errors:\n  line 3: cannot unmarshal !!float `9999999...` into int'),
    # comments are written out again with the section, so they move the lines after them
    ('services:\n  s:\n    override: replace\n    after: [a, # the db\n      b]\n    colour: 1\n',
     'cannot parse layer "l" section "services": yaml: unmarshal errors:\n  line 5: field colour not found in type plan.Service'),
    ('services:\n  s:\n    override: replace\n    after: [a,\n      # own line\n      b]\n    colour: 1\n',
     'cannot parse layer "l" section "services": yaml: unmarshal errors:\n  line 6: field colour not found in type plan.Service'),
    ('services:\n  s:\n    override: replace\n    requires:\n      - # the first\n        nested\n    colour: 1\n',
     'cannot parse layer "l" section "services": yaml: unmarshal errors:\n  line 6: field colour not found in type plan.Service'),
    ('services:\n  s:\n    override: replace\n    command: x\n    # foot of command\n\n    colour: 1\n',
     'cannot parse layer "l" section "services": yaml: unmarshal errors:\n  line 6: field colour not found in type plan.Service'),
    ('services:\n  s:\n    override: replace\n  # dedented\n    # then indented\n    colour: 1\n\n',
     'cannot parse layer "l" section "services": yaml: unmarshal errors:\n  line 5: field colour not found in type plan.Service'),
]


@pytest.mark.parametrize("text,message", YAML_DECODE_ERRORS)
def test_yaml_decode_errors_as_pebble(text, message):
    with pytest.raises(LayerError) as caught:
        parse.parse_layer(1, "l", text)
    assert caught.value.message == message


def test_go_yaml_values_that_pebble_accepts():
    for text in ("services: ~\n", "services: &a\n", "services: !!null\n", "checks: {}\n"):
        assert parse.parse_layer(1, "l", text).services == {}
    layer = parse.parse_layer(1, "l", "services:\n  s:\n    override: replace\n    command: !!int 5\n"
                                      "    user-id: 0x10\n    group-id: 1e3\n    after: [a, ~, b, null]\n"
                                      "  ~: {override: replace, command: x}\n")
    service = layer.services["s"]
    assert (service.command, service.user_id, service.group_id, service.after) == ("5", 16, 1000, ["a", "b"])
    assert list(layer.services) == ["s"]
    merged = parse.parse_layer(1, "l", "services:\n  base: &b {override: replace, command: sleep 1}\n"
                                       "  web:\n    <<: *b\n    summary: web\n")
    assert (merged.services["web"].command, merged.services["web"].summary) == ("sleep 1", "web")


# Values a real Pebble v1.32.1 accepts but that would harm (a negative check
# period crashes Pebble's ticker; a negative backoff restarts without delay;
# NaN breaks the backoff arithmetic; ids and ports out of range fail only
# later): Shoal refuses them in the layer (README, "stricter on purpose").
STRICTER_THAN_PEBBLE = [
    ("services:\n  s: {override: replace, command: x, backoff-limit: -1s}\n",
     'plan service "s" backoff-limit must be 0s or greater, not -1s'),
    ("services:\n  s: {override: replace, command: x, backoff-delay: -500ms}\n",
     'plan service "s" backoff-delay must be 0s or greater, not -500ms'),
    ("services:\n  s: {override: replace, command: x, kill-delay: -1m}\n",
     'plan service "s" kill-delay must be 0s or greater, not -1m0s'),
    ("services:\n  s: {override: replace, command: x, backoff-factor: nan}\n",
     'plan service "s" backoff-factor must be 1.0 or greater, not NaN'),
    ("services:\n  s: {override: replace, command: x, user-id: -5}\n",
     'plan service "s" user-id must be between 0 and 4294967295, not -5'),
    ("services:\n  s: {override: replace, command: x, group-id: 4294967296}\n",
     'plan service "s" group-id must be between 0 and 4294967295, not 4294967296'),
    ("checks:\n  c: {override: replace, period: -1s, tcp: {port: 9}}\n",
     'plan check "c" period must be greater than zero, not -1s'),
    ("checks:\n  c: {override: replace, timeout: -3s, tcp: {port: 9}}\n",
     'plan check "c" timeout must be greater than zero, not -3s'),
    ("checks:\n  c: {override: replace, tcp: {port: 70000}}\n",
     'plan check "c" tcp port must be between 1 and 65535, not 70000'),
    ("checks:\n  c: {override: replace, tcp: {port: -1}}\n",
     'plan check "c" tcp port must be between 1 and 65535, not -1'),
]


@pytest.mark.parametrize("text,message", STRICTER_THAN_PEBBLE)
def test_harmful_values_are_refused(text, message):
    with pytest.raises(LayerError) as caught:
        parse.parse_layer(1, "l", text)
    assert caught.value.message == message


def test_out_of_range_durations_are_invalid_as_in_go():
    for text in ("99999999999h", "2562047h47m16.854775808s"):
        with pytest.raises(LayerError) as caught:
            parse.parse_layer(1, "l", f"services:\n  s: {{override: replace, command: x, kill-delay: {text}}}\n")
        assert caught.value.message == f'cannot parse layer "l" section "services": invalid duration "{text}"'
    # the largest Go duration, and values Pebble takes that do no harm, are kept
    layer = parse.parse_layer(1, "l", "services:\n  s: {override: replace, command: x, "
                                      "kill-delay: 2562047h47m16.854775807s, backoff-factor: inf}\n"
                                      "checks:\n  c: {override: replace, threshold: -1, tcp: {port: 9}}\n")
    text = dump.plan_to_yaml(merge.build_plan([layer]))
    assert "kill-delay: 2562047h47m16.854775807s\n" in text and "backoff-factor: .inf\n" in text
    assert "threshold: -1\n" in text


def test_deep_nesting_is_a_layer_error_not_a_recursion_error():
    # issue 15, item 10; the messages are a real Pebble v1.32.1's
    with pytest.raises(LayerError) as caught:
        parse.parse_layer(1, "l", "summary: " + "[" * 10001 + "]" * 10001)
    assert caught.value.message == 'cannot parse layer "l": yaml: exceeded max depth of 10000'
    deep = ("services:\n  s:\n    override: replace\n    command: x\n    environment: "
            + "{a: " * 3000 + "1" + "}" * 3000 + "\n    bogus: 1\n")
    with pytest.raises(LayerError) as caught:
        parse.parse_layer(1, "l", deep)
    assert caught.value.message == ('cannot parse layer "l" section "services": yaml: unmarshal errors:\n'
                                    "  line 4: cannot unmarshal !!map into string\n"
                                    "  line 5: field bogus not found in type plan.Service")


def test_reserved_label_prefix():
    with pytest.raises(LayerError, match='cannot use reserved label prefix "pebble-"'):
        parse.parse_layer(1, "pebble-x", "{}")


PLAN_ERRORS = [
    # recorded from a real Pebble v1.32.1, whose workloads section cannot be changed through the API
    (["services:\n  w: {override: replace, command: x, workload: nope}\n"], 'workload "nope": not defined for service "w"'),
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
        # split as Pebble splits (what a real Pebble v1.32.1 ran): a backslash in
        # double quotes escapes any character, a word starting with # is a comment
        ("""printf %s| a "x\\yz" a\\ b 'q\\r' # trailing comment""", ["printf", "%s|", "a", "xyz", "a b", "q\\r"], []),
        ("a#b '' \"\"x", ["a#b", "", "x"], []),
    ],
)
def test_parse_command(command, base, extra):
    assert commands.parse_command(command) == (base, extra)


@pytest.mark.parametrize("command,message", [
    ("sleep 'unclosed", "EOF found when expecting closing quote"),
    ('sh -c "unclosed', "EOF found when expecting closing quote"),
    ("sleep 1 \\", "EOF found after escape character"),
    ('echo "a\\', "EOF found after escape character"),
])
def test_command_errors_as_pebble(command, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        commands.split(command)
    with pytest.raises(LayerError) as caught:
        parse.parse_layer(1, "l", "services:\n  s:\n    override: replace\n    command: " + json.dumps(command) + "\n")
    assert caught.value.message == f'plan service "s" command invalid: cannot parse service "s" command: {message}'
    with pytest.raises(LayerError) as caught:
        parse.parse_layer(1, "l", "checks:\n  c:\n    override: replace\n    exec: {command: " + json.dumps(command) + "}\n")
    assert caught.value.message == f'plan check "c" command invalid: {message}'


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
    state.add_layer("more", "summary: \"yes\"\ndescription: |\n  two\n  lines\nservices:\n  t:\n    override: replace\n"
                    "    command: \"echo 'é' #\"\n    backoff-factor: inf\n    kill-delay: 2562047h47m16.854775807s\n"
                    "    environment: {A: '1', B: ''}\n", combine=False)
    again = PlanState(tmp_path / "layers", state_file)
    assert dump.plan_to_yaml(again.plan) == dump.plan_to_yaml(state.plan)
    assert again.plan.services["s"].kill_delay == 3
    assert again.plan.services["t"].kill_delay.nanos == (1 << 63) - 1


@pytest.mark.parametrize("saved,why", [
    ('{"layers": [', "not valid JSON (Expecting value: line 1 column 13 (char 12))"),
    ("", "not valid JSON (Expecting value: line 1 column 1 (char 0))"),
    ('{"layers": {"a": 1}}', 'not a list of layers ({"layers": [{"order", "label", "yaml"}]})'),
    ('{"layers": [{"order": "1", "label": "a", "yaml": ""}]}', 'not a list of layers ({"layers": [{"order", "label", "yaml"}]})'),
    ('{"layers": [{"order": 1000, "label": "a", "yaml": "services: ["}]}',
     'cannot parse layer "a": yaml: line 1: did not find expected node content'),
    ('[' * 100000, None),
])
def test_damaged_saved_layers_are_a_startup_error_naming_the_file(tmp_path, saved, why):
    # issue 15, item 9: one clear line naming the file, not a traceback
    state = tmp_path / "plan-layers.json"
    state.write_text(saved)
    with pytest.raises(StartupError) as caught:
        PlanState(tmp_path / "layers", state)
    message = str(caught.value)
    assert message.startswith(f"cannot load the layers saved in {state}: ") and "\n" not in message
    if why is not None:
        assert f": {why} (repair the file, or move it aside" in message


def test_a_damaged_layer_file_is_a_startup_error_naming_it(tmp_path):
    (tmp_path / "layers").mkdir()
    (tmp_path / "layers" / "001-base.yaml").write_text("services:\n  s: {override: replace, command: x, colour: 1}\n")
    with pytest.raises(StartupError) as caught:
        PlanState(tmp_path / "layers", tmp_path / "plan-layers.json")
    assert str(caught.value) == (f"cannot load layer file {tmp_path}/layers/001-base.yaml: "
                                 'cannot parse layer "base" section "services": yaml: unmarshal errors: '
                                 "line 1: field colour not found in type plan.Service")
