"""The revision the workers of one gateway share (gateway/views.py): any
worker raises it, none lowers it, every worker reads the newest."""

from __future__ import annotations

from gateway.views import SharedRevision


def test_workers_share_the_newest_revision(tmp_path):
    path = tmp_path / "run" / "gateway-revision"
    one, two = SharedRevision(path), SharedRevision(path)
    try:
        assert one.read() == two.read() == 0
        one.seen(1_000_005)
        assert two.read() == 1_000_005
        two.seen(1_000_003)  # older: no change
        assert one.read() == 1_000_005
        two.seen(1_000_009)
        assert one.read() == 1_000_009
        three = SharedRevision(path)  # a worker started later
        assert three.read() == 1_000_009
        three.close()
    finally:
        one.close()
        two.close()
