"""Beacons under attack, through the real suite: a Lighthouse user (eve)
squatting aliases and instance addresses, beacon addresses that reach
what they should not, polls used as a port scanner, and the instance proxy
pointed at a port where no agent answers.

Every address used is on loopback: real plan agents, a fake beacon (a gRPC
server reporting whatever instances it likes), a port nobody listens on, a
socket that never answers and a plain HTTP server. Link-local and metadata
addresses are only ever named, never dialled: their refusal is decided from
the configuration (which here even lists 169.254.0.0/16) before any dial.

The tests in this module build on each other, in order.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from concurrent import futures

import grpc
import pytest

from shoal.v1 import plan_pb2, plan_pb2_grpc
from tests.agents import Agent
from tests.support import Suite, free_port, wait_for

# Loopback, and link-local listed on purpose: it stays refused.
NETWORKS = "127.0.0.0/8,169.254.0.0/16,fe80::/10"
IDLE = 2  # seconds before an unused agent channel stops connecting
POLL_LIMIT = 5  # failed polls a caller may make in a row (services/beacon/polls.py)
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    home = tmp_path_factory.mktemp("beacon-security") / "home"
    home.mkdir()
    s = Suite(home=home, http_port=free_port(), https_port=free_port(),
              env={"SHOAL_BEACON_NETWORKS": NETWORKS, "SHOAL_AGENT_IDLE_SECONDS": str(IDLE)}).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def agents(tmp_path_factory, suite):
    """real: the operator's; evil: eve's own agent; victim: not registered
    yet; gone: killed later."""
    base = tmp_path_factory.mktemp("security-agents")
    started = {name: Agent(base / name).spawn() for name in ("real", "evil", "victim", "gone")}
    try:
        for agent in started.values():
            agent.wait_ready()
        yield started
    finally:
        for agent in started.values():
            agent.stop()


class FakeBeacon(plan_pb2_grpc.PlanServicer):
    """A beacon of eve's making: any token, any instances it likes."""

    def __init__(self, instances: list[tuple[str, str]]):
        self.instances = instances

    def ListAgentInstances(self, request, context):
        return plan_pb2.ListAgentInstancesResponse(instances=[
            plan_pb2.AgentInstance(name=name, address=address, version="v1", can_access=True)
            for name, address in self.instances
        ])


@pytest.fixture(scope="module")
def fake_beacon(agents):
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    servicer = FakeBeacon([])
    plan_pb2_grpc.add_PlanServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    servicer.address = f"127.0.0.1:{port}"
    servicer.instances = [("fake", servicer.address), ("db", agents["victim"].address)]
    yield servicer
    server.stop(None)


@pytest.fixture(scope="module")
def eve(suite):
    for email in ("eve@corp", "bob@corp"):
        assert suite.unix("POST", "/api/v0.2/users/create", {"Email": email, "Password": "pw"}).status == 200
    return suite.lighthouse_session("eve@corp", "pw")


class Listener:
    """A loopback TCP port that accepts connections and counts them; it
    answers HTTP/1.1 (`http`) or never says a word."""

    def __init__(self, port: int = 0, http: bool = True):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.http = http
        self.accepted: list[float] = []
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(time.monotonic())
            if self.http:
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                conn.close()
            else:
                self.held.append(conn)  # read nothing, say nothing

    def close(self):
        self.sock.close()
        for conn in self.held:
            conn.close()


def create(suite, address, alias, token="t", headers=None):
    body = {"Address": address, "Token": token, "Alias": alias}
    if headers is None:
        return suite.unix("POST", "/api/v0.2/beacons/create", body)
    return suite.https("POST", "/api/v0.2/beacons/create", body, headers)


def not_allowed(address: str) -> dict:
    return {"Cause": "beacons", "Message": f"beacons: not enough or invalid parameters given: address {address} "
                                           "is not in a network beacons may use"}


def poll_refused(address: str) -> dict:
    return {"Cause": "beacons", "Message": f"beacons: beacon {address} did not answer as a beacon with this token"}


# -- addresses -------------------------------------------------------------------


def test_beacon_addresses_outside_the_networks_are_refused_before_any_dial(suite, agents, eve):
    refused = [
        "169.254.169.254:80",            # cloud metadata (its network is even configured)
        "169.254.0.1:7000",              # link-local
        "[fe80::1]:7000",
        "[::ffff:169.254.169.254]:80",   # metadata inside an IPv4-mapped address
        "0.0.0.0:7000",                  # reaches this machine
        "unix:7000",                     # gRPC would take these as socket paths
        "unix-abstract:7000",
        f"127.0.0.1:{suite.http_port}",  # the gateway's own listeners
        f"127.0.0.1:{suite.https_port}",
        f"[::1]:{agents['real'].port}",  # IPv6 loopback: not in the configured networks
    ]
    for address in refused:
        for headers in (None, eve):
            answer = create(suite, address, "x", headers=headers)
            assert (answer.status, answer.json()) == (400, not_allowed(address)), address
    for path in ("unix:/run/shoal/plan.sock", "unix-abstract:/shoal"):
        answer = create(suite, path, "x", headers=eve)
        assert answer.status == 400 and "must be host:port" in answer.json()["Message"]
    assert suite.unix("GET", "/api/v0.2/beacons/list").json() == []


# -- aliases -----------------------------------------------------------------------


def test_an_alias_a_later_beacons_instance_would_get_cannot_be_squatted(suite, agents, eve):
    evil, real = agents["evil"], agents["real"]
    assert create(suite, evil.address, "eve", evil.token, eve).status == 200
    [mine] = suite.https("GET", "/api/v0.2/beacons/list/eve", headers=eve).json()
    squat = f"prod.{mine['Name']}"  # what the operator's "prod" beacon's instance will be called
    for path, body in ((f"/api/v0.2/aliases/{squat}", evil.address), (f"/api/v0.2/aliases/{evil.address}", squat)):
        answer = suite.https("PUT", path, json.dumps(body), {**eve, **JSON})
        assert answer.status == 409, answer.body
        assert answer.json()["Message"].startswith(f'aliases: alias "{squat}" is reserved')
    taken = create(suite, "127.0.0.1:1", "eve")
    assert taken.status == 409 and "already in use" in taken.json()["Message"]

    # The operator registers "prod": its instance gets the name, and the
    # operator's requests and deployments reach the operator's agent.
    marker = "summary: real\nservices:\n  marker:\n    override: replace\n    command: sleep 1000\n"
    real.call("AddLayer", plan_pb2.AddLayerRequest(action="add", label="marker", format="yaml", layer=marker))
    assert create(suite, real.address, "prod", real.token).status == 200
    [instance] = suite.unix("GET", "/api/v0.2/beacons/list/prod").json()
    assert (instance["Alias"], instance["InstanceAddress"]) == (squat, real.address)
    services = suite.unix("GET", f"/api/v0.2/d/{squat}/v1/services").json()["result"]
    assert [s["name"] for s in services] == ["marker"]
    app = {"Name": "secrets", "Command": {"command": "sleep 1000", "environment": {"TOKEN": "s3cret"}},
           "Instances": [squat]}
    assert suite.unix("POST", "/api/v0.2/applications/create", app).status == 200
    [listed] = suite.unix("GET", "/api/v0.2/applications/list").json()
    assert listed["Instances"] == [real.address]
    # Eve's requests never resolve the operator's alias to anything.
    answer = suite.https("GET", f"/api/v0.2/d/{squat}/v1/services", headers=eve)
    assert (answer.status, answer.json()["Message"]) == (404, f"beacons: unknown instance {squat}")


# -- instance addresses ------------------------------------------------------------


def test_an_instance_address_of_another_beacon_is_a_conflict_until_its_beacon_is_deleted(suite, agents, eve,
                                                                                        fake_beacon):
    victim = agents["victim"]
    assert create(suite, fake_beacon.address, "fake", "any", eve).status == 200
    squatted = suite.https("GET", "/api/v0.2/beacons/list/fake", headers=eve).json()
    assert victim.address in [i["InstanceAddress"] for i in squatted]
    answer = create(suite, victim.address, "victim", victim.token)
    assert (answer.status, answer.json()) == (409, {
        "Cause": "beacons",
        "Message": f"beacons: instance address {victim.address} already belongs to beacon {fake_beacon.address}"})

    # Bob, given access to eve's beacon (by the operator: eve may not see bob, a user
    # of her own level), may not delete it; eve may not delete the operator's.
    refused = suite.https("PUT", "/api/v0.2/beacons/user/fake/bob@corp", headers=eve)
    assert (refused.status, refused.json()["Cause"]) == (404, "users")
    assert suite.unix("PUT", "/api/v0.2/beacons/user/fake/bob@corp").status == 200
    bob = suite.lighthouse_session("bob@corp", "pw")
    assert suite.https("DELETE", "/api/v0.2/beacons/fake", headers=bob).status == 403
    assert suite.https("DELETE", "/api/v0.2/beacons/prod", headers=eve).status == 400
    # The operator deletes it, and that is in the signed audit log.
    assert (suite.unix("DELETE", "/api/v0.2/beacons/fake").status) == 200
    [event] = suite.unix("GET", "/api/audit?event=beacon_deleted").json()["events"]
    assert (event["user"], event["path"], event["success"]) == ("uid:0", "/api/v0.2/beacons/fake", True)
    assert event["details"] == f"beacon {fake_beacon.address} (fake) with 2 instance(s)"
    assert suite.unix("GET", f"/api/audit/{event['id']}/verify").json()["verified"] is True
    assert suite.https("GET", "/api/v0.2/beacons/list/fake", headers=eve).json() == []
    # Its levels went with it: a new beacon at the same address, under the same
    # alias, is the operator's alone, not its old owner's nor the user she was given.
    for email in ("eve@corp", "bob@corp"):
        held = suite.unix("GET", f"/api/v0.2/users/{email}").json()["Permissions"]["Beacons"]
        assert fake_beacon.address not in held, (email, held)
    assert create(suite, fake_beacon.address, "fake", "any").status == 200
    for who in (eve, bob):
        listed = suite.https("GET", "/api/v0.2/beacons/list", headers=who).json()
        assert fake_beacon.address not in [b["Address"] for b in listed], listed
        assert suite.https("GET", "/api/v0.2/beacons/list/fake", headers=who).json() == []
        assert suite.https("DELETE", "/api/v0.2/beacons/fake", headers=who).status == 400
    assert suite.unix("DELETE", "/api/v0.2/beacons/fake").status == 200

    assert create(suite, victim.address, "victim", victim.token).status == 200
    [instance] = suite.unix("GET", "/api/v0.2/beacons/list/victim?refresh=true").json()
    assert instance["InstanceAddress"] == victim.address and instance["CanAccess"] is True
    # An owner deletes its own beacon.
    assert suite.https("DELETE", "/api/v0.2/beacons/eve", headers=eve).status == 200
    assert suite.https("GET", "/api/v0.2/beacons/list", headers=eve).json() == []


def test_a_beacons_owner_is_demoted_or_removed_only_by_another_owner_or_the_operator(suite, agents, eve):
    mine = agents["evil"]  # free again: eve deleted her beacon
    bob = suite.lighthouse_session("bob@corp", "pw")
    assert create(suite, mine.address, "bobs", mine.token, bob).status == 200  # bob owns what he creates
    assert suite.unix("POST", "/api/v0.2/users/create", {"Email": "mallory@corp", "Password": "pw"}).status == 200
    assert suite.unix("PUT", "/api/v0.2/users/mallory@corp", {"AuthLevel": 5, "Beacons": {mine.address: 1}}
                      ).status == 200
    mallory = suite.lighthouse_session("mallory@corp", "pw")  # modify on it, and above bob's AuthLevel

    def bobs_levels():
        return suite.unix("GET", "/api/v0.2/users/bob@corp").json()["Permissions"]["Beacons"]

    for level in (1, 0, -1):
        refused = suite.https("PUT", "/api/v0.2/users/bob@corp", {"Beacons": {mine.address: level}}, mallory)
        assert refused.status == 403, (level, refused.body)
    assert suite.https("PUT", "/api/v0.2/beacons/user/bobs/bob@corp", headers=mallory).status == 200
    assert bobs_levels() == {mine.address: 2}  # a level held already is kept
    assert suite.https("DELETE", "/api/v0.2/beacons/bobs", headers=mallory).status == 403
    assert suite.https("DELETE", "/api/v0.2/beacons/bobs", headers=bob).status == 200
    assert bobs_levels() == {}


# -- the instance proxy ------------------------------------------------------------


def test_the_proxy_to_a_port_where_no_agent_answers_neither_storms_nor_floods_the_log(suite, agents):
    gone = agents["gone"]
    assert create(suite, gone.address, "gone", gone.token).status == 200
    [instance] = suite.unix("GET", "/api/v0.2/beacons/list/gone").json()
    host = instance["Alias"]
    gone.kill()
    http = Listener(gone.port)  # an HTTP server where the agent was
    try:
        for _ in range(20):
            answer = suite.unix("GET", f"/api/v0.2/d/{host}/v1/services")
            assert answer.status == 502
            assert answer.json()["result"]["message"] == f"plan service unavailable: instance {host} unreachable"
        # Bounded poll: until no connection came for twice the idle time (the
        # old channels reconnected every 2 s for ever, and afresh per request).
        wait_for(lambda: http.accepted and time.monotonic() - http.accepted[-1] > 2 * IDLE, timeout=40, every=0.2)
        assert len(http.accepted) <= 8
    finally:
        http.close()
    log = (suite.home.parent / f"{suite.home.name}.log").read_text()
    failures = [line for line in log.splitlines() if f"agent ipv4:127.0.0.1:{gone.port}:" in line]
    assert len(failures) == 1 and "UNAVAILABLE" in failures[0], failures
    assert "Traceback" not in log


# -- polls as a port scanner -------------------------------------------------------


def test_a_failed_poll_says_the_same_whatever_answered_and_gives_up_soon(suite, agents, eve):
    closed = f"127.0.0.1:{free_port()}"
    silent, http = Listener(http=False), Listener(http=True)
    try:
        for address, token in ((closed, "t"), (silent.address, "t"), (http.address, "t"),
                               (agents["evil"].address, "wrong")):
            started = time.monotonic()
            answer = create(suite, address, f"scan{len(address)}", token, eve)
            assert (answer.status, answer.json()) == (500, poll_refused(address))
            assert time.monotonic() - started < 10  # the poll's own deadline is 3 s
        assert silent.accepted and http.accepted  # they were dialled (loopback ports, as the caller asked)
    finally:
        silent.close()
        http.close()


def test_a_callers_failed_polls_are_rate_limited_before_any_dial(suite, eve):
    closed = f"127.0.0.1:{free_port()}"
    answer = create(suite, closed, "scan", "t", eve)  # the fifth failure in a row
    assert answer.status == 500
    silent = Listener(http=False)
    try:
        answer = create(suite, silent.address, "scan", "t", eve)
        assert answer.status == 429
        assert answer.json()["Cause"] == "beacons"
        assert answer.json()["Message"].startswith("beacons: too many failed beacon polls; try again in")
        assert silent.accepted == []  # refused before dialling
    finally:
        silent.close()
    # Another caller is not limited by eve's failures.
    assert create(suite, closed, "scan", "t").status == 500
