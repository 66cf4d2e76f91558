"""Times as Pebble's CLI prints them: a table of datetime → text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from shoal.cli import times

NOW = datetime(2026, 12, 1, 10, 33, 15, tzinfo=UTC)


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    import time

    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(("then", "text"), [
    (NOW, "today at 10:33 UTC"),
    (NOW.replace(hour=0, minute=0), "today at 00:00 UTC"),
    (NOW.replace(hour=23, minute=59), "today at 23:59 UTC"),
    (NOW - timedelta(days=1), "yesterday at 10:33 UTC"),
    (NOW.replace(hour=0, minute=1) - timedelta(minutes=2), "yesterday at 23:59 UTC"),
    (NOW - timedelta(days=2), "2 days ago, at 10:33 UTC"),
    (NOW - timedelta(days=60), "60 days ago, at 10:33 UTC"),
    (NOW - timedelta(days=61), "2026-10-01"),
    (NOW + timedelta(days=1), "tomorrow at 10:33 UTC"),
    (NOW + timedelta(days=3, hours=2), "in 3 days, at 12:33 UTC"),
    (NOW + timedelta(days=60), "in 60 days, at 10:33 UTC"),
    (NOW + timedelta(days=61), "2027-01-31"),
    (datetime(2026, 12, 1, 12, 0, tzinfo=timezone(timedelta(hours=5))), "today at 07:00 UTC"),
])
def test_human_times(then, text):
    assert times.human(then, NOW) == text


def test_human_times_are_local(monkeypatch):
    import time

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    assert times.human(NOW, NOW) == "today at 05:33 EST"
    assert times.human(datetime(2026, 7, 1, 3, 0, tzinfo=UTC), datetime(2026, 7, 1, 12, 0, tzinfo=UTC)) \
        == "yesterday at 23:00 EDT"


@pytest.mark.parametrize(("text", "abs_time"), [
    ("2026-12-01T10:33:15.44485727Z", "2026-12-01T10:33:15Z"),
    ("2026-12-01T10:33:15Z", "2026-12-01T10:33:15Z"),
    ("2026-12-01T10:33:15.5+02:00", "2026-12-01T10:33:15+02:00"),
    ("2026-12-01T10:33:15-05:30", "2026-12-01T10:33:15-05:30"),
])
def test_abs_time_is_rfc3339_in_the_times_own_offset(text, abs_time):
    assert times.fmt(text, abs_time=True) == abs_time


@pytest.mark.parametrize("unset", ["", None, "0001-01-01T00:00:00Z"])
def test_unset_times_are_the_placeholder(unset):
    assert times.fmt(unset) == "-"
    assert times.fmt(unset, abs_time=True) == "-"


def test_nanoseconds_parse():
    assert times.parse("2026-12-01T10:33:15.123456789Z") == datetime(2026, 12, 1, 10, 33, 15, 123456, tzinfo=UTC)
