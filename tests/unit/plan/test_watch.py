"""The plan service's view answers (services/plan/watch.py) over a real
node agent: a snapshot of every held answer, then only what changed, with
revisions that grow, across a restart too; every other RPC stamps the
revision it made."""

from __future__ import annotations

import asyncio

from services.common.config import load_settings
from services.plan.daemon import PlanDaemon
from services.plan.server import PlanServicer
from shoal.v1 import plan_pb2

LAYER = "services:\n  web:\n    override: replace\n    command: sleep 100\n"
SERVICES = "/shoal.v1.Plan/ListServices"


class Context:
    """What a stamped RPC writes its trailing metadata into."""

    trailing = ()

    def set_trailing_metadata(self, metadata) -> None:
        self.trailing = metadata


async def _servicer(home):
    settings = load_settings({"SHOAL_SECRET": "watch-test"}, home=home)
    daemon = PlanDaemon(settings.home)
    await daemon.start()
    return PlanServicer(settings, daemon), daemon


async def test_a_snapshot_then_only_what_changed(tmp_path):
    servicer, daemon = await _servicer(tmp_path / "home")
    stream = servicer.read_models.watch()
    try:
        first = await anext(stream)
        assert first.snapshot
        held = {entry.method for entry in first.entries}
        assert {SERVICES, "/shoal.v1.Plan/GetSystemInfo", "/shoal.v1.Plan/GetHealth", "/shoal.v1.Plan/ListChecks",
                "/shoal.v1.Plan/ListChanges"} <= held
        context = Context()
        request = plan_pb2.AddLayerRequest(action="add", label="web", format="yaml", layer=LAYER)
        await servicer.AddLayer(request, context)
        made = int(dict(context.trailing)["shoal-revision"])
        update = await asyncio.wait_for(anext(stream), 5)
        assert not update.snapshot and update.revision == made > first.revision
        assert [entry.method for entry in update.entries] == [SERVICES]
        services = plan_pb2.ListServicesResponse.FromString(update.entries[0].response)
        assert [s.name for s in services.services] == ["web"]
    finally:
        await stream.aclose()
        await daemon.stop()


async def test_revisions_grow_across_a_restart(tmp_path):
    servicer, daemon = await _servicer(tmp_path / "home")
    for label in ("a", "b", "c"):
        await servicer.AddLayer(plan_pb2.AddLayerRequest(action="add", label=label, format="yaml", layer=LAYER),
                                Context())
    before = await servicer.read_models.settle()
    await daemon.stop()
    again, daemon = await _servicer(tmp_path / "home")
    try:
        assert await again.read_models.settle() > before
    finally:
        await daemon.stop()
