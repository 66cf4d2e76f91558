"""Start and stop order: services and what they require (or what requires
them), ordered by after/before, in lanes that can run side by side."""

from __future__ import annotations

from services.plan.plan.errors import PlanError
from services.plan.plan.model import Plan, Service


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


def check_order(plan: Plan) -> None:
    """PlanError when the plan's services cannot be ordered (a before/after loop)."""
    _order(plan.services, list(plan.services), stop=False)


def start_order(plan: Plan, names: list[str]) -> list[list[str]]:
    """Lanes to start `names` and what they require, dependencies first."""
    return _lanes(_order(plan.services, names, stop=False), plan.services)


def stop_order(plan: Plan, names: list[str]) -> list[list[str]]:
    """Lanes to stop `names` and their dependents, dependents first."""
    return _lanes(_order(plan.services, names, stop=True), plan.services)
