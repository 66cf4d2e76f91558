"""Go durations, the one codec (services/common/durations.py) that Pebble's
API, plan YAML, notices and token expiries share."""

from __future__ import annotations

import pytest

from services.common.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    "text,seconds,canonical",
    [("1s", 1, "1s"), ("500ms", 0.5, "500ms"), ("1.5h", 5400, "1h30m0s"), ("2m", 120, "2m0s"),
     ("0", 0, "0s"), ("1h0m0.25s", 3600.25, "1h0m0.25s"), ("10us", 1e-5, "10µs")],
)
def test_durations_round_trip_in_go_syntax(text, seconds, canonical):
    assert parse_duration(text) == pytest.approx(seconds)
    assert format_duration(parse_duration(text)) == canonical


@pytest.mark.parametrize(
    "text, message",
    [
        ("", 'time: invalid duration ""'),
        ("soon", 'time: invalid duration "soon"'),
        ("s", 'time: invalid duration "s"'),
        ("--1s", 'time: invalid duration "--1s"'),
        ("-", 'time: invalid duration "-"'),
        (".s", 'time: invalid duration ".s"'),
        ("1", 'time: missing unit in duration "1"'),
        ("1.5", 'time: missing unit in duration "1.5"'),
        ("1s2", 'time: missing unit in duration "1s2"'),
        ("1x", 'time: unknown unit "x" in duration "1x"'),
        ("1d", 'time: unknown unit "d" in duration "1d"'),
        ("1 s", 'time: unknown unit " s" in duration "1 s"'),
        ("1e400h", 'time: unknown unit "e" in duration "1e400h"'),
        ("1é", 'time: unknown unit "\\xc3\\xa9" in duration "1\\xc3\\xa9"'),
        ('1"', 'time: unknown unit "\\"" in duration "1\\""'),
        ("1\ts", 'time: unknown unit "\\x09s" in duration "1\\x09s"'),
    ],
)
def test_bad_durations_are_refused_in_gos_words(text, message):
    with pytest.raises(ValueError) as caught:
        parse_duration(text)
    assert str(caught.value) == message


@pytest.mark.parametrize("text, nanos", [("1µs", 1_000), ("1μs", 1_000), ("+5s", 5 * 10**9), ("-0", 0),
                                         ("1.5h", 5400 * 10**9), (".5s", 5 * 10**8), ("1.s", 10**9),
                                         ("1h1h", 7200 * 10**9), ("0.000000001s", 1)])
def test_what_go_reads(text, nanos):
    assert parse_duration(text).nanos == nanos


def test_a_parsed_duration_prints_back_its_exact_nanoseconds():
    assert format_duration(parse_duration("2562047h47m16.854775807s")) == "2562047h47m16.854775807s"


@pytest.mark.parametrize(
    "seconds, text",
    [
        (0, "0s"),
        (7 * 24 * 3600, "168h0m0s"),
        (60, "1m0s"),
        (90.5, "1m30.5s"),
        (4, "4s"),
        (1.5, "1.5s"),
        (0.3, "300ms"),
        (0.0015, "1.5ms"),
        (0.000002, "2µs"),
        (3723, "1h2m3s"),
        (-2, "-2s"),
    ],
)
def test_durations_are_formatted_like_go(seconds, text):
    assert format_duration(seconds) == text


@pytest.mark.parametrize("text", ["99999999999h", "2562048h", "9223372037s", "9223372036.854775808s",
                                  "2562047h47m16.854775808s"])
def test_durations_beyond_gos_int64_nanoseconds_are_invalid(text):
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["2562047h", "9223372036s", "2562047h47m16.854775807s",
                                  "-2562047h47m16.854775808s"])
def test_the_longest_durations_go_holds_are_valid(text):
    assert abs(parse_duration(text)) >= 9.2e9
