"""The pure model of notices: occurrences, repeat-after, expiry, filters, visibility,
long-polls and the POST API's validation messages."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from services.common.errors import Failure
from services.common.times import format_time, parse_time
from services.plan.notices import (
    Notice,
    NoticeBook,
    NoticeFilter,
    NoticeForbidden,
    NoticeInvalid,
    NoticeNotFound,
    validate_add,
)

T0 = datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def book(clock: Clock) -> NoticeBook:
    return NoticeBook(clock=clock)


KEY = "example.com/thing"


# --- formatting ---------------------------------------------------------------------


def test_times_are_rfc3339_utc_with_trimmed_fraction():
    assert format_time(T0) == "2024-05-06T07:08:09.123Z"
    assert format_time(T0.replace(microsecond=0)) == "2024-05-06T07:08:09Z"
    assert parse_time("2024-05-06T09:08:09.123000789+02:00") == T0


@pytest.mark.parametrize(
    "text, words",
    [
        ("2024-05-06 07:08:09", 'as "2006-01-02T15:04:05Z07:00": cannot parse " 07:08:09" as "T"'),
        ("2024-5-06T07:08:09Z", 'as "2006-01-02T15:04:05Z07:00": cannot parse "5-06T07:08:09Z" as "01"'),
        ("2024-05-06T07:08:09", 'as "2006-01-02T15:04:05Z07:00": cannot parse "" as "Z07:00"'),
        ("2024-05-06T07:08:09z", 'as "2006-01-02T15:04:05Z07:00": cannot parse "z" as "Z07:00"'),
        ("2024-13-06T07:08:09Z", ": month out of range"),
        ("2024-02-30T07:08:09Z", ": day out of range"),
        ("2024-05-06T24:08:09Z", ": hour out of range"),
        ("2024-05-06T07:08:60Z", ": second out of range"),
        ("2024-05-06T07:08:09+25:00", ": time zone offset hour out of range"),
        ("2024-05-06T07:08:09Z!", ': extra text: "!"'),
        ("2024-05-06T07:08:09Zé", ': extra text: "\\xc3\\xa9"'),
    ],
)
def test_bad_times_are_refused_in_gos_words(text, words):
    with pytest.raises(ValueError) as caught:
        parse_time(text)
    assert str(caught.value) == f'parsing time "{text}"'.replace("é", "\\xc3\\xa9") + ("" if words[0] == ":" else " ") + words


def test_times_are_read_as_leniently_as_go_reads_them():
    assert parse_time("2024-05-06T7:08:09.123Z") == T0  # a one-digit hour
    assert parse_time("2024-05-06T07:08:09,123Z") == T0  # a comma before the fraction
    assert parse_time("2024-05-07T07:08:09.123+24:00") == T0


# --- occurrences and repeat-after ----------------------------------------------------


def test_new_notice(book):
    n = book.add(1000, "custom", KEY, {"a": "b"})
    assert n.id == "1"
    assert (n.first_occurred, n.last_occurred, n.last_repeated) == (T0, T0, T0)
    assert n.occurrences == 1 and n.last_data == {"a": "b"}
    assert n.expire_after == 7 * 24 * 3600


def test_reoccurrence_updates_same_notice(book, clock):
    first = book.add(1000, "custom", KEY, {"a": "1"})
    t1 = clock.advance(5)
    again = book.add(1000, "custom", KEY, None)
    assert again is first and again.id == "1"
    assert again.occurrences == 2
    assert again.first_occurred == T0 and again.last_occurred == t1
    assert again.last_repeated == t1  # no repeat-after: every occurrence repeats
    assert again.last_data == {}


def test_repeat_after_delays_last_repeated(book, clock):
    n = book.add(1000, "custom", KEY, None, repeat_after=60)
    t1 = clock.advance(30)
    book.add(1000, "custom", KEY, {"x": "y"}, repeat_after=60)
    assert n.occurrences == 2 and n.last_occurred == t1 and n.last_repeated == T0
    assert n.last_data == {"x": "y"}
    clock.advance(30)  # exactly repeat-after since it last repeated: not yet
    book.add(1000, "custom", KEY, None, repeat_after=60)
    assert n.occurrences == 3 and n.last_repeated == T0
    t2 = clock.advance(1)
    book.add(1000, "custom", KEY, None, repeat_after=60)
    assert n.occurrences == 4 and n.last_repeated == t2
    assert "last-data" not in n.to_api()  # an occurrence without data leaves none
    book.add(1000, "custom", KEY, None)  # repeat-after unset again: repeats at once
    assert n.repeat_after is None and n.occurrences == 5


def test_notices_are_unique_per_user_type_and_key(book):
    a = book.add(1000, "custom", KEY)
    b = book.add(2000, "custom", KEY)
    c = book.add(None, "custom", KEY)
    d = book.add(1000, "custom", "example.com/other")
    e = book.add(None, "warning", KEY)
    assert len({a.id, b.id, c.id, d.id, e.id}) == 5
    assert len(book) == 5


def test_unknown_type_is_a_programming_error(book):
    with pytest.raises(ValueError):
        book.add(None, "bogus", KEY)


def test_to_api_shape(book, clock):
    n = book.add(1000, "custom", KEY, {"k": "v"}, repeat_after=3600)
    assert n.to_api() == {
        "id": "1",
        "user-id": 1000,
        "type": "custom",
        "key": KEY,
        "first-occurred": "2024-05-06T07:08:09.123Z",
        "last-occurred": "2024-05-06T07:08:09.123Z",
        "last-repeated": "2024-05-06T07:08:09.123Z",
        "occurrences": 1,
        "last-data": {"k": "v"},
        "repeat-after": "1h0m0s",
        "expire-after": "168h0m0s",
    }
    public = book.add(None, "warning", "disk full")
    api = public.to_api()
    assert api["user-id"] is None
    assert "last-data" not in api and "repeat-after" not in api


def test_to_dict_from_dict_round_trip(book):
    n = book.add(42, "custom", KEY, {"k": "v"}, repeat_after=1.5)
    copy = Notice.from_dict(json.loads(json.dumps(n.to_dict())))
    assert copy == n and copy.to_api() == n.to_api()


def test_load_restores_notices_and_id_counter(clock):
    old = NoticeBook(clock=clock)
    old.add(1, "custom", KEY)
    old.add(1, "custom", "example.com/b")
    saved = [Notice.from_dict(n.to_dict()) for n in old.query(NoticeFilter(all_users=True))]
    book = NoticeBook(clock=clock)
    book.load(saved, last_id=5)
    assert book.add(1, "custom", KEY).id == "1"  # same notice again
    assert book.add(1, "custom", "example.com/c").id == "6"


def test_hooks_report_saves_and_removals(clock):
    saved, removed = [], []
    book = NoticeBook(
        clock=clock,
        on_saved=lambda n: saved.append(n.id),
        on_removed=lambda n: removed.append(n.id),
    )
    book.add(1, "custom", KEY)
    book.add(1, "custom", KEY)
    clock.advance(8 * 24 * 3600)
    book.add(1, "custom", "example.com/new")
    assert saved == ["1", "1", "2"] and removed == ["1"]


# --- expiry and limits -----------------------------------------------------------


def test_expired_notices_are_hidden_and_pruned(book, clock):
    n = book.add(1000, "custom", KEY)
    short = book.add(1000, "custom", "example.com/short", expire_after=10)
    clock.advance(11)
    assert book.query(NoticeFilter(user_id=1000)) == [n]
    with pytest.raises(NoticeNotFound):
        book.get(short.id, 1000, False)
    clock.advance(7 * 24 * 3600)
    assert book.query(NoticeFilter(user_id=1000)) == []
    assert book.prune() == [n.id, short.id] and len(book) == 0
    again = book.add(1000, "custom", KEY)
    assert again.id == "3" and again.occurrences == 1


def test_at_most_max_notices_kept_oldest_dropped(clock):
    book = NoticeBook(clock=clock, max_notices=3)
    for i in range(4):
        book.add(None, "custom", f"example.com/k{i}")
        clock.advance(1)
    assert [n.key for n in book.query()] == [f"example.com/k{i}" for i in (1, 2, 3)]


# --- queries -------------------------------------------------------------------------


def test_query_orders_by_last_repeated(book, clock):
    a = book.add(None, "custom", "example.com/a")
    clock.advance(1)
    b = book.add(None, "custom", "example.com/b", repeat_after=3600)
    clock.advance(1)
    c = book.add(None, "custom", "example.com/c")
    clock.advance(1)
    book.add(None, "custom", "example.com/a")  # repeats: moves last
    book.add(None, "custom", "example.com/b", repeat_after=3600)  # not repeated: stays
    assert book.query() == [b, c, a]


def test_visibility_own_and_public_unless_all_users(book):
    mine = book.add(1000, "custom", KEY)
    theirs = book.add(2000, "custom", KEY)
    public = book.add(None, "change-update", "1", {"kind": "start"})
    assert book.query(NoticeFilter(user_id=1000)) == [mine, public]
    assert book.query(NoticeFilter(user_id=2000)) == [theirs, public]
    assert book.query(NoticeFilter()) == [public]
    assert book.query(NoticeFilter(all_users=True)) == [mine, theirs, public]


def test_type_key_and_after_filters(book, clock):
    custom = book.add(None, "custom", KEY)
    t1 = clock.advance(1)
    warning = book.add(None, "warning", "disk almost full")
    clock.advance(1)
    update = book.add(None, "change-update", "7", {"kind": "start"})
    assert book.query(NoticeFilter(types=["warning"])) == [warning]
    assert book.query(NoticeFilter(types=["warning", "bogus"])) == [warning]
    assert book.query(NoticeFilter(types=["bogus", "other"])) == []
    assert book.query(NoticeFilter(keys=[KEY, "7"])) == [custom, update]
    assert book.query(NoticeFilter(after=t1)) == [update]  # strictly after
    assert book.query(NoticeFilter(after=t1 - timedelta(microseconds=1))) == [warning, update]


def test_filter_from_query_parameters():
    f = NoticeFilter.from_query(
        1000, False, types=["custom,warning", " change-update "], keys=[KEY], after=""
    )
    assert (f.user_id, f.all_users) == (1000, False)
    assert f.types == ["custom", "warning", "change-update"] and f.keys == [KEY]
    f = NoticeFilter.from_query(0, True, user_id=["2000"], after="2024-05-06T07:08:09.123Z")
    assert f.user_id == 2000 and f.after == T0
    f = NoticeFilter.from_query(0, True, users=["all"])
    assert f.all_users


@pytest.mark.parametrize(
    "uid, admin, params, error, message",
    [
        (None, True, {}, NoticeForbidden, "cannot determine UID of request, so cannot retrieve notices"),
        (1000, False, {"user_id": ["1"]}, NoticeForbidden, 'only admins may use the "user-id" filter'),
        (1000, False, {"users": ["all"]}, NoticeForbidden, 'only admins may use the "users" filter'),
        (0, True, {"user_id": ["root"]}, NoticeInvalid,
         'invalid "user-id" filter: strconv.ParseInt: parsing "root": invalid syntax'),
        (0, True, {"user_id": ["1x"]}, NoticeInvalid,
         'invalid "user-id" filter: strconv.ParseInt: parsing "1x": invalid syntax'),
        (0, True, {"user_id": ["-"]}, NoticeInvalid,
         'invalid "user-id" filter: strconv.ParseInt: parsing "-": invalid syntax'),
        (0, True, {"user_id": ["99999999999999999999x"]}, NoticeInvalid,
         'invalid "user-id" filter: strconv.ParseInt: parsing "99999999999999999999x": value out of range'),
        (0, True, {"user_id": ["9223372036854775808"]}, NoticeInvalid,
         'invalid "user-id" filter: strconv.ParseInt: parsing "9223372036854775808": value out of range'),
        (0, True, {"user_id": ["-1"]}, NoticeInvalid, 'invalid "user-id" filter: user ID is not a valid uint32: -1'),
        (0, True, {"user_id": ["-9223372036854775808"]}, NoticeInvalid,
         'invalid "user-id" filter: user ID is not a valid uint32: -9223372036854775808'),
        (0, True, {"user_id": ["4294967296"]}, NoticeInvalid,
         'invalid "user-id" filter: user ID is not a valid uint32: 4294967296'),
        (0, True, {"user_id": ["1", "2"]}, NoticeInvalid, 'invalid "user-id" filter: must only include one "user-id"'),
        (0, True, {"user_id": ["0,0"]}, NoticeInvalid, 'invalid "user-id" filter: must only include one "user-id"'),
        (0, True, {"users": ["some"]}, NoticeInvalid, 'invalid "users" filter: must be "all"'),
        (0, True, {"users": ["some"], "user_id": ["1"]}, NoticeInvalid,
         'cannot use both "users" and "user-id" parameters'),
        (0, True, {"users": ["all"], "user_id": ["x"]}, NoticeInvalid,  # the user-id is read first
         'invalid "user-id" filter: strconv.ParseInt: parsing "x": invalid syntax'),
        (0, True, {"after": "yesterday"}, NoticeInvalid, ('invalid "after" timestamp: parsing time "yesterday" as '
         '"2006-01-02T15:04:05Z07:00": cannot parse "yesterday" as "2006"')),
        (0, True, {"after": "2024-01-01"}, NoticeInvalid, ('invalid "after" timestamp: parsing time "2024-01-01" as '
         '"2006-01-02T15:04:05Z07:00": cannot parse "" as "T"')),
    ],
)  # fmt: skip
def test_filter_errors(uid, admin, params, error, message):
    with pytest.raises(error) as e:
        NoticeFilter.from_query(uid, admin, **params)
    assert e.value.message == message
    assert e.value.failure is (Failure.FORBIDDEN if error is NoticeForbidden else Failure.INVALID)


def test_a_user_id_filter_reads_as_go_reads_a_number():
    assert NoticeFilter.from_query(0, True, user_id=["+42"]).user_id == 42
    assert NoticeFilter.from_query(0, True, user_id=[" 7 ", ""]).user_id == 7
    assert NoticeFilter.from_query(0, True, user_id=["4294967295"]).user_id == 4294967295


def test_only_unknown_types_match_nothing_and_after_is_not_read(book):
    book.add(1000, "custom", KEY)
    flt = NoticeFilter.from_query(1000, False, types=["bogus,other"], after="not a time")
    assert flt.nothing and book.query(flt) == []
    flt = NoticeFilter.from_query(1000, False, types=["bogus", "custom", "custom"])
    assert not flt.nothing and flt.types == ["custom"] and len(book.query(flt)) == 1


def test_get_single_notice_permissions(book):
    mine = book.add(1000, "custom", KEY)
    public = book.add(None, "warning", "careful")
    assert book.get(mine.id, 1000, False) is mine
    assert book.get(mine.id, 0, True) is mine
    assert book.get(public.id, 2000, False) is public
    with pytest.raises(NoticeForbidden) as e:
        book.get(mine.id, 2000, False)
    assert e.value.message == 'not allowed to access notice with id "1"' and e.value.failure is Failure.FORBIDDEN
    with pytest.raises(NoticeNotFound) as e:
        book.get("99", 0, True)
    assert e.value.message == 'cannot find notice with ID "99"' and e.value.failure is Failure.NOT_FOUND


def test_change_update_and_warning_helpers(book, clock):
    n = book.add_change_update("12", "restart", {"check-name": "c"})
    assert (n.user_id, n.type, n.key) == (None, "change-update", "12")
    assert n.last_data == {"kind": "restart", "check-name": "c"}
    assert book.latest_warning() is None
    book.add_warning("first")
    t1 = clock.advance(3)
    w = book.add_warning("second")
    assert (w.user_id, w.type, w.key) == (None, "warning", "second")
    assert book.latest_warning() == t1


# --- long-poll -----------------------------------------------------------------------


async def test_wait_returns_at_once_when_something_matches(book):
    n = book.add(1000, "custom", KEY)
    assert await book.wait(NoticeFilter(user_id=1000), 5) == [n]


async def test_wait_wakes_up_on_a_matching_notice(book):
    flt = NoticeFilter(user_id=1000, types=["custom"])
    waiter = asyncio.ensure_future(book.wait(flt, 5))
    await asyncio.sleep(0.01)
    book.add(2000, "custom", KEY)  # someone else's: no wake-up result
    book.add(None, "warning", "unrelated")
    await asyncio.sleep(0.01)
    assert not waiter.done()
    n = book.add(1000, "custom", KEY)
    assert await asyncio.wait_for(waiter, 5) == [n]


async def test_wait_times_out_with_empty_list(book):
    loop = asyncio.get_running_loop()
    start = loop.time()
    assert await book.wait(NoticeFilter(user_id=1000), 0.05) == []
    assert loop.time() - start >= 0.04


async def test_a_wait_longer_than_the_longest_held_answers_empty_at_that_bound(clock):
    book = NoticeBook(clock=clock, longest_wait=0.05)
    loop = asyncio.get_running_loop()
    start = loop.time()
    assert await book.wait(NoticeFilter(user_id=1000), 3600) == []
    assert await book.wait(NoticeFilter(user_id=1000), None) == []
    assert loop.time() - start < 5


async def test_wait_after_filter_waits_for_a_repeat(book, clock):
    n = book.add(None, "custom", KEY)
    flt = NoticeFilter(after=n.last_repeated)
    waiter = asyncio.ensure_future(book.wait(flt, 5))
    await asyncio.sleep(0.01)
    assert not waiter.done()
    clock.advance(1)
    book.add(None, "custom", KEY)
    assert await asyncio.wait_for(waiter, 5) == [n]


# --- POST validation -----------------------------------------------------------------


def test_validate_add_accepts_a_good_request():
    req = validate_add("add", "custom", "my-host.example.com/a-b/c9", "1m", {"x": "1"})
    assert (req.type, req.key, req.repeat_after, req.data) == (
        "custom",
        "my-host.example.com/a-b/c9",
        60,
        {"x": "1"},
    )
    assert validate_add("add", "custom", KEY).data == {}
    assert validate_add("add", "custom", KEY, data={"a": "b"}).data == {"a": "b"}
    assert validate_add("add", "custom", KEY, data={"a": None}).data == {"a": ""}  # Go's zero value
    assert validate_add("add", "custom", KEY, data=None).data == {}  # null: no data
    assert validate_add("add", "custom", KEY, repeat_after="").repeat_after is None


def test_validate_add_takes_a_negative_repeat_after_as_pebble_does():
    assert validate_add("add", "custom", KEY, repeat_after="-1s").repeat_after == -1


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        (("remove", "custom", KEY), {}, 'invalid action "remove"'),
        (("add", "warning", KEY), {}, 'invalid type "warning" (can only add "custom" notices)'),
        (("add", "", KEY), {"data": "x"}, 'invalid type "" (can only add "custom" notices)'),  # type before data
        (("add", "custom", "foo"), {}, 'invalid key "foo" (must be in "example.com/path" format)'),
        (("add", "custom", "Example.com/x"), {}, 'invalid key "Example.com/x" (must be in "example.com/path" format)'),
        (("add", "custom", "example.com"), {}, 'invalid key "example.com" (must be in "example.com/path" format)'),
        (("add", "custom", 'a"\n'), {}, 'invalid key "a\\"\\n" (must be in "example.com/path" format)'),
        (("add", "custom", "example.com/" + "a" * 250), {}, "key must be 256 bytes or less"),
        (("add", "custom", KEY), {"repeat_after": "soon"}, 'invalid repeat-after: time: invalid duration "soon"'),
        (("add", "custom", KEY), {"repeat_after": "5"}, 'invalid repeat-after: time: missing unit in duration "5"'),
        (("add", "custom", KEY), {"repeat_after": "soon", "data": [1]},
         'invalid repeat-after: time: invalid duration "soon"'),  # before data
        (("add", "custom", KEY), {"data": {"k": "v" * 4100}}, "total size of data must be 4096 bytes or less"),
        (("add", "custom", KEY), {"data": ["a"]},
         "cannot decode notice data: json: cannot unmarshal array into Go value of type map[string]string"),
        (("add", "custom", KEY), {"data": "x"},
         "cannot decode notice data: json: cannot unmarshal string into Go value of type map[string]string"),
        (("add", "custom", KEY), {"data": {"number": 1.0}},
         "cannot decode notice data: json: cannot unmarshal number into Go struct field .number of type string"),
    ],
)  # fmt: skip
def test_validate_add_messages(args, kwargs, message):
    with pytest.raises(NoticeInvalid) as e:
        validate_add(*args, **kwargs)
    assert e.value.message == message
    assert e.value.failure is Failure.INVALID
