"""Gateway rules without processes: transcoding, who may call what,
deadlines and the binding of routes to handlers."""

from __future__ import annotations

import dataclasses

import pytest

from gateway.access import default_caller, may_call
from gateway.calls import DEFAULT_DEADLINE, LONG_POLL_MARGIN, NO_TIMEOUT_DEADLINE, deadline_for
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
    assert msg.user_id == "42" and list(msg.types) == ["custom"]


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
