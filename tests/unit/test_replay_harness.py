"""The replay harness's own rules (tests/replay): what the normaliser hides
and what it keeps, and that every sequence has a recording that matches it."""

from __future__ import annotations

from tests.replay import deliberate, harness
from tests.replay.normalise import normalise
from tests.replay.runner import label
from tests.replay.sequence import load


def change(id_, status="Done", tasks=None):
    out = {"id": id_, "kind": "start", "summary": "s", "status": status, "ready": True,
           "spawn-time": "2026-01-01T10:00:00.123456789Z"}
    if tasks is not None:
        out["tasks"] = tasks
    return out


def entry(body, step="GET /v1/changes"):
    return {"step": step, "status": 200, "type": "application/json", "body": body}


def test_ids_are_renumbered_by_first_appearance_in_answers_and_messages():
    entries = [
        entry({"type": "async", "change": "41", "result": None}, "POST /v1/services"),
        entry({"type": "sync", "result": change("41", tasks=[{"id": "97", "kind": "start"}])}),
        entry({"type": "error", "result": {"message": 'cannot find change with id "41"'}}),
        entry({"type": "error", "result": {"message": "cannot abort change 41 with nothing pending"}}),
        entry({"type": "error", "result": {"message": 'cannot find change with id "999"'}}),
    ]
    out = normalise(entries, {})
    assert out[0]["body"]["change"] == "<change-1>"
    assert out[1]["body"]["result"]["id"] == "<change-1>"
    assert out[1]["body"]["result"]["tasks"][0]["id"] == "<task-1>"
    assert out[2]["body"]["result"]["message"] == 'cannot find change with id "<change-1>"'
    assert out[3]["body"]["result"]["message"] == "cannot abort change <change-1> with nothing pending"
    assert out[4]["body"]["result"]["message"] == 'cannot find change with id "999"'  # never a real id


def test_a_change_list_is_sorted_by_id_before_numbering():
    out = normalise([entry({"result": [change("12"), change("3")]})], {})
    assert [c["id"] for c in out[0]["body"]["result"]] == ["<change-1>", "<change-2>"]
    assert normalise([entry({"result": [change("3"), change("12")]})], {}) == out


def test_notice_ids_and_change_update_keys():
    notice = {"id": "7", "type": "change-update", "key": "41", "occurrences": 3, "user-id": None,
              "first-occurred": "2026-01-01T10:00:00.1Z", "last-occurred": "2026-01-01T10:00:01.5Z",
              "last-repeated": "2026-01-01T10:00:01.5Z"}
    out = normalise([entry({"result": {"id": "7"}}, "POST /v1/notices"), entry({"result": [notice]})], {})
    assert out[0]["body"]["result"] == {"id": "<notice-1>"}
    listed = out[1]["body"]["result"][0]
    assert (listed["id"], listed["key"], listed["user-id"]) == ("<notice-1>", "<change-1>", None)
    # equal times say so: "last-repeated did not move" stays visible
    assert listed["first-occurred"] == "<time>"
    assert listed["last-occurred"] == "<time>"
    assert listed["last-repeated"] == "<time=last-occurred>"


def test_times_paths_and_temporaries_are_replaced_everything_else_kept():
    body = {"result": {"message": "open /tmp/r/x/f.txt.123456~: no such file or directory",
                       "log": ["2026-01-01T10:00:00Z INFO Most recent service output:"],
                       "since": "2026-01-01T10:00:00+02:00", "layout": "2006-01-02T15:04:05Z07:00"}}
    out = normalise([entry(body)], {"/tmp/r/x": "<tmp>"})[0]["body"]["result"]
    assert out["message"] == "open <tmp>/f.txt.<random>~: no such file or directory"
    assert out["log"] == ["<time-s> INFO Most recent service output:"]
    assert out["since"] == "<time-s+02:00>"  # not Pebble's form: stays visible
    assert out["layout"] == "2006-01-02T15:04:05Z07:00"  # Go's layout in a message is not a time


def test_exec_environment_keeps_what_pebble_sets_and_what_the_request_set():
    result = {"task-id": "5", "working-dir": "/root", "environment": {
        "PATH": "/usr/bin", "HOME": "/root", "LANG": "C.UTF-8", "USER": "root", "X_FROM_REQUEST": "1",
        "SHOAL_SECRET": "s", "PEBBLE_SOCKET": "/x", "REPLAY_DAEMON": "m"}}
    out = normalise([entry({"result": result}, "POST /v1/exec")], {})[0]["body"]["result"]
    assert out["environment"] == {"PATH": "/usr/bin", "HOME": "/root", "LANG": "C.UTF-8", "USER": "root",
                                  "X_FROM_REQUEST": "1"}
    assert out["task-id"] == "<task-1>"


def test_every_sequence_has_a_recording_of_the_same_steps():
    """A sequence edited without recording it again is caught here, without Pebble."""
    for seq in load():
        recorded = harness.read_recording(seq.name)
        assert recorded is not None, f"{seq.name}: no recording; run python -m tests.replay.record {seq.name}"
        assert [answer["step"] for answer in recorded] == [label(step) for step in seq.all_steps()], seq.name


def test_each_deliberate_difference_names_a_recorded_step_and_says_why():
    """The list of steps Shoal answers differently on purpose cannot rot: each
    names an existing sequence's step by number and label, changes its
    answer, and gives a reason."""
    sequences = {seq.name: seq for seq in load()}
    for entry in deliberate.DELIBERATE:
        assert entry.sequence in sequences, entry
        steps = sequences[entry.sequence].all_steps()
        assert 1 <= entry.step <= len(steps) and label(steps[entry.step - 1]) == entry.label, entry
        assert len(entry.reason) > 40, entry
        recorded = harness.read_recording(entry.sequence)
        assert deliberate.apply(entry.sequence, recorded)[entry.step - 1] != recorded[entry.step - 1], entry
