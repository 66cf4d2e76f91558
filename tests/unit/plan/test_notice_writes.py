"""A client's notice is written before anyone sees it: with the database
full (SQLite's page limit standing in for a full disk), the refused notice
is not listed, wakes no waiter, and is not there after a restart."""

from __future__ import annotations

import asyncio

import pytest

from services.common.errors import DomainError, Failure
from services.plan.daemon import PlanDaemon
from services.plan.notices import CUSTOM, NoticeFilter

ALL = NoticeFilter(all_users=True)


async def _started(home) -> PlanDaemon:
    daemon = PlanDaemon(home)
    await daemon.start()
    return daemon


async def test_a_notice_refused_by_a_full_database_is_never_visible(tmp_path):
    daemon = await _started(tmp_path)
    try:
        await daemon.add_notice(1000, CUSTOM, "example.com/kept", {"n": "1"}, None)
        pages = await daemon.store.db.fetchval("PRAGMA page_count")
        await daemon.store.db.fetchval(f"PRAGMA max_page_count = {pages}")  # the disk is now full
        waiter = asyncio.ensure_future(daemon.notices.wait(NoticeFilter(all_users=True, keys=["example.com/big-0"]), 5))
        refused = None
        for n in range(50):  # each notice's ~3 KB of data soon needs a page the database may not take
            try:
                await daemon.add_notice(1000, CUSTOM, f"example.com/big-{n}", {"pad": "x" * 3000}, None)
            except DomainError as error:
                refused = (n, error)
                break
        assert refused is not None, "the full database took every notice"
        n, error = refused
        assert error.failure is Failure.INTERNAL and error.message.startswith("cannot add notice: ")
        keys = [notice.key for notice in daemon.notices.query(ALL)]
        assert f"example.com/big-{n}" not in keys and "example.com/kept" in keys
        if n == 0:
            await asyncio.sleep(0.05)
            assert not waiter.done()  # nobody was told of the refused one
        # An occurrence of a notice that exists, refused, leaves it as it was.
        with pytest.raises(DomainError):
            await daemon.add_notice(1000, CUSTOM, "example.com/kept", {"pad": "y" * 3000}, None)
        assert daemon.notices.query(NoticeFilter(all_users=True, keys=["example.com/kept"]))[0].occurrences == 1
        await daemon.store.db.fetchval("PRAGMA max_page_count = 1073741823")  # space again
        await daemon.store.flush()  # what was queued beside the refused writes goes in now
    finally:
        waiter.cancel()
        await daemon.stop()
    again = await _started(tmp_path)
    try:
        after = {notice.key: notice for notice in again.notices.query(ALL)}
        assert f"example.com/big-{n}" not in after
        assert after["example.com/kept"].occurrences == 1 and after["example.com/kept"].last_data == {"n": "1"}
    finally:
        await again.stop()
