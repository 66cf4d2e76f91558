"""A service context: the settings an exec (API call or check) takes from a
service of the plan, under what the exec sets itself (Pebble's
`plan.MergeServiceContext`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from services.plan.plan.model import Check, Plan


class ContextNotFound(LookupError):
    """The context service is not in the plan."""

    def __init__(self, name: str):
        super().__init__(f'context service "{name}" not found')


@dataclass(frozen=True)
class ContextOptions:
    environment: dict[str, str] = field(default_factory=dict)
    user_id: int | None = None
    user: str = ""
    group_id: int | None = None
    group: str = ""
    working_dir: str = ""


def merge_service_context(plan: Plan | None, service_name: str, overrides: ContextOptions) -> ContextOptions:
    """`overrides` over the settings of the service `service_name` (the
    overrides alone when no service is named): the environments merge, and
    each other field the overrides set replaces the service's own."""
    if not service_name:
        return overrides
    service = plan.services.get(service_name) if plan is not None else None
    if service is None:
        raise ContextNotFound(service_name)
    return ContextOptions(
        environment={**service.environment, **overrides.environment},
        user_id=service.user_id if overrides.user_id is None else overrides.user_id,
        user=overrides.user or service.user,
        group_id=service.group_id if overrides.group_id is None else overrides.group_id,
        group=overrides.group or service.group,
        working_dir=overrides.working_dir or service.working_dir,
    )


def check_in_context(plan: Plan, check: Check) -> Check:
    """The check as it runs: an exec check with a service context gets that
    service's settings under its own; any other check is returned as is."""
    spec = check.exec
    if spec is None or not spec.service_context:
        return check
    merged = merge_service_context(plan, spec.service_context, ContextOptions(
        environment=dict(spec.environment), user_id=spec.user_id, user=spec.user,
        group_id=spec.group_id, group=spec.group, working_dir=spec.working_dir,
    ))
    return dataclasses.replace(check, exec=dataclasses.replace(
        spec, environment=merged.environment, user_id=merged.user_id, user=merged.user,
        group_id=merged.group_id, group=merged.group, working_dir=merged.working_dir,
    ))
