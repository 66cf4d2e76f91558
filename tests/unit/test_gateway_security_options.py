"""The method and field options the security routes add to the gateway,
without processes: transports, a caller resolved on an open route, and a
field taken from a header."""

from __future__ import annotations

import dataclasses

from gateway.access import transport_refusal
from gateway.transcode import build_request
from shoal.descriptors import all_methods

M = {m.name: m for m in all_methods()}


def test_concealed_routes_are_refused_over_plain_http_only():
    for name in ("QuickSetup", "ValidateBootstrapToken", "Recovery"):
        method = M[name]
        assert method.transports == "concealed"
        refused = transport_refusal(method, "http")
        assert refused.status == 403 and refused.kind == "insecure_transport"
        assert transport_refusal(method, "https") is None and transport_refusal(method, "unix") is None
    assert transport_refusal(M["ListServices"], "http") is None


def test_a_unix_only_route_answers_on_the_socket_alone():
    method = dataclasses.replace(M["GetSecurityStatus"], transports="unix")
    assert transport_refusal(method, "unix") is None
    assert transport_refusal(method, "https").status == 403 and transport_refusal(method, "http").status == 403


def test_only_recovery_resolves_its_caller_on_an_open_route():
    assert [m.name for m in all_methods() if m.resolve_caller] == ["Recovery"]
    assert M["Recovery"].access == "untrusted"


def test_the_setup_token_comes_from_its_header_or_the_body():
    validate = M["ValidateBootstrapToken"]
    assert build_request(validate, {}, [], b"{}", {"X-Setup-Token": "abc"}).token == "abc"
    assert build_request(validate, {}, [], b'{"token": "def"}', {}).token == "def"
    assert build_request(validate, {}, [], b'{"token": "def"}', {"X-Setup-Token": "abc"}).token == "abc"
    setup = build_request(M["QuickSetup"], {}, [], b'{"username": "a", "setupToken": "s"}', None)
    assert (setup.username, setup.setup_token) == ("a", "s")


def test_whoami_is_reached_by_every_token_scope():
    from shoal.access import SCOPE_ACCESS

    assert set(M["WhoAmI"].scopes) == set(SCOPE_ACCESS) - {"*"}
    assert M["WhoAmI"].access == "metrics"
