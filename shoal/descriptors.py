"""Every RPC of the Shoal API, read once from the generated descriptors.

The protos are the single source of truth: each method's HTTP route
(`google.api.http`) and Shoal options (`access`, `async_change`, `handler`,
`scopes`, `long_poll`, `healthy_field`, `deadline_seconds`, `transports`,
`resolve_caller`, `go_body`, `view`) are read here, and both the
gateway's route table and the services' caller interceptor use this one
table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, cached_property

from google.api import annotations_pb2, http_pb2
from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor

from shoal.access import ACCESS_NAMES, ACCESS_RANK
from shoal.v1 import application_pb2, beacon_pb2, identity_pb2, options_pb2, plan_pb2

__all__ = ["ACCESS_RANK", "SERVICES", "GoBody", "LongPoll", "Method", "View", "all_methods", "family_of_path", "methods_by_path",
           "service_methods"]

# service name used on the command line and in config -> (proto service, module)
SERVICES = {
    "identity": ("Identity", identity_pb2),
    "plan": ("Plan", plan_pb2),
    "beacon": ("Beacon", beacon_pb2),
    "application": ("Application", application_pb2),
}

_PATH_VAR = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


def family_of_path(path: str) -> str:
    """The API family whose shapes a path's answers take: Lighthouse under
    /api/v0.2/, the security routes under the rest of /api/, Pebble
    everywhere else (a path no route serves, such as `/` or `/v2/x`, is
    answered as Pebble answers it)."""
    if path.startswith("/api/v0.2/"):
        return "lighthouse"
    if path.startswith("/api/") or path == "/api":
        return "security"
    return "pebble"


@dataclass(frozen=True)
class LongPoll:
    """A call the service may hold open (the `long_poll` option)."""

    timeout_field: str  # the request's Go-duration field
    empty_waits_forever: bool


@dataclass(frozen=True)
class GoBody:
    """A Pebble route's JSON body, decoded as Pebble decodes it (the `go_body` option)."""

    error_prefix: str  # "cannot decode request body"
    go_type: str  # the Go type's name, as Go prints it in errors
    found_first: str  # an RPC whose NOT_FOUND answer comes before a body error, or ""


@dataclass(frozen=True)
class View:
    """A route answered from the gateway's view of its service (the `view` option)."""

    queries: tuple[str, ...]  # the HTTP queries held besides the empty one ("select=all")
    filter: str = ""  # the view holds every item, and the gateway answers each caller through this filter


@dataclass(frozen=True)
class Method:
    service: str  # "plan"
    name: str  # "ListServices"
    full_path: str  # "/shoal.v1.Plan/ListServices"
    access: str  # "read"
    http_method: str  # "GET" ("" for internal RPCs)
    http_path: str  # "/v1/services" (custom verb such as ":list" removed)
    http_verb: str  # the custom verb after ":" in the annotated path, or ""
    body: str  # "" (no body), "*" (whole message) or a field name
    response_body: str  # "" (whole message) or the field that is the answer
    async_change: bool
    handler: str  # hand-written gateway handler, or "" for generic transcoding
    scopes: tuple[str, ...]  # token scopes reaching the route, tried in order (none: only "*")
    long_poll: LongPoll | None
    healthy_field: str  # the answer's bool field whose false means 502, or ""
    deadline_seconds: int  # the call's own deadline, or 0 for the gateway's default
    go_body: GoBody | None  # how Pebble decodes the JSON body (Pebble's routes), or None
    client_streaming: bool
    server_streaming: bool
    request_class: type
    response_class: type
    transports: str = "any"  # "any", "concealed" (unix socket or HTTPS) or "unix"
    resolve_caller: bool = False  # an open route whose caller is still resolved and signed
    view: View | None = None  # answered from the gateway's view of the service, or None

    @property
    def path_params(self) -> list[str]:
        return _PATH_VAR.findall(self.http_path)

    @cached_property
    def family(self) -> str:
        """The API family whose shapes the answer takes."""
        return family_of_path(self.http_path)


def _http_rule(rule: http_pb2.HttpRule) -> tuple[str, str]:
    kind = rule.WhichOneof("pattern")
    if kind is None:
        return "", ""
    if kind == "custom":
        return rule.custom.kind.upper(), rule.custom.path
    return kind.upper(), getattr(rule, kind)


def _message_class(descriptor) -> type:
    return message_factory.GetMessageClass(descriptor)


def _long_poll(opts) -> LongPoll | None:
    if not opts.HasExtension(options_pb2.long_poll):
        return None
    option = opts.Extensions[options_pb2.long_poll]
    return LongPoll(option.timeout_field, option.empty_waits_forever)


_TRANSPORTS = {
    options_pb2.TRANSPORT_ANY: "any",
    options_pb2.TRANSPORT_CONCEALED: "concealed",
    options_pb2.TRANSPORT_UNIX: "unix",
}
def _go_body(opts) -> GoBody | None:
    if not opts.HasExtension(options_pb2.go_body):
        return None
    option = opts.Extensions[options_pb2.go_body]
    return GoBody(option.error_prefix, option.go_type, option.found_first)


def _view(opts) -> View | None:
    if not opts.HasExtension(options_pb2.view):
        return None
    option = opts.Extensions[options_pb2.view]
    return View(tuple(option.queries), option.filter)


def _method(service: str, md: MethodDescriptor) -> Method:
    opts = md.GetOptions()
    rule = opts.Extensions[annotations_pb2.http]
    http_method, path = _http_rule(rule)
    verb = ""
    if ":" in path.rsplit("/", 1)[-1]:
        path, verb = path.rsplit(":", 1)
    return Method(
        service=service,
        name=md.name,
        full_path=f"/{md.containing_service.full_name}/{md.name}",
        access=ACCESS_NAMES.get(opts.Extensions[options_pb2.access], ""),
        http_method=http_method,
        http_path=path,
        http_verb=verb,
        body=rule.body,
        response_body=rule.response_body,
        async_change=opts.Extensions[options_pb2.async_change],
        handler=opts.Extensions[options_pb2.handler],
        scopes=tuple(opts.Extensions[options_pb2.scopes]),
        long_poll=_long_poll(opts),
        healthy_field=opts.Extensions[options_pb2.healthy_field],
        deadline_seconds=opts.Extensions[options_pb2.deadline_seconds],
        go_body=_go_body(opts),
        client_streaming=md.client_streaming,
        server_streaming=md.server_streaming,
        request_class=_message_class(md.input_type),
        response_class=_message_class(md.output_type),
        transports=_TRANSPORTS[opts.Extensions[options_pb2.transports]],
        resolve_caller=opts.Extensions[options_pb2.resolve_caller],
        view=_view(opts),
    )


@cache
def all_methods() -> tuple[Method, ...]:
    methods = []
    for service, (proto_name, module) in SERVICES.items():
        for md in module.DESCRIPTOR.services_by_name[proto_name].methods:
            methods.append(_method(service, md))
    return tuple(methods)


@cache
def methods_by_path() -> dict[str, Method]:
    """Methods keyed by their gRPC path ("/shoal.v1.Plan/ListServices")."""
    return {m.full_path: m for m in all_methods()}


def service_methods(service: str) -> list[Method]:
    return [m for m in all_methods() if m.service == service]
