"""Rollout strategies and the rolling rollout's state machine (pure).

`all` sends a deployment to every instance at once (Lighthouse's way).
`rolling` cuts the instances into batches (`batch` per batch, or at most
`maxUnavailable` updating at once: the same cut, since every instance of a
batch is down while it restarts) and updates them one batch after another.
An instance of a batch is ready when its start succeeded and each of the
application's checks has counted a success since that start, within the
deadline. The first instance that is not stops the rollout: every instance
updated so far (the failed batch included) goes back to the previous
deployment, and the instances after it never see the new one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from services.application.model import BAD_PARAMS, ModelError
from services.common.durations import DurationError, parse_duration

ALL, ROLLING = "all", "rolling"
DEFAULT_DEADLINE = 60.0
MAX_DEADLINE = 3600.0

ROLLED_OUT = "rolled out"
UP, DOWN = "up", "down"
READY, FAILED, WAITING = "ready", "failed", "waiting"


@dataclass(frozen=True)
class Strategy:
    kind: str = ALL
    batch: int = 0  # instances per batch (rolling)
    deadline: float = DEFAULT_DEADLINE  # per instance: start and checks (rolling)

    @property
    def rolling(self) -> bool:
        return self.kind == ROLLING


AT_ONCE = Strategy()  # Lighthouse's way, the default


def _positive(name: str, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ModelError(f'{BAD_PARAMS}: {name} must be an integer, got "{text}"') from None
    if value < 1:
        raise ModelError(f"{BAD_PARAMS}: {name} must be at least 1")
    return value


def parse_strategy(kind: str, batch: str = "", max_unavailable: str = "", deadline: str = "") -> Strategy:
    """The strategy of `?strategy=&batch=&maxUnavailable=&deadline=`."""
    kind = kind or ALL
    if kind not in (ALL, ROLLING):
        raise ModelError(f'{BAD_PARAMS}: strategy must be "all" or "rolling", got "{kind}"')
    if kind == ALL:
        if batch or max_unavailable or deadline:
            raise ModelError(f"{BAD_PARAMS}: batch, maxUnavailable and deadline need strategy=rolling")
        return Strategy()
    if batch and max_unavailable:
        raise ModelError(f"{BAD_PARAMS}: give batch or maxUnavailable, not both")
    size = _positive("batch", batch) if batch else _positive("maxUnavailable", max_unavailable) if max_unavailable else 1
    seconds = DEFAULT_DEADLINE
    if deadline:
        try:
            seconds = float(parse_duration(deadline))
        except DurationError as error:
            raise ModelError(f"{BAD_PARAMS}: deadline: {error}") from None
        if not 0 < seconds <= MAX_DEADLINE:
            raise ModelError(f"{BAD_PARAMS}: deadline must be more than 0s and at most 1h")
    return Strategy(ROLLING, size, seconds)


def batches(instances: Sequence[str], strategy: Strategy) -> list[list[str]]:
    """The instances in the order they are updated, batch by batch."""
    if not instances:
        return []
    if not strategy.rolling:
        return [list(instances)]
    size = strategy.batch
    return [list(instances[i : i + size]) for i in range(0, len(instances), size)]


@dataclass(frozen=True)
class CheckSeen:
    """What an instance's `GET /v1/checks` showed of one check."""

    name: str
    status: str
    successes: int
    failures: int
    change_id: str


def checks_verdict(names: Sequence[str], before: Mapping[str, CheckSeen], now: Mapping[str, CheckSeen]) -> tuple[str, str]:
    """(READY | FAILED | WAITING, why) for an instance's checks `now`,
    against what they showed right after its start (`before`).

    A check counts as passed once it is up with a success its current run
    made after the start: a new run (another change) with a success, or
    the same run with more successes. It has failed once it is down in a
    new run, or has failed again in the run it was down in."""
    waiting = []
    for name in names:
        seen = now.get(name)
        if seen is None:
            waiting.append(name)
            continue
        base = before.get(name)
        fresh = base is None or seen.change_id != base.change_id
        if seen.status == DOWN and (fresh or seen.failures > base.failures):
            return FAILED, f"check {name} is down ({seen.failures} failure(s))"
        if seen.status == UP and (seen.successes > 0 if fresh else seen.successes > base.successes):
            continue
        waiting.append(name)
    if waiting:
        return WAITING, "waiting for check(s) " + ", ".join(waiting)
    return READY, "checks up" if names else "started"


@dataclass
class Rollout:
    """A rolling rollout's progress: which batch is next, what has been
    updated, and whether it stopped (then what goes back, and why)."""

    batches: list[list[str]]
    index: int = 0
    updated: list[str] = field(default_factory=list)
    failure: str = ""

    @property
    def total(self) -> int:
        return len(self.batches)

    @property
    def stopped(self) -> bool:
        return bool(self.failure)

    @property
    def finished(self) -> bool:
        return self.stopped or self.index >= len(self.batches)

    def next_batch(self) -> list[str]:
        """The batch to update now; [] once the rollout is over."""
        return [] if self.finished else list(self.batches[self.index])

    def batch_done(self, failed: Mapping[str, str]) -> None:
        """Record the batch's result: `failed` maps each instance that did
        not start or pass its checks to why (empty: all ready)."""
        if self.finished:
            raise RuntimeError("rollout already over")
        batch = self.batches[self.index]
        self.updated.extend(batch)
        self.index += 1
        for instance in batch:
            if instance in failed:
                self.failure = f"{instance}: {failed[instance]}"
                return

    @property
    def to_roll_back(self) -> list[str]:
        """The instances that go back to the previous deployment."""
        return list(self.updated) if self.stopped else []

    @property
    def untouched(self) -> list[str]:
        return [i for batch in self.batches[self.index :] for i in batch]

    def outcome(self, rollback_failed: Sequence[str] = ()) -> str:
        """What the deployment history records."""
        if not self.stopped:
            return ROLLED_OUT
        text = f"rolled back: {self.failure}"
        if rollback_failed:
            text += f" (rollback failed on {', '.join(rollback_failed)})"
        return text
