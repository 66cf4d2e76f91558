"""Each caller's failed beacon polls are limited (services/beacon/polls.py)."""

from services.beacon.polls import PollLimiter


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_a_caller_may_fail_so_often_then_waits_for_the_bucket_to_refill():
    clock = Clock()
    limiter = PollLimiter(failures=2, refill=10, clock=clock)
    assert limiter.wait("eve") == 0
    limiter.failed("eve")
    limiter.failed("eve")
    assert limiter.wait("eve") == 10
    assert limiter.wait("ann") == 0  # per caller
    clock.now += 4
    assert limiter.wait("eve") == 6
    clock.now += 6
    assert limiter.wait("eve") == 0
    limiter.failed("eve")
    assert limiter.wait("eve") == 10


def test_the_bucket_never_holds_more_than_its_size():
    clock = Clock()
    limiter = PollLimiter(failures=2, refill=10, clock=clock)
    clock.now += 10_000
    for _ in range(2):
        limiter.failed("eve")
    assert limiter.wait("eve") > 0
