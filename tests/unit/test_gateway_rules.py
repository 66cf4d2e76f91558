"""Gateway rules without processes: transcoding, who may call what,
deadlines and the binding of routes to handlers."""

from __future__ import annotations

import dataclasses
import itertools
from urllib.parse import unquote

import pytest
from google.protobuf import json_format

from gateway.access import default_caller, may_call
from gateway.calls import (
    DEFAULT_DEADLINE,
    LONG_POLL_MARGIN,
    MAX_POLL_DEADLINE,
    NO_TIMEOUT_DEADLINE,
    deadline_for,
)
from gateway.paths import clean_at_a_glance, clean_path
from gateway.route_table import grouped_routes
from gateway.routes.registry import UnknownHandler, check_bindings
from gateway.transcode import BadRequest, build_request, to_json_value
from services.common.signing import Caller
from shoal.descriptors import all_methods
from shoal.v1 import plan_pb2

M = {m.name: m for m in all_methods()}


def test_repeated_query_values_may_be_repeated_and_comma_separated():
    msg = build_request(M["ListServices"], {}, [("names", "a, b"), ("names", "c"), ("names", "")], None)
    assert list(msg.names) == ["a", "b", "c"]


def test_query_uses_json_names():
    msg = build_request(M["ListNotices"], {}, [("user-id", "42"), ("types", "custom")], None)
    assert list(msg.user_id) == ["42"] and list(msg.types) == ["custom"]


def test_path_parameters_set_fields():
    msg = build_request(M["WaitChange"], {"id": "7"}, [("timeout", "4.000s")], None)
    assert msg.id == "7" and msg.timeout == "4.000s"


def test_body_parses_kebab_case_and_ignores_unknown_fields():
    body = b'{"action":"add","label":"x","format":"yaml","layer":"{}","combine":true,"extra":1}'
    msg = build_request(M["AddLayer"], {}, [], body)
    assert (msg.label, msg.combine) == ("x", True)


@pytest.mark.parametrize("body", [b"", b"  ", b"{", b"[]", b'{"combine": "yes"}'])
def test_bad_bodies_are_refused(body):
    with pytest.raises(BadRequest, match="cannot decode request body"):
        build_request(M["AddLayer"], {}, [], body)


def test_a_bad_boolean_in_the_query_is_refused():
    with pytest.raises(BadRequest):
        build_request(M["ListBeaconInstances"], {"beacon": "b"}, [("refresh", "maybe")], None)


def test_response_body_picks_the_answer_and_keeps_empty_lists():
    assert to_json_value(M["ListServices"], plan_pb2.ListServicesResponse()) == []
    info = plan_pb2.ServiceInfo(name="a", startup="enabled", current="inactive")
    value = to_json_value(M["ListServices"], plan_pb2.ListServicesResponse(services=[info]))
    assert value == [{"name": "a", "startup": "enabled", "current": "inactive"}]


def test_optional_fields_are_omitted_until_set():
    info = plan_pb2.CheckInfo(name="c", startup="enabled", status="up", threshold=3)
    as_json = to_json_value(M["RefreshCheck"], plan_pb2.RefreshCheckResponse(info=info))
    assert "failures" not in as_json["info"] and as_json["info"]["successes"] == 0
    info.failures = 0
    assert to_json_value(M["RefreshCheck"], plan_pb2.RefreshCheckResponse(info=info))["info"]["failures"] == 0


def test_omit_empty_fields_are_left_out_while_empty_at_any_depth():
    quiet = plan_pb2.Task(id="2", status="Done")
    talkative = plan_pb2.Task(id="3", status="Error", log=["2024-01-01T00:00:00Z ERROR boom"])
    listed = to_json_value(M["ListChanges"], plan_pb2.ListChangesResponse(changes=[
        plan_pb2.Change(id="1", tasks=[quiet, talkative]), plan_pb2.Change(id="4", status="Done")]))
    assert "log" not in listed[0]["tasks"][0] and listed[0]["tasks"][1]["log"] == [talkative.log[0]]
    assert "tasks" not in listed[1] and listed[1]["ready"] is False  # other empty fields stay
    assert "tasks" not in to_json_value(M["GetChange"], plan_pb2.Change(id="5"))


def test_null_unset_fields_answer_null_while_unset_as_a_go_nil_pointer():
    public = plan_pb2.Notice(id="1", type="change-update", key="1", occurrences=1)
    listed = to_json_value(M["ListNotices"], plan_pb2.ListNoticesResponse(notices=[
        public, plan_pb2.Notice(id="2", user_id=0, last_data={"a": "b"})]))
    assert listed[0]["user-id"] is None and "last-data" not in listed[0]  # last-data: omit_empty
    assert listed[1]["user-id"] == 0 and listed[1]["last-data"] == {"a": "b"}


@pytest.mark.parametrize(
    "uid,daemon,access", [(0, 1000, "admin"), (1000, 1000, "admin"), (42, 1000, "read"), (None, 1000, "untrusted")]
)
def test_peer_uid_defaults(uid, daemon, access):
    assert default_caller(uid, daemon).access == access


@pytest.mark.parametrize(
    "route,caller,transport,allowed",
    [
        ("GetHealth", "untrusted", "http", True),
        ("GetSystemInfo", "untrusted", "unix", True),
        ("ListServices", "untrusted", "unix", False),
        ("ListServices", "read", "unix", True),
        ("ListServices", "admin", "http", False),  # plain HTTP: open routes only
        ("ListServices", "read", "https", True),
        ("ServicesAction", "read", "unix", False),
        ("ServicesAction", "admin", "unix", True),
        ("GetMetrics", "metrics", "http", True),  # Prometheus over plain HTTP
        ("GetMetrics", "admin", "http", False),  # as Pebble: only a metrics identity
        ("GetMetrics", "metrics", "unix", True),
        ("GetPlan", "read", "unix", False),  # plan is admin-only in Pebble
        ("AddNotice", "read", "unix", True),  # notices are read-level in Pebble
        ("Authenticate", "admin", "unix", False),  # internal RPCs have no route
    ],
)
def test_who_may_call_what_over_which_transport(route, caller, transport, allowed):
    method = M[route]
    if method.access == "internal":
        assert not method.http_method
        return
    assert may_call(method, Caller("x", caller), transport) is allowed


def test_an_unknown_handler_name_stops_start_up():
    check_bindings(all_methods())
    renamed = dataclasses.replace(M["GetLogs"], handler="pebble_logz")
    with pytest.raises(UnknownHandler, match="pebble_logz"):
        check_bindings([*all_methods(), renamed])


@pytest.mark.parametrize("route,wait,deadline", [
    ("WaitChange", "", NO_TIMEOUT_DEADLINE),  # an empty wait waits for the change
    ("WaitChange", "4s", 4 + LONG_POLL_MARGIN),
    ("WaitChange", "0s", NO_TIMEOUT_DEADLINE),
    ("WaitChange", "soon", DEFAULT_DEADLINE),  # the service answers 400
    ("ListNotices", "", DEFAULT_DEADLINE),  # answers at once
    ("ListNotices", "1m", 60 + LONG_POLL_MARGIN),
    ("Exec", "1h", DEFAULT_DEADLINE),  # the command's timeout, not a wait
    ("WaitChange", "99999999999h", DEFAULT_DEADLINE),  # beyond Go's Duration: the service answers 400
    ("WaitChange", "2562047h", MAX_POLL_DEADLINE),  # valid, but the call is bounded
    ("ListNotices", "2562047h", MAX_POLL_DEADLINE),  # the plan service answers [] before it
])
def test_long_polls_get_their_wait_plus_a_margin(route, wait, deadline):
    method = M[route]
    assert deadline_for(method, method.request_class(timeout=wait)) == deadline


def test_an_rpc_may_carry_its_own_deadline():
    assert deadline_for(M["ListServices"], M["ListServices"].request_class()) == DEFAULT_DEADLINE
    assert deadline_for(M["Login"], M["Login"].request_class()) == 30  # a password check may queue
    assert deadline_for(M["RemovePaths"], M["RemovePaths"].request_class()) == 60


def test_literal_paths_are_routed_before_templated_ones():
    paths = [path for path, _, _ in grouped_routes("lighthouse")]
    assert paths.index("/api/v0.2/users/list") < paths.index("/api/v0.2/users/{email}")
    assert {path for path, _, _ in grouped_routes("pebble")} == {
        m.http_path for m in all_methods() if m.http_method and m.family == "pebble"}


def test_an_answer_asked_for_before_the_callers_changed_is_not_kept():
    from gateway.access import ANONYMOUS, Authenticated, CallerCache, Credentials

    cache = CallerCache()
    key = cache.key(Credentials(uid=65404))
    asked_at = cache.generation
    cache.drop_all()  # an identity changed while the answer was on its way
    cache.put(key, Authenticated(ANONYMOUS), asked_at)
    assert cache.get(key) is None
    cache.put(key, Authenticated(ANONYMOUS), cache.generation)
    assert cache.get(key) is not None


# Pebble's bodies, decoded as Pebble decodes them: the route's own prefix,
# then Go's text (what the real Pebble v1.32.1 answered for each).
@pytest.mark.parametrize("route,body,text", [
    ("ServicesAction", b"{",
     'cannot decode data from request body: unexpected EOF'),
    ("ServicesAction", b"",
     'cannot decode data from request body: EOF'),
    ("ServicesAction", b"[]",
     'cannot decode data from request body: json: cannot unmarshal array into Go value of type struct { Action string "json:\\"action\\""; Services []string "json:\\"services\\"" }'),
    ("ServicesAction", b'{"action": 5}',
     'cannot decode data from request body: json: cannot unmarshal number into Go struct field .action of type string'),
    ("ChecksAction", b'{"action": "start", "checks": [1]}',
     'cannot decode data from request body: json: cannot unmarshal number into .checks.0 of type string'),
    ("RefreshCheck", b'{"name": true}',
     'cannot decode data from request body: json: cannot unmarshal bool into Go struct field .name of type string'),
    ("AbortChange", b'{"action": nope}',
     "cannot decode data from request body: invalid character 'o' in literal null (expecting 'u')"),
    ("AddLayer", b'{"combine": "yes"}',
     'cannot decode request body: json: cannot unmarshal string into Go struct field .combine of type bool'),
    ("AddLayer", b"[]",
     'cannot decode request body: json: cannot unmarshal array into Go value of type struct { Action string "json:\\"action\\""; Combine bool "json:\\"combine\\""; Inner bool "json:\\"inner\\""; Label string "json:\\"label\\""; Format string "json:\\"format\\""; Layer string "json:\\"layer\\"" }'),
    ("AddNotice", b'{"repeat-after": 5}',
     'cannot decode request body: json: cannot unmarshal number into Go struct field .repeat-after of type string'),
    ("AddNotice", b"[]",
     'cannot decode request body: json: cannot unmarshal array into Go value of type struct { Action string "json:\\"action\\""; Type string "json:\\"type\\""; Key string "json:\\"key\\""; RepeatAfter string "json:\\"repeat-after\\""; DataJSON jsontext.Value "json:\\"data\\"" }'),
    ("IdentitiesAction", b'{"identities": {"idn-negative": {"local": {"user-id": -1}}}}',
     'cannot decode request body: json: cannot unmarshal number -1 into Go struct field .identities.idn-negative.local.user-id of type uint32'),
    ("IdentitiesAction", b'{"identities": {"idn-list": [1]}}',
     'cannot decode request body: json: cannot unmarshal array into Go struct field .identities.idn-list of type daemon.apiIdentity'),
    ("IdentitiesAction", b'{"identities": []}',
     'cannot decode request body: json: cannot unmarshal array into Go struct field .identities of type map[string]*daemon.apiIdentity'),
    ("Exec", b'{"command": "x"}',
     'cannot decode request body: json: cannot unmarshal string into Go struct field execPayload.command of type []string'),
    ("Exec", b'{"user-id": 1.5}',
     'cannot decode request body: json: cannot unmarshal number 1.5 into Go struct field execPayload.user-id of type int'),
    ("Exec", b"[]",
     'cannot decode request body: json: cannot unmarshal array into Go value of type daemon.execPayload'),
    ("SendSignal", b'{"services": "x"}',
     'cannot decode request body: json: cannot unmarshal string into Go struct field signalsPayload.services of type []string'),
])
def test_pebble_bodies_are_refused_in_pebbles_words(route, body, text):
    with pytest.raises(BadRequest) as refused:
        build_request(M[route], {"id": "1"} if route == "AbortChange" else {}, [], body)
    assert str(refused.value) == text


def test_a_pebble_body_is_its_first_value_with_gos_rules():
    msg = build_request(M["ServicesAction"], {}, [], b'{"ACTION":"start","services":null} trailing')
    assert (msg.action, list(msg.services)) == ("start", [])
    assert build_request(M["ServicesAction"], {}, [], b"null") == M["ServicesAction"].request_class()
    msg = build_request(M["IdentitiesAction"], {}, [], b'{"action":"remove","identities":{"a":null,"b":'
                                                        b'{"Access":"read","local":{"user-id":7},"x":1}}}')
    assert json_format.MessageToDict(msg.identities) == {"a": None, "b": {"access": "read", "local": {"user-id": 7}}}
    msg = build_request(M["AbortChange"], {"id": "7"}, [], b'{"action":"abort","id":"8"}')
    assert (msg.id, msg.action) == ("7", "abort")  # the path's id, not the body's


def test_other_families_refuse_bodies_without_repeating_them():
    with pytest.raises(BadRequest) as refused:
        build_request(M["CreateToken"], {}, [], b'{"name": ["secret-looking-input"]}')
    assert "secret-looking-input" not in str(refused.value)
    with pytest.raises(BadRequest, match=r"^cannot decode request body: unexpected character"):
        build_request(M["CreateToken"], {}, [], b'{"name": x}')


def test_deep_nesting_is_400_never_a_recursion_error():
    deep = b'{"action":"add","data":{"k":' + b"[" * 5000 + b"]" * 5000 + b"}}"
    with pytest.raises(BadRequest, match=r"^cannot decode request body: nested too deeply$"):
        build_request(M["AddNotice"], {}, [], deep)
    with pytest.raises(BadRequest, match=r"exceeded max depth$"):
        build_request(M["AddNotice"], {}, [], b'{"data":' + b"[" * 10001 + b"]" * 10001 + b"}")
    with pytest.raises(BadRequest, match=r"^cannot decode request body: "):
        build_request(M["CreateToken"], {}, [], b'{"name":"x","scopes":' + b"[" * 5000 + b"]" * 5000 + b"}")


def test_the_files_bodies_are_pebbles_structs():
    from gateway.transcode import FILES_ACTION, FILES_WRITE_METADATA, decode_go

    with pytest.raises(BadRequest) as refused:
        decode_go(b'{"action": "remove", "paths": {}}', FILES_ACTION, "cannot decode request body")
    assert str(refused.value) == ("cannot decode request body: json: cannot unmarshal object into Go struct field "
                                  ".paths of type []daemon.removePathsItem")
    with pytest.raises(BadRequest, match=r"^cannot decode request metadata: unexpected EOF$"):
        decode_go(b'{"action":', FILES_WRITE_METADATA, "cannot decode request metadata")
    assert decode_go(b'{"action":"write","files":[{"path":"/x","user-id":5}]}', FILES_WRITE_METADATA, "") == {
        "action": "write", "files": [{"path": "/x", "user-id": 5}]}


def test_a_query_number_the_field_cannot_hold_is_400_without_repeating_it():
    from gateway.transcode import _set

    width = plan_pb2.ExecRequest.DESCRIPTOR.fields_by_name["width"]
    with pytest.raises(BadRequest, match=r"^width is out of range$"):
        _set(plan_pb2.ExecRequest(), width, ["99999999999"])
    with pytest.raises(BadRequest, match=r"^width must be an integer$"):
        _set(plan_pb2.ExecRequest(), width, ["lots"])


def test_a_path_passed_at_a_glance_is_one_the_full_cleaning_leaves_as_it_is():
    pieces = ["/", ".", "..", "//", "a", "b.c", "%2e", "%2F", "%", "~"]
    passed = 0
    for length in range(1, 6):
        for raw in map("".join, itertools.product(pieces, repeat=length)):
            if clean_at_a_glance(raw):
                passed += 1
                path = unquote(raw, errors="surrogateescape")
                assert clean_path(path) == path, raw
    assert passed > 500  # the check passes plenty of paths, not just a few
