"""Fan-out of one step and the STREAM lines it produces."""

import asyncio

from google.protobuf import json_format

from services.application import stream
from services.application.fanout import Step, failures, run_step, succeeded

FIELDS = {"Status", "Method", "Endpoint", "Message", "Code", "Instance", "Item", "Total"}


def lines(events):
    return [json_format.MessageToDict(e, always_print_fields_with_no_presence=True) for e in events]


async def test_lines_come_as_each_instance_answers_with_its_own_index():
    release = {name: asyncio.Event() for name in ("a", "b", "c")}

    async def action(instance):
        await release[instance].wait()
        if instance == "b":
            return stream.failed(instance, "instance b unreachable: connection refused", 502)
        return stream.ok(instance, "layer added")

    events = []
    task = asyncio.create_task(run_step(Step("Pushing", "POST", "/v1/layers", action), ["a", "b", "c"], events.append))
    for name in ("c", "b", "a"):  # answers in reverse order
        await asyncio.sleep(0.01)
        release[name].set()
    outcomes = await task
    out = lines(events)
    assert all(set(line) == FIELDS for line in out)
    assert out[0] == {"Status": "Starting", "Method": "POST", "Endpoint": "/v1/layers", "Message": "Pushing",
                      "Code": 0, "Instance": "", "Item": 0, "Total": 3}
    assert [(x["Instance"], x["Item"], x["Status"], x["Code"]) for x in out[1:4]] == [
        ("c", 2, "OK", 200), ("b", 1, "Error", 502), ("a", 0, "OK", 200)]
    assert out[2]["Message"] == "instance b unreachable: connection refused"
    assert out[4]["Status"] == "Complete" and out[4]["Item"] == 3 and out[4]["Total"] == 3
    assert succeeded(outcomes) == ["a", "c"] and failures(outcomes) == ["b"]


async def test_an_unexpected_error_fails_only_its_instance():
    async def action(instance):
        if instance == "x":
            raise RuntimeError("boom")
        return stream.ok(instance, "fine")

    events = []
    outcomes = await run_step(Step("S", "POST", "/v1/services", action), ["x", "y"], events.append)
    assert [o.status for o in outcomes] == ["Error", "OK"]
    assert outcomes[0].message == "RuntimeError: boom" and outcomes[0].code == 500


def test_ok_messages_are_clipped_at_80_bytes_and_finalized_is_all_zero():
    event = stream.answered(stream.ok("a", "x" * 100), "POST", "/v1/layers", 0, 1)
    assert event.message == "x" * 80 + "..."
    assert lines([stream.finalized()]) == [
        {"Status": "Finalized", "Method": "", "Endpoint": "", "Message": "", "Code": 0, "Instance": "",
         "Item": 0, "Total": 0}]
