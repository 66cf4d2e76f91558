"""Go's encoding/json as Pebble v1.32.1 (Go 1.27) decodes request bodies:
every text below is what the real Pebble answered for that body (the part
after "cannot decode … request body: "), recorded side by side."""

from __future__ import annotations

import pytest

from services.common import gojson
from services.common.gojson import (
    BOOL,
    INT,
    RAW,
    STRING,
    GoField,
    GoJSONError,
    integer,
    map_of,
    pointer,
    slice_of,
    struct,
)

SERVICES = struct('struct { Action string "json:\\"action\\""; Services []string "json:\\"services\\"" }',
                  [GoField("action", STRING), GoField("services", slice_of(STRING))])
LOCAL = struct("daemon.apiLocalIdentity", [GoField("user-id", pointer(integer("uint32", 32, True)))])
IDENTITY = struct("daemon.apiIdentity", [
    GoField("access", gojson.GoType("identities.Access", "string")),
    GoField("local", pointer(LOCAL)),
    GoField("basic", pointer(struct("daemon.apiBasicIdentity", [GoField("password", STRING)]))),
    GoField("cert", pointer(struct("daemon.apiCertIdentity", [GoField("pem", STRING)]))),
])
IDENTITIES = struct("struct { … }", [GoField("action", STRING),
                                      GoField("identities", map_of(pointer(IDENTITY)))])
EXEC = struct("daemon.execPayload", [
    GoField("command", slice_of(STRING)), GoField("environment", map_of(STRING)),
    GoField("timeout", STRING), GoField("user-id", pointer(INT)), GoField("group-id", pointer(INT)),
    GoField("terminal", BOOL), GoField("width", INT), GoField("height", INT)])
FILES = struct("struct { … }", [GoField("action", STRING), GoField("paths", slice_of(struct(
    "daemon.removePathsItem", [GoField("path", STRING), GoField("recursive", BOOL)]),
    "[]daemon.removePathsItem"))])
NOTICES = struct("struct { … }", [GoField("action", STRING), GoField("repeat-after", STRING), GoField("data", RAW)])


def refusal(body: str | bytes, go_type=SERVICES) -> str:
    data = body.encode("utf-8", "surrogateescape") if isinstance(body, str) else body
    with pytest.raises(GoJSONError) as refused:
        gojson.decode(data, go_type)
    return str(refused.value)


@pytest.mark.parametrize("body,text", [
    ("", "EOF"),
    (" \t\r\n", "EOF"),
    ("{", "unexpected EOF"),
    ('{"a"', "unexpected EOF"),
    ('{"a" ', "unexpected EOF"),
    ('{"a":', "unexpected EOF"),
    ('{"a":1', "unexpected EOF"),
    ('{"a":-', "unexpected EOF"),
    ('{"a":1.', "unexpected EOF"),
    ('{"a":t', "unexpected EOF"),
    ('{"a":[1,2', "unexpected EOF"),
    ('{"a":"abc', "unexpected EOF"),
    ('{"a":"abc\\', "unexpected EOF"),
    ('{"a":"abc\\u00', "unexpected EOF"),
    ("nul", "unexpected EOF"),
    ("x", "invalid character 'x' looking for beginning of value"),
    ("nulx", "invalid character 'x' in literal null (expecting 'l')"),
    ('{"a":tru}', "invalid character '}' in literal true (expecting 'e')"),
    ('{"a":nulll}', "invalid character 'l' after object key:value pair"),
    ('{"a":truex}', "invalid character 'x' after object key:value pair"),
    ('{"a" 1}', "invalid character '1' after object key"),
    ('{"a",1}', "invalid character ',' after object key"),
    ('{"a":1 "b"}', "invalid character '\"' after object key:value pair"),
    ('{"a":1,}', "invalid character '}' looking for beginning of object key string"),
    ('{"a":1 ,}', "invalid character '}' looking for beginning of object key string"),
    ("{,}", "invalid character ',' looking for beginning of object key string"),
    ("{1:2}", "invalid character '1' looking for beginning of object key string"),
    ('{"a":01}', "invalid character '1' after object key:value pair"),
    ('{"a":-01}', "invalid character '1' after object key:value pair"),
    ("[1 2]", "invalid character '2' after array element"),
    ("[1,]", "invalid character ']' looking for beginning of value"),
    ("[,]", "invalid character ',' looking for beginning of value"),
    ('{"a":[}', "invalid character '}' looking for beginning of value"),
    ('{"data":[1}', "invalid character '}' after array element"),
    ('{"a":-}', "invalid character '}' in numeric literal"),
    ('{"a":1.}', "invalid character '}' in numeric literal"),
    ('{"a":1e}', "invalid character '}' in numeric literal"),
    ('{"a":.5}', "invalid character '.' looking for beginning of value"),
    ("}", "invalid character '}' looking for beginning of value"),
    (":", "invalid character ':' looking for beginning of value"),
    ('{"a":"\\x"}', "invalid escape sequence `\\x` in string"),
    ('{"a":"\\u12"}', 'invalid escape sequence `\\u12"}` in string'),
    ('{"a":"\\u12 }"}', 'invalid escape sequence "\\\\u12 }" in string'),
    ('{"a":"\\\u00e9"}', 'invalid escape sequence "\\\\\\xc3" in string'),
    ('{"a":"\\ud800\\u12"}', 'invalid escape sequence `\\u12"}` in string'),
    ('{"a":"\x01"}', "invalid character '\\x01' in string"),
    ('{"a":"\t"}', "invalid character '\\t' in string"),
    ("\x00", "invalid character '\\x00' looking for beginning of value"),
    ("\ufeff{}", "invalid character '\\ufeff' looking for beginning of value"),
    ("\u00a0{}", "invalid character '\\u00a0' looking for beginning of value"),
    ('{"a":1\u00a0}', "invalid character '\\u00a0' after object key:value pair"),
    ("\u00e9", "invalid character 'é' looking for beginning of value"),
    ('{"a":\u00e9}', "invalid character 'é' looking for beginning of value"),
    ("\udcff", "invalid character '\\xff' looking for beginning of value"),
    ('{"a":\udcff}', "invalid character '\\xff' looking for beginning of value"),
    ("[" * 10001 + "]" * 10001, "exceeded max depth"),
    ('{"a":' * 10001 + "1" + "}" * 10001, "exceeded max depth"),
])
def test_syntax_errors_are_gos_texts(body, text):
    assert refusal(body) == text


STRUCT = 'struct { Action string "json:\\"action\\""; Services []string "json:\\"services\\"" }'


@pytest.mark.parametrize("body,go_type,text", [
    ("[]", SERVICES, f"json: cannot unmarshal array into Go value of type {STRUCT}"),
    ('"str"', SERVICES, f"json: cannot unmarshal string into Go value of type {STRUCT}"),
    ("123abc", SERVICES, f"json: cannot unmarshal number into Go value of type {STRUCT}"),
    ("1 2", SERVICES, f"json: cannot unmarshal number into Go value of type {STRUCT}"),
    ("truex", SERVICES, f"json: cannot unmarshal bool into Go value of type {STRUCT}"),
    ('{"action": 5}', SERVICES, "json: cannot unmarshal number into Go struct field .action of type string"),
    ('{"action":"start","services":"msg-x"}', SERVICES,
     "json: cannot unmarshal string into Go struct field .services of type []string"),
    ('{"services":{}}', SERVICES, "json: cannot unmarshal object into Go struct field .services of type []string"),
    ('{"services":"x","action":5}', SERVICES,
     "json: cannot unmarshal string into Go struct field .services of type []string"),
    ('{"action":5,"services":"x"}', SERVICES,
     "json: cannot unmarshal number into Go struct field .action of type string"),
    ('{"services":[1]}', SERVICES, "json: cannot unmarshal number into .services.0 of type string"),
    ('{"services":["a",1]}', SERVICES, "json: cannot unmarshal number into .services.1 of type string"),
    ('{"services":[[]]}', SERVICES, "json: cannot unmarshal array into .services.0 of type string"),
    ('{"services":[1.5e400]}', SERVICES, "json: cannot unmarshal number into .services.0 of type string"),
    ('{"\\u0041ction":5}', SERVICES, "json: cannot unmarshal number into Go struct field .Action of type string"),
    ("[]", EXEC, "json: cannot unmarshal array into Go value of type daemon.execPayload"),
    ('{"command":"x"}', EXEC,
     "json: cannot unmarshal string into Go struct field execPayload.command of type []string"),
    ('{"command":[1]}', EXEC, "json: cannot unmarshal number into execPayload.command.0 of type string"),
    ('{"user-id":"x"}', EXEC, "json: cannot unmarshal string into Go struct field execPayload.user-id of type int"),
    ('{"USER-ID":"x"}', EXEC, "json: cannot unmarshal string into Go struct field execPayload.USER-ID of type int"),
    ('{"user-id":1.5}', EXEC,
     "json: cannot unmarshal number 1.5 into Go struct field execPayload.user-id of type int"),
    ('{"user-id":1e2}', EXEC,
     "json: cannot unmarshal number 1e2 into Go struct field execPayload.user-id of type int"),
    ('{"user-id":9223372036854775808}', EXEC,
     "json: cannot unmarshal number 9223372036854775808 into Go struct field execPayload.user-id of type int"),
    ('{"user-id":-9223372036854775809}', EXEC,
     "json: cannot unmarshal number -9223372036854775809 into Go struct field execPayload.user-id of type int"),
    ('{"width":1.0}', EXEC, "json: cannot unmarshal number 1.0 into Go struct field execPayload.width of type int"),
    ('{"group-id":{}}', EXEC,
     "json: cannot unmarshal object into Go struct field execPayload.group-id of type int"),
    ('{"environment":[]}', EXEC,
     "json: cannot unmarshal array into Go struct field execPayload.environment of type map[string]string"),
    ('{"environment":{"a":1}}', EXEC,
     "json: cannot unmarshal number into Go struct field execPayload.environment.a of type string"),
    ('{"terminal":"true"}', EXEC,
     "json: cannot unmarshal string into Go struct field execPayload.terminal of type bool"),
    ('{"identities":[]}', IDENTITIES,
     "json: cannot unmarshal array into Go struct field .identities of type map[string]*daemon.apiIdentity"),
    ('{"identities":{"x":[1]}}', IDENTITIES,
     "json: cannot unmarshal array into Go struct field .identities.x of type daemon.apiIdentity"),
    ('{"identities":{"x":{"access":5}}}', IDENTITIES,
     "json: cannot unmarshal number into Go struct field .identities.x.access of type identities.Access"),
    ('{"identities":{"x":{"local":{"user-id":-1}}}}', IDENTITIES,
     "json: cannot unmarshal number -1 into Go struct field .identities.x.local.user-id of type uint32"),
    ('{"identities":{"x":{"local":{"user-id":4294967296}}}}', IDENTITIES,
     "json: cannot unmarshal number 4294967296 into Go struct field .identities.x.local.user-id of type uint32"),
    ('{"identities":{"x":{"local":[]}}}', IDENTITIES,
     "json: cannot unmarshal array into Go struct field .identities.x.local of type daemon.apiLocalIdentity"),
    ('{"identities":{"x":{"cert":5}}}', IDENTITIES,
     "json: cannot unmarshal number into Go struct field .identities.x.cert of type daemon.apiCertIdentity"),
    ('{"identities":{"x":null}, "action":5}', IDENTITIES,
     "json: cannot unmarshal number into Go struct field .action of type string"),
    ('{"paths":{}}', FILES,
     "json: cannot unmarshal object into Go struct field .paths of type []daemon.removePathsItem"),
    ('{"paths":[1]}', FILES, "json: cannot unmarshal number into .paths.0 of type daemon.removePathsItem"),
    ('{"paths":[{"path":1}]}', FILES, "json: cannot unmarshal number into Go struct field .paths.0.path of type string"),
    ('{"REPEAT-AFTER":5}', NOTICES,
     "json: cannot unmarshal number into Go struct field .REPEAT-AFTER of type string"),
    ('{"a":1}', map_of(STRING), "json: cannot unmarshal number into Go struct field .a of type string"),
    ('"x"', map_of(STRING), "json: cannot unmarshal string into Go value of type map[string]string"),
])
def test_type_errors_name_gos_field_path_and_type(body, go_type, text):
    assert refusal(body, go_type) == text


@pytest.mark.parametrize("body,value", [
    ('{"action":"start"} trailing', {"action": "start"}),
    ('{"action":"start"}trailing', {"action": "start"}),
    ('{"action":"x"}}', {"action": "x"}),
    ('{"action":"bogus"}  {', {"action": "bogus"}),
    ("null", None),
    ('{"action":null,"services":null}', {"services": None}),
    ('{"ACTION":"bogus"}', {"action": "bogus"}),
    ('{"Action":"a","action":"bogus"}', {"action": "bogus"}),
    ('{"act_ion":5,"Servi\u017fes":"x"}', {}),  # no folding but ASCII case
    ('{"services":[null]}', {"services": [""]}),
    ('{"action":"\\u0062ogus"}', {"action": "bogus"}),
    ('{"action":"b\\u00e9"}', {"action": "bé"}),
    ('{"action":"\udcff\udcfe"}', {"action": "\ufffd\ufffd"}),
    ('{"action":"\\ud800\\u0041"}', {"action": "\ufffdA"}),
    ('{"action":"\\uDC00"}', {"action": "\ufffd"}),
    ('{"action":"\\ud83d\\ude00"}', {"action": "\U0001f600"}),
    ('{"a":1e400,"b":{"c":[1,2,{"z":null}]}}', {}),
    (" \t\r\n" + '{"action":"bogus"}', {"action": "bogus"}),
    ("[" * 10000 + "]" * 10000, None),
])
def test_what_go_accepts(body, value):
    go_type = SERVICES if not body.startswith("[") else RAW
    got = gojson.decode(body.encode("utf-8", "surrogateescape"), go_type)
    if go_type is RAW:
        return  # deep, but within Go's limit
    assert got == value


def test_nulls_in_shaped_maps_are_kept_and_unknown_fields_dropped():
    body = b'{"action":"remove","identities":{"a":null,"b":{"ACCESS":"read","local":{"user-id":7},"x":1}}}'
    assert gojson.decode(body, IDENTITIES) == {"action": "remove", "identities": {
        "a": None, "b": {"access": "read", "local": {"user-id": 7}}}}


def test_raw_values_pass_through_and_a_null_sets_nothing():
    assert gojson.decode(b'{"data":{"k":[1,2.5,"x"]},"action":"add"}', NOTICES) == {
        "data": {"k": [1, 2.5, "x"]}, "action": "add"}
    assert gojson.decode(b'{"data":null}', NOTICES) == {}


def test_a_plain_value_is_checked_as_go_checks_decoded_json():
    """For a service holding a value as a google.protobuf.Struct (a notice's data)."""
    data = map_of(STRING)
    with pytest.raises(GoJSONError, match=r"^json: cannot unmarshal number into Go struct field \.number of type "
                                          r"string$"):
        gojson.check(gojson.from_plain({"ok": "x", "number": 1.0}), data)
    with pytest.raises(GoJSONError, match=r"^json: cannot unmarshal array into Go value of type map\[string\]string$"):
        gojson.check(gojson.from_plain(["a"]), data)
    assert gojson.check(gojson.from_plain({"a": "b", "c": None}), data) == {"a": "b", "c": ""}
    assert gojson.check(gojson.from_plain({"k": [1, {"x": True}]}), RAW) == {"k": [1, {"x": True}]}
