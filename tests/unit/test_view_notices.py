"""GET /v1/notices answered from the view's entry of every notice
(gateway/routes/view_notices.py): each caller sees what the plan service's
own query shows it (one rule, services/common/notice_filter.py), a notice
that expires leaves the answers with no new entry, and what the filter
cannot answer as the RPC would (a refusal, a long-poll, no uid) is left to
the RPC."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import make_mocked_request
from google.protobuf import json_format

from gateway.routes import view_notices
from gateway.routes.view_notices import NoticesFilter
from gateway.transcode import build_request
from services.common.notice_filter import NoticeFilter
from services.common.signing import Caller
from services.plan.notices import CUSTOM, NoticeBook
from shoal.descriptors import methods_by_path
from shoal.v1 import plan_pb2

T0 = datetime(2026, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
METHOD = methods_by_path()["/shoal.v1.Plan/ListNotices"]
ROOT = Caller("uid:0", "admin", uid=0, method="peer")
ALICE = Caller("uid:1000", "read", uid=1000, method="peer")


@pytest.fixture
def book():
    now = [T0]
    book = NoticeBook(clock=lambda: now[0])
    book.add(None, CUSTOM, "public.example.com/a", {"k": "v"}, now=T0)
    book.add(1000, CUSTOM, "alice.example.com/a", now=T0 + timedelta(seconds=1))
    book.add(0, CUSTOM, "root.example.com/a", now=T0 + timedelta(seconds=2))
    book.add(2000, CUSTOM, "bob.example.com/a", now=T0 + timedelta(seconds=3))
    book.add(None, "warning", "short-lived", now=T0 + timedelta(seconds=4), expire_after=60)
    book.now = now
    return book


def _entry(book: NoticeBook) -> plan_pb2.ListNoticesResponse:
    every = book.query(NoticeFilter(all_users=True))
    return json_format.ParseDict({"notices": [n.to_api() for n in every]}, plan_pb2.ListNoticesResponse())


def _ids(answer) -> list[str]:
    status, body = answer
    assert status == 200
    return [n["id"] for n in json.loads(body)["result"]]


def _ask(answers: NoticesFilter, query: str, caller: Caller, entry):
    return answers.answer(make_mocked_request("GET", "/v1/notices" + query), caller, entry)


@pytest.mark.parametrize(("caller", "query"), [
    (ROOT, ""), (ROOT, "?users=all"), (ROOT, "?user-id=2000"), (ROOT, "?users=all&types=warning"),
    (ROOT, "?keys=public.example.com/a,bob.example.com/a&users=all"), (ALICE, ""), (ALICE, "?types=custom"),
    (ALICE, "?after=2026-05-06T07:08:10.5Z"), (ALICE, "?types=bogus"),
])
def test_each_caller_sees_what_the_plan_services_query_shows_it(book, monkeypatch, caller, query):
    monkeypatch.setattr(view_notices, "utcnow", lambda: book.now[0])
    request = make_mocked_request("GET", "/v1/notices" + query)
    message = build_request(METHOD, {}, list(request.query.items()), None, request.headers)
    expected = [n.id for n in book.query(NoticeFilter.of_request(message, caller.uid, caller.at_least("admin")))]
    assert _ids(_ask(NoticesFilter(METHOD), query, caller, _entry(book))) == expected


def test_a_non_admin_sees_public_notices_and_its_own(book, monkeypatch):
    monkeypatch.setattr(view_notices, "utcnow", lambda: book.now[0])
    answers, entry = NoticesFilter(METHOD), _entry(book)
    seen = json.loads(_ask(answers, "", ALICE, entry)[1])["result"]
    assert [(n["key"], n["user-id"]) for n in seen] == [
        ("public.example.com/a", None), ("alice.example.com/a", 1000), ("short-lived", None)]
    assert len(_ids(_ask(answers, "?users=all", ROOT, entry))) == 5
    assert _ids(_ask(answers, "", ROOT, entry)) != _ids(_ask(answers, "", ALICE, entry))  # kept per caller


def test_an_expired_notice_leaves_the_answer_with_no_new_entry(book, monkeypatch):
    now = [T0 + timedelta(seconds=10)]
    monkeypatch.setattr(view_notices, "utcnow", lambda: now[0])
    answers, entry = NoticesFilter(METHOD), _entry(book)
    assert "5" in _ids(_ask(answers, "", ALICE, entry))
    now[0] = T0 + timedelta(seconds=65)  # the warning expired 60 s after it occurred
    assert "5" not in _ids(_ask(answers, "", ALICE, entry))
    assert _ids(_ask(answers, "", ALICE, entry)) == ["1", "2"]


@pytest.mark.parametrize(("caller", "query"), [
    (ALICE, "?users=all"), (ALICE, "?user-id=0"), (ROOT, "?users=some"), (ROOT, "?user-id=x"),
    (ROOT, "?after=yesterday"), (ROOT, "?timeout=1s"), (ROOT, "?timeout="),
    (Caller("token", "admin", uid=None, method="token"), ""),
])
def test_refusals_long_polls_and_callers_without_uid_go_to_the_rpc(book, caller, query):
    assert _ask(NoticesFilter(METHOD), query, caller, _entry(book)) is None
