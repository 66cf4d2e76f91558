"""One step of an action, sent to every instance at once: `Starting`, a
line per instance in the order they answer, `Complete`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from services.application import stream
from services.application.stream import Outcome
from shoal.v1 import application_pb2

log = logging.getLogger("shoal.application")

Emit = Callable[[application_pb2.StreamEvent], None]
Action = Callable[[str], Awaitable[Outcome]]


@dataclass(frozen=True)
class Step:
    description: str
    method: str
    endpoint: str
    action: Action


async def _one(step: Step, index: int, instance: str) -> tuple[int, Outcome]:
    try:
        return index, await step.action(instance)
    except Exception as error:  # one instance's surprise must not sink the others
        log.exception("%s on %s", step.description, instance)
        return index, stream.failed(instance, f"{type(error).__name__}: {error}")


async def run_step(step: Step, instances: Sequence[str], emit: Emit) -> list[Outcome]:
    """Run `step` on every instance concurrently, emitting as each answers;
    the outcomes come back in the order of `instances`."""
    total = len(instances)
    emit(stream.starting(step.description, step.method, step.endpoint, total))
    outcomes: list[Outcome | None] = [None] * total
    for done in asyncio.as_completed([_one(step, i, x) for i, x in enumerate(instances)]):
        index, outcome = await done
        outcomes[index] = outcome
        emit(stream.answered(outcome, step.method, step.endpoint, index, total))
    emit(stream.complete(step.description, step.method, step.endpoint, total))
    return [o for o in outcomes if o is not None]


def succeeded(outcomes: Sequence[Outcome]) -> list[str]:
    return [o.instance for o in outcomes if o.ok]


def failures(outcomes: Sequence[Outcome]) -> list[str]:
    return [o.instance for o in outcomes if not o.ok]
