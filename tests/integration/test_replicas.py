"""Several replicas on one PostgreSQL, as the Kubernetes manifests run them:
two gateways and two replicas each of identity, beacon and application.

Under continuous writes through both gateways, one replica of each service
and one gateway are killed with SIGKILL and started again. Every write that
was acknowledged must be there exactly once afterwards, and no request may
hang: each either succeeds or fails fast.
"""

from __future__ import annotations

import asyncio
import http.client
import itertools
import json
import threading
import time

import asyncpg
import pytest

from tests.agents import Agent
from tests.databases import PG_URL
from tests.replicas import REPLICATED, Cluster

pytestmark = pytest.mark.skipif(
    __import__("os").environ.get("SHOAL_SKIP_POSTGRES") == "1", reason="SHOAL_SKIP_POSTGRES=1"
)
CLIENT_TIMEOUT = 20.0


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path / "cluster")
    yield c
    c.stop()
    asyncio.run(c.drop_schemas())


def schemas_and_versions(prefix: str) -> dict[str, list[int]]:
    async def read():
        conn = await asyncpg.connect(PG_URL)
        try:
            out = {}
            for service in REPLICATED:
                schema = f"{prefix}{service}"
                rows = await conn.fetch(f'SELECT version FROM "{schema}".schema_migrations ORDER BY version')
                out[service] = [r["version"] for r in rows]
            return out
        finally:
            await conn.close()

    return asyncio.run(read())


def test_replicas_started_together_on_an_empty_database_make_one_schema(cluster):
    names = [f"{s}{i}" for s in REPLICATED for i in range(2)]
    cluster.start(names)  # all six at the same moment, none before the other
    versions = schemas_and_versions(cluster.prefix)
    for service, applied in versions.items():
        assert applied and applied == sorted(set(applied)), f"{service}: {applied}"


class Writer(threading.Thread):
    """Writes one kind of object in a loop, alternating gateways, recording
    which writes were acknowledged and how long each request took."""

    def __init__(self, cluster: Cluster, kind: str, stop: threading.Event, agent: Agent):
        super().__init__(daemon=True)
        self.cluster, self.kind, self.stop_event, self.agent = cluster, kind, stop, agent
        self.acknowledged: list[str] = []
        self.failed: list[str] = []
        self.slowest = 0.0
        self.error: BaseException | None = None

    def write(self, gateway: int, name: str) -> bool:
        if self.kind == "token":
            answer = self.cluster.call(gateway, "POST", "/api/security/tokens", {"name": name}, CLIENT_TIMEOUT)
            return answer.status == 200
        if self.kind == "user":
            answer = self.cluster.call(gateway, "POST", "/api/v0.2/users/create",
                                       {"Email": f"{name}@example.com", "Password": "pw"}, CLIENT_TIMEOUT)
            return answer.status == 200
        answer = self.cluster.call(gateway, "POST", "/api/v0.2/applications/create", {
            "Name": name, "Command": {"command": "sleep 1000"}, "Instances": [self.agent.address],
        }, CLIENT_TIMEOUT)
        if answer.status != 200:
            return False
        last = json.loads(answer.body.splitlines()[-1])
        return last.get("Status") == "Finalized" and all(
            json.loads(line).get("Status") != "Error" for line in answer.body.splitlines())

    def run(self):
        try:
            self._loop()
        except BaseException as error:  # noqa: BLE001 - reported by the test, not lost in the thread
            self.error = error

    def _loop(self):
        for n in itertools.count():
            if self.stop_event.is_set():
                return
            name = f"{self.kind}-{n}"
            started = time.monotonic()
            try:
                ok = self.write(n % 2, name)
            except (OSError, http.client.HTTPException):
                ok = False  # a gateway that is down refuses the connection at once; one killed mid-answer cuts it
            self.slowest = max(self.slowest, time.monotonic() - started)
            (self.acknowledged if ok else self.failed).append(name)
            if not ok:
                time.sleep(0.05)


def test_acknowledged_writes_survive_killed_replicas_exactly_once(cluster, tmp_path):
    agent = Agent(tmp_path / "agent").spawn().wait_ready()
    try:
        cluster.start()
        answer = cluster.call(0, "POST", "/api/v0.2/beacons/create",
                              {"Address": agent.address, "Token": agent.token, "Alias": "node"})
        assert answer.status == 200, answer.body
        stop = threading.Event()
        writers = [Writer(cluster, kind, stop, agent) for kind in ("token", "user", "application")]
        for writer in writers:
            writer.start()
        time.sleep(1.5)
        for name in ("identity0", "beacon1", "application0", "gateway1"):
            cluster.restart(name)
            time.sleep(1.0)
        time.sleep(1.0)
        stop.set()
        for writer in writers:
            writer.join(CLIENT_TIMEOUT * 2)
            assert not writer.is_alive(), f"{writer.kind} writer hung"

        tokens = [t["name"] for t in cluster.call(0, "GET", "/api/security/tokens").json()["tokens"]]
        users = cluster.call(1, "GET", "/api/v0.2/users/list").json()
        apps = [a["Name"] for a in cluster.call(0, "GET", "/api/v0.2/applications/list").json()]
        stored = {"token": tokens, "user": [u.removesuffix("@example.com") for u in users], "application": apps}
        for writer in writers:
            assert writer.acknowledged, f"no {writer.kind} write succeeded"
            assert writer.error is None, f"{writer.kind} writer crashed: {writer.error!r}"
            assert writer.slowest < CLIENT_TIMEOUT, f"a {writer.kind} request hung"
            names = stored[writer.kind]
            for name in writer.acknowledged:
                assert names.count(name) == 1, f"{name}: stored {names.count(name)} times"
            assert len(names) == len(set(names))
            print(f"{writer.kind}: {len(writer.acknowledged)} acknowledged, {len(writer.failed)} failed, slowest {writer.slowest:.2f}s")
    finally:
        agent.stop()
