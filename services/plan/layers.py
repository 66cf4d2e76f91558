"""Layers and the plan: parsing, per-layer validation, merging, plan
validation, start/stop ordering and the plan's YAML form — Pebble's rules
and messages (spec §3, §4.3). Pure functions over `model.py`; no I/O except
user and group lookups for exec checks.

- `parse_layer(order, label, text)` → `Layer`, or `LayerError` (the API
  prefixes "cannot parse layer YAML: ").
- `combine_layers(layers)` → `Layer` holding the merged sections, or
  `PlanError`; `build_plan(layers)` also validates the result.
- `start_order(plan, names)` / `stop_order(plan, names)` → lanes (lists of
  service names); `plan_to_yaml(plan)` → the text `GET /v1/plan` returns.
"""

from __future__ import annotations

import copy
import grp
import pwd
import shlex
from collections.abc import Iterable

import yaml

from services.plan.durations import format_duration, parse_duration
from services.plan.logforward import targets as log_targets  # log-target rules live there
from services.plan.model import (
    DEFAULT_CHECK_THRESHOLD,
    Check,
    ExecCheck,
    HTTPCheck,
    Layer,
    LogTarget,
    Plan,
    Service,
    TCPCheck,
)

SECTIONS = ("summary", "description", "services", "checks", "log-targets")
ACTIONS = ("", "restart", "shutdown", "ignore")


class LayerError(Exception):
    """A layer that cannot be parsed or fails its own validation."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class PlanError(Exception):
    """Layers that cannot be combined, or a combined plan that is invalid."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class _TypeError(Exception):
    """One field of the wrong type (collected like Go's yaml unmarshal errors)."""


# -- commands -------------------------------------------------------------------


def parse_command(command: str) -> tuple[list[str], list[str]]:
    """Split `command` into its base arguments and the default arguments of
    an optional trailing `[ ... ]` group. ValueError on a malformed group."""
    try:
        words = shlex.split(command)
    except ValueError as error:
        raise ValueError(str(error).lower()) from None
    base: list[str] = []
    extra: list[str] = []
    in_group = had_group = False
    for index, word in enumerate(words):
        if in_group:
            if word == "[":
                raise ValueError("cannot nest [ ... ] groups")
            if word == "]":
                in_group = False
            else:
                extra.append(word)
            continue
        if had_group:
            raise ValueError("cannot have any arguments after [ ... ] group")
        if word == "[":
            if index == 0:
                raise ValueError("cannot start command with [ ... ] group")
            in_group = had_group = True
            continue
        if word == "]":
            raise ValueError("cannot have ] outside of [ ... ] group")
        base.append(word)
    return base, extra


def normalize_uid_gid(
    user_id: int | None, group_id: int | None, user: str, group: str
) -> tuple[int | None, int | None]:
    """Resolve names to ids, checking that names and ids agree; ValueError."""
    if user_id is None and not user and group_id is None and not group:
        return None, None
    if user:
        try:
            found = pwd.getpwnam(user).pw_uid
        except KeyError:
            raise ValueError(f"user: unknown user {user}") from None
        if user_id is not None and user_id != found:
            raise ValueError(f'user "{user}" UID ({found}) does not match user-id ({user_id})')
        user_id = found
    if group:
        try:
            found = grp.getgrnam(group).gr_gid
        except KeyError:
            raise ValueError(f"group: unknown group {group}") from None
        if group_id is not None and group_id != found:
            raise ValueError(f'group "{group}" GID ({found}) does not match group-id ({group_id})')
        group_id = found
    if group_id is None:
        try:
            group_id = pwd.getpwuid(user_id).pw_gid  # type: ignore[arg-type]
        except KeyError:
            raise ValueError(f"user: unknown userid {user_id}") from None
    if user_id is None:
        raise ValueError("must specify user, not just group")
    return user_id, group_id


# -- YAML decoding ----------------------------------------------------------------


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def _short_tag(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "!!map"
    if isinstance(node, yaml.SequenceNode):
        return "!!seq"
    return "!!" + node.tag.rsplit(":", 1)[-1]


def _cannot(node: yaml.Node, into: str) -> _TypeError:
    if isinstance(node, yaml.ScalarNode):
        return _TypeError(f"line {_line(node)}: cannot unmarshal {_short_tag(node)} `{node.value}` into {into}")
    return _TypeError(f"line {_line(node)}: cannot unmarshal {_short_tag(node)} into {into}")


class _Decoder:
    """Typed reads of YAML nodes, collecting type errors as Go's yaml does."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def string(self, node: yaml.Node) -> str:
        if _is_null(node):
            return ""
        if not isinstance(node, yaml.ScalarNode):
            self.errors.append(str(_cannot(node, "string")))
            return ""
        return node.value

    def integer(self, node: yaml.Node) -> int | None:
        if _is_null(node):
            return None
        if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:int":
            try:
                return int(node.value, 0) if not node.value.lstrip("+-").isdigit() else int(node.value)
            except ValueError:
                pass
        self.errors.append(str(_cannot(node, "int")))
        return None

    def strings(self, node: yaml.Node) -> list[str]:
        if _is_null(node):
            return []
        if not isinstance(node, yaml.SequenceNode):
            self.errors.append(str(_cannot(node, "[]string")))
            return []
        return [self.string(item) for item in node.value]

    def string_map(self, node: yaml.Node) -> dict[str, str]:
        if _is_null(node):
            return {}
        if not isinstance(node, yaml.MappingNode):
            self.errors.append(str(_cannot(node, "map[string]string")))
            return {}
        return {self.string(key): self.string(value) for key, value in node.value}

    @staticmethod
    def duration(node: yaml.Node) -> float | None:
        if _is_null(node):
            return None
        if not isinstance(node, yaml.ScalarNode):
            raise LayerError("duration must be a YAML string")
        try:
            return parse_duration(node.value)
        except ValueError:
            raise LayerError(f'invalid duration "{node.value}"') from None

    @staticmethod
    def number(node: yaml.Node) -> float | None:
        if _is_null(node):
            return None
        if not isinstance(node, yaml.ScalarNode):
            raise LayerError("factor must be a YAML string")
        try:
            return float(node.value)
        except ValueError:
            raise LayerError(f'invalid floating-point number "{node.value}"') from None

    def fields(self, node: yaml.Node, type_name: str, readers: dict, target) -> None:
        """Set `target`'s attributes from a mapping node, strictly."""
        if not isinstance(node, yaml.MappingNode):
            self.errors.append(str(_cannot(node, type_name)))
            return
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else ""
            reader = readers.get(name)
            if reader is None:
                self.errors.append(f"line {_line(key)}: field {name} not found in type {type_name}")
                continue
            attribute, read = reader
            result = read(value)
            setattr(target, attribute, result)


def _service_readers(d: _Decoder) -> dict:
    return {
        "summary": ("summary", d.string),
        "description": ("description", d.string),
        "startup": ("startup", d.string),
        "override": ("override", d.string),
        "command": ("command", d.string),
        "after": ("after", d.strings),
        "before": ("before", d.strings),
        "requires": ("requires", d.strings),
        "workload": ("workload", d.string),
        "environment": ("environment", d.string_map),
        "user-id": ("user_id", d.integer),
        "user": ("user", d.string),
        "group-id": ("group_id", d.integer),
        "group": ("group", d.string),
        "working-dir": ("working_dir", d.string),
        "on-success": ("on_success", d.string),
        "on-failure": ("on_failure", d.string),
        "on-check-failure": ("on_check_failure", d.string_map),
        "backoff-delay": ("backoff_delay", d.duration),
        "backoff-factor": ("backoff_factor", d.number),
        "backoff-limit": ("backoff_limit", d.duration),
        "kill-delay": ("kill_delay", d.duration),
    }


def _check_readers(d: _Decoder) -> dict:
    def sub(cls, type_name, readers):
        def read(node):
            if _is_null(node):
                return None
            value = cls()
            d.fields(node, type_name, readers, value)
            return value

        return read

    http = sub(HTTPCheck, "plan.HTTPCheck", {"url": ("url", d.string), "headers": ("headers", d.string_map)})
    tcp = sub(TCPCheck, "plan.TCPCheck", {"port": ("port", d.integer), "host": ("host", d.string)})
    exec_ = sub(
        ExecCheck,
        "plan.ExecCheck",
        {
            "command": ("command", d.string),
            "service-context": ("service_context", d.string),
            "environment": ("environment", d.string_map),
            "user-id": ("user_id", d.integer),
            "user": ("user", d.string),
            "group-id": ("group_id", d.integer),
            "group": ("group", d.string),
            "working-dir": ("working_dir", d.string),
        },
    )
    return {
        "override": ("override", d.string),
        "level": ("level", d.string),
        "startup": ("startup", d.string),
        "period": ("period", d.duration),
        "timeout": ("timeout", d.duration),
        "threshold": ("threshold", d.integer),
        "http": ("http", http),
        "tcp": ("tcp", tcp),
        "exec": ("exec", exec_),
    }


def _log_target_readers(d: _Decoder) -> dict:
    return log_targets.yaml_fields(d)  # hook: log forwarding


def _decode_section(node: yaml.Node, cls, type_name: str, readers) -> dict:
    """A section mapping name → object (None for a null body)."""
    decoder = _Decoder()
    out: dict = {}
    if _is_null(node):
        return out
    if not isinstance(node, yaml.MappingNode):
        raise _TypeError(f"line {_line(node)}: cannot unmarshal {_short_tag(node)} into map[string]*{type_name}")
    for key, value in node.value:
        name = decoder.string(key)
        if _is_null(value):
            out[name] = None
            continue
        item = cls(name=name)
        decoder.fields(value, type_name, readers(decoder), item)
        out[name] = item
    if decoder.errors:
        raise _TypeError("\n  ".join(decoder.errors))
    return out


def parse_layer(order: int, label: str, text: str | bytes) -> Layer:
    """Parse and validate one layer (spec §3.4); LayerError on failure."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        raise LayerError(f'cannot parse layer "{label}": yaml: {_yaml_reason(error)}') from None
    layer = Layer(order=order, label=label)
    if root is None or _is_null(root):
        validate_layer(layer)
        return layer
    if not isinstance(root, yaml.MappingNode):
        raise LayerError(
            f'cannot parse layer "{label}": yaml: unmarshal errors:\n  '
            f"{_cannot(root, 'map[string]yaml.Node')}"
        )
    sections = {
        "services": (Service, "plan.Service", _service_readers, "services"),
        "checks": (Check, "plan.Check", _check_readers, "checks"),
        "log-targets": (LogTarget, "plan.LogTarget", _log_target_readers, "log_targets"),
    }
    for key, value in root.value:
        field = key.value if isinstance(key, yaml.ScalarNode) else ""
        try:
            if field in ("summary", "description"):
                decoder = _Decoder()
                setattr(layer, field, decoder.string(value))
                if decoder.errors:
                    raise _TypeError(decoder.errors[0])
            elif field in sections:
                cls, type_name, readers, attribute = sections[field]
                setattr(layer, attribute, _decode_section(value, cls, type_name, readers))
            else:
                raise LayerError(f'cannot parse layer "{label}": unknown section "{field}"')
        except _TypeError as error:
            raise LayerError(
                f'cannot parse layer "{label}" section "{field}": yaml: unmarshal errors:\n  {error}'
            ) from None
        except LayerError as error:
            if error.message.startswith("cannot parse layer"):
                raise
            raise LayerError(f'cannot parse layer "{label}" section "{field}": {error.message}') from None
    validate_layer(layer)
    return layer


def _yaml_reason(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    return f"line {mark.line + 1}: {problem}" if mark is not None else problem


def validate_layer(layer: Layer) -> None:
    """Rules that hold for each layer on its own (spec §3.4)."""
    if layer.label.startswith("pebble-"):
        raise LayerError('cannot use reserved label prefix "pebble-"')
    for name in sorted(layer.services):
        service = layer.services[name]
        if name == "":
            raise LayerError("cannot use empty string as service name")
        if name == "pebble":
            raise LayerError(f'cannot use reserved service name "{name}"')
        if name.startswith("-"):
            raise LayerError(f'cannot use service name "{name}": starting with "-" not allowed')
        if service is None:
            raise LayerError(f'service object cannot be null for service "{name}"')
        try:
            parse_command(service.command)
        except ValueError as error:
            raise LayerError(
                f'plan service "{name}" command invalid: cannot parse service "{name}" command: {error}'
            ) from None
        if service.on_success not in ACTIONS + ("failure-shutdown",):
            raise LayerError(f'plan service "{name}" on-success action "{service.on_success}" invalid')
        if service.on_failure not in ACTIONS + ("success-shutdown",):
            raise LayerError(f'plan service "{name}" on-failure action "{service.on_failure}" invalid')
        for action in service.on_check_failure.values():
            if action not in ACTIONS + ("success-shutdown",):
                raise LayerError(f'plan service "{name}" on-check-failure action "{action}" invalid')
        if service.backoff_factor is not None and service.backoff_factor < 1:
            raise LayerError(
                f'plan service "{name}" backoff-factor must be 1.0 or greater, not {_go_float(service.backoff_factor)}'
            )
    for name in sorted(layer.checks):
        check = layer.checks[name]
        if name == "":
            raise LayerError("cannot use empty string as check name")
        if check is None:
            raise LayerError(f'check object cannot be null for check "{name}"')
        if check.level not in ("", "alive", "ready"):
            raise LayerError(f'plan check "{name}" level must be "alive" or "ready"')
        if check.startup not in ("", "enabled", "disabled"):
            raise LayerError(f'plan check "{name}" startup must be "enabled" or "disabled"')
        if check.period == 0:
            raise LayerError(f'plan check "{name}" period must not be zero')
        if check.timeout == 0:
            raise LayerError(f'plan check "{name}" timeout must not be zero')
        if check.exec is not None:
            try:
                shlex.split(check.exec.command)
            except ValueError as error:
                raise LayerError(f'plan check "{name}" command invalid: {str(error).lower()}') from None
            spec = check.exec
            try:
                normalize_uid_gid(spec.user_id, spec.group_id, spec.user, spec.group)
            except ValueError as error:
                raise LayerError(f'plan check "{name}" has invalid user/group: {error}') from None
    try:  # hook: log forwarding
        log_targets.validate_layer(layer.log_targets)
    except log_targets.LogTargetError as error:
        raise LayerError(error.message) from None


def _go_float(value: float) -> str:
    return f"{value:g}"


# -- combining ------------------------------------------------------------------


def _merge_service(old: Service, new: Service) -> None:
    for attribute in ("summary", "description", "startup", "command", "user", "group",
                      "working_dir", "workload", "on_success", "on_failure"):
        if getattr(new, attribute):
            setattr(old, attribute, getattr(new, attribute))
    for attribute in ("user_id", "group_id", "backoff_delay", "backoff_factor", "backoff_limit", "kill_delay"):
        if getattr(new, attribute) is not None:
            setattr(old, attribute, getattr(new, attribute))
    old.after = old.after + new.after
    old.before = old.before + new.before
    old.requires = old.requires + new.requires
    old.environment = {**old.environment, **new.environment}
    old.on_check_failure = {**old.on_check_failure, **new.on_check_failure}


def _merge_fields(old, new, scalars: Iterable[str], maps: Iterable[str] = ()) -> None:
    for attribute in scalars:
        value = getattr(new, attribute)
        if value not in ("", None):
            setattr(old, attribute, value)
    for attribute in maps:
        setattr(old, attribute, {**getattr(old, attribute), **getattr(new, attribute)})


def _merge_check(old: Check, new: Check) -> None:
    _merge_fields(old, new, ("level", "startup", "period", "timeout"))
    if new.threshold:
        old.threshold = new.threshold
    if new.http is not None:
        old.http = old.http or HTTPCheck()
        _merge_fields(old.http, new.http, ("url",), ("headers",))
    if new.tcp is not None:
        old.tcp = old.tcp or TCPCheck()
        _merge_fields(old.tcp, new.tcp, ("port", "host"))
    if new.exec is not None:
        old.exec = old.exec or ExecCheck()
        _merge_fields(old.exec, new.exec,
                      ("command", "service_context", "user", "user_id", "group", "group_id", "working_dir"),
                      ("environment",))


def _merge_log_target(old: LogTarget, new: LogTarget) -> None:
    log_targets.merge(old, new)  # hook: log forwarding


def combine_layers(layers: list[Layer]) -> Layer:
    """Merge `layers` in order with the override rules; PlanError."""
    combined = Layer(order=0, label="")
    if not layers:
        return combined
    combined.summary = layers[-1].summary
    combined.description = layers[-1].description
    kinds = (
        ("services", "service", _merge_service),
        ("checks", "check", _merge_check),
        ("log_targets", "log target", _merge_log_target),
    )
    for layer in layers:
        for attribute, noun, merge in kinds:
            into = getattr(combined, attribute)
            for name, item in getattr(layer, attribute).items():
                if item is None:
                    continue
                if item.override == "merge":
                    if name in into:
                        merge(into[name], item)
                    else:
                        into[name] = copy.deepcopy(item)
                elif item.override == "replace":
                    into[name] = copy.deepcopy(item)
                elif item.override == "":
                    raise PlanError(f'layer "{layer.label}" must define "override" for {noun} "{name}"')
                else:
                    raise PlanError(f'layer "{layer.label}" has invalid "override" value for {noun} "{name}"')
    for check in combined.checks.values():
        if not check.threshold:
            check.threshold = DEFAULT_CHECK_THRESHOLD
    return combined


def validate_plan(plan: Plan) -> None:
    """Rules for the combined plan (spec §3.5); PlanError."""
    for name in sorted(plan.services):
        if not plan.services[name].command:
            raise PlanError(f'plan must define "command" for service "{name}"')
    for name in sorted(plan.checks):
        check = plan.checks[name]
        kinds = 0
        if check.http is not None:
            if not check.http.url:
                raise PlanError(f'plan must set "url" for http check "{name}"')
            kinds += 1
        if check.tcp is not None:
            if not check.tcp.port:
                raise PlanError(f'plan must set "port" for tcp check "{name}"')
            kinds += 1
        if check.exec is not None:
            if not check.exec.command:
                raise PlanError(f'plan must set "command" for exec check "{name}"')
            context = check.exec.service_context
            if context and context not in plan.services:
                raise PlanError(
                    f'plan check "{name}" service context specifies non-existent service "{context}"'
                )
            kinds += 1
        if kinds != 1:
            raise PlanError(f'plan must specify one of "http", "tcp", or "exec" for check "{name}"')
    try:  # hook: log forwarding
        log_targets.validate_plan(plan.log_targets, plan.services)
    except log_targets.LogTargetError as error:
        raise PlanError(error.message) from None
    _order(plan.services, list(plan.services), stop=False)


def build_plan(layers: list[Layer]) -> Plan:
    """Combine and validate `layers` into a plan; PlanError."""
    combined = combine_layers(layers)
    plan = Plan(
        layers=list(layers),
        services=combined.services,
        checks=combined.checks,
        log_targets=combined.log_targets,
    )
    validate_plan(plan)
    return plan


# -- ordering -------------------------------------------------------------------


def _strongly_connected(successors: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm: components with every node's successors first."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    output: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in successors.get(node, []):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            output.append(sorted(component))

    for node in sorted(successors):
        if node not in index:
            visit(node)
    return output


def _order(services: dict[str, Service], names: list[str], stop: bool) -> list[str]:
    dependents: dict[str, list[str]] = {}
    if stop:
        for name in sorted(services):
            for required in services[name].requires:
                dependents.setdefault(required, []).append(name)
    involved: dict[str, list[str]] = {}
    pending = list(names)
    while pending:
        name = pending.pop(0)
        if name in involved:
            continue
        involved[name] = []
        if stop:
            pending.extend(dependents.get(name, []))
        else:
            if name not in services:
                raise PlanError(f'service "{name}" does not exist')
            pending.extend(services[name].requires)
    for name in list(involved):
        if name not in services:
            raise PlanError(f'service "{name}" does not exist')
        after, before = services[name].after, services[name].before
        if stop:
            after, before = before, after
        involved[name] = involved[name] + [a for a in after if a in involved]
        for b in before:
            if b in involved:
                involved[b] = involved[b] + [name]
    ordered = []
    for component in _strongly_connected(involved):
        if len(component) > 1:
            raise PlanError(f"services in before/after loop: {', '.join(component)}")
        ordered.append(component[0])
    return ordered


def _lanes(names: list[str], services: dict[str, Service]) -> list[list[str]]:
    lane_of: dict[str, int] = {}

    def assign(service: Service, lane: int) -> None:
        lane_of[service.name] = lane
        for dependency in service.requires:
            lane_of[dependency] = lane

    current = -1
    for name in names:
        service = services.get(name)
        if service is None:
            raise PlanError(f'service "{name}" does not exist')
        if name in lane_of:
            lane = lane_of[name]
        else:
            lane = next((lane_of[d] for d in service.requires if d in lane_of), None)
            if lane is None:
                lane = current + 1  # after the previous service's lane, as Pebble does
        assign(service, lane)
        current = lane
    lanes: list[list[str]] = [[] for _ in range(max(lane_of.values(), default=-1) + 1)]
    for name in names:
        lanes[lane_of[name]].append(name)
    return [lane for lane in lanes if lane]


def start_order(plan: Plan, names: list[str]) -> list[list[str]]:
    """Lanes to start `names` and what they require, dependencies first."""
    return _lanes(_order(plan.services, names, stop=False), plan.services)


def stop_order(plan: Plan, names: list[str]) -> list[list[str]]:
    """Lanes to stop `names` and their dependents, dependents first."""
    return _lanes(_order(plan.services, names, stop=True), plan.services)


# -- the plan as YAML ---------------------------------------------------------------


def _put(out: dict, key: str, value, show_empty: bool = False) -> None:
    if value is None or (not show_empty and value in ("", [], {})):
        return
    out[key] = value


def _duration(value: float | None) -> str | None:
    return None if value is None else format_duration(value)


def _factor(value: float | None):
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def service_to_dict(service: Service) -> dict:
    out: dict = {}
    _put(out, "summary", service.summary)
    _put(out, "description", service.description)
    _put(out, "startup", service.startup)
    _put(out, "override", service.override)
    _put(out, "command", service.command)
    _put(out, "after", list(service.after))
    _put(out, "before", list(service.before))
    _put(out, "requires", list(service.requires))
    _put(out, "workload", service.workload)
    _put(out, "environment", dict(sorted(service.environment.items())))
    _put(out, "user-id", service.user_id)
    _put(out, "user", service.user)
    _put(out, "group-id", service.group_id)
    _put(out, "group", service.group)
    _put(out, "working-dir", service.working_dir)
    _put(out, "on-success", service.on_success)
    _put(out, "on-failure", service.on_failure)
    _put(out, "on-check-failure", dict(sorted(service.on_check_failure.items())))
    _put(out, "backoff-delay", _duration(service.backoff_delay))
    _put(out, "backoff-factor", _factor(service.backoff_factor))
    _put(out, "backoff-limit", _duration(service.backoff_limit))
    _put(out, "kill-delay", _duration(service.kill_delay))
    return out


def check_to_dict(check: Check) -> dict:
    out: dict = {}
    _put(out, "override", check.override)
    _put(out, "level", check.level)
    _put(out, "startup", check.startup)
    _put(out, "period", _duration(check.period))
    _put(out, "timeout", _duration(check.timeout))
    _put(out, "threshold", check.threshold or None)
    if check.http is not None:
        http: dict = {}
        _put(http, "url", check.http.url)
        _put(http, "headers", dict(sorted(check.http.headers.items())))
        out["http"] = http
    if check.tcp is not None:
        tcp: dict = {}
        _put(tcp, "port", check.tcp.port)
        _put(tcp, "host", check.tcp.host)
        out["tcp"] = tcp
    if check.exec is not None:
        spec = check.exec
        exec_: dict = {}
        _put(exec_, "command", spec.command)
        _put(exec_, "service-context", spec.service_context)
        _put(exec_, "environment", dict(sorted(spec.environment.items())))
        _put(exec_, "user-id", spec.user_id)
        _put(exec_, "user", spec.user)
        _put(exec_, "group-id", spec.group_id)
        _put(exec_, "group", spec.group)
        _put(exec_, "working-dir", spec.working_dir)
        out["exec"] = exec_
    return out


def log_target_to_dict(target: LogTarget) -> dict:
    return log_targets.to_dict(target)  # hook: log forwarding


def plan_to_dict(plan: Plan) -> dict:
    out: dict = {}
    if plan.services:
        out["services"] = {n: service_to_dict(plan.services[n]) for n in sorted(plan.services)}
    if plan.checks:
        out["checks"] = {n: check_to_dict(plan.checks[n]) for n in sorted(plan.checks)}
    if plan.log_targets:
        out["log-targets"] = {n: log_target_to_dict(plan.log_targets[n]) for n in sorted(plan.log_targets)}
    return out


class _Dumper(yaml.SafeDumper):
    """Indents block sequences under their key, as Go's yaml does."""

    def increase_indent(self, flow: bool = False, indentless: bool = False):
        return super().increase_indent(flow, False)


def plan_to_yaml(plan: Plan) -> str:
    """The combined plan as `GET /v1/plan?format=yaml` shows it."""
    data = plan_to_dict(plan)
    if not data:
        return "{}\n"
    return yaml.dump(data, Dumper=_Dumper, indent=4, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=1 << 30)
