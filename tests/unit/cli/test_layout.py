"""Tables, wrapped errors and YAML as Pebble's CLI lays them out."""

from __future__ import annotations

import pytest

from shoal.cli import goyaml, tabwriter, wrap
from shoal.cli.commands.files import format_amount, mode_string, parse_glob
from shoal.cli.commands.notices import format_seconds


def test_columns_are_the_widest_cell_plus_two_at_least_five():
    assert tabwriter.table([("ID", "Status", "Summary"), ("1", "Done", "Start service \"a\""),
                            ("10", "Error", "x")]) == (
        "ID   Status  Summary\n"
        "1    Done    Start service \"a\"\n"
        "10   Error   x\n")


def test_the_last_cell_is_never_padded_and_runs_of_lines_align_separately():
    text = "first-occurrence:\tnow\nlast:\tthen\nwarning: |\n  wrapped text\nkey:\tv\n"
    assert tabwriter.layout(text) == (
        "first-occurrence:  now\n"
        "last:              then\n"
        "warning: |\n"
        "  wrapped text\n"
        "key:  v\n")


def test_services_table_as_pebble_prints_it():
    # Pebble v1.32.1, `pebble services` (tests/replay/expected/cli-services-and-plan.json)
    assert tabwriter.table([("Service", "Startup", "Current", "Since"), ("cli-web", "enabled", "inactive", "-"),
                            ("cli-worker", "disabled", "inactive", "-")]) == (
        "Service     Startup   Current   Since\n"
        "cli-web     enabled   inactive  -\n"
        "cli-worker  disabled  inactive  -\n")


@pytest.mark.parametrize(("message", "wrapped"), [
    ("short", "short"),
    ("stat /tmp/replay-abcdefgh/cli-files/tmp/missing.txt: no such file or directory",
     "stat /tmp/replay-abcdefgh/cli-files/tmp/missing.txt: no such file or\n       directory"),
    ("a " * 40 + "end.", "\n       ".join([" ".join(["a"] * 36), " ".join(["a"] * 4) + " end."])),
])
def test_daemon_errors_wrap_under_the_message(message, wrapped):
    assert wrap.fill(message, 7, width=80) == wrapped


def test_wrapping_prefers_punctuation_and_keeps_indented_lines():
    lines = wrap.wrap_words(["aaaa", "bbbb,", "cccc", "dddd"], 12)
    assert [" ".join(line) for line in lines] == ["aaaa bbbb,", "cccc dddd"]
    assert wrap.fill("one\n    indented\ntwo", 7, width=80) == "one\n\n           indented\n\n       two"


def test_yaml_as_go_yaml_v3_writes_it():
    value = {"changes": [{"id": "1", "tasks": [{"id": "2", "progress": {"label": "", "done": 1}}],
                          "spawn-time": "2026-12-01T10:33:15.44485727Z", "ready": False}],
             "logs": "one\ntwo\n", "user-id": None, "empty": [], "key": "a: b"}
    assert goyaml.dump(value) == (
        "changes:\n"
        "    - id: \"1\"\n"
        "      tasks:\n"
        "        - id: \"2\"\n"
        "          progress:\n"
        "            label: \"\"\n"
        "            done: 1\n"
        "      spawn-time: 2026-12-01T10:33:15.44485727Z\n"
        "      ready: false\n"
        "logs: |\n"
        "    one\n"
        "    two\n"
        "user-id: null\n"
        "empty: []\n"
        "key: \"a: b\"\n")


@pytest.mark.parametrize(("kind", "permissions", "text"), [
    ("file", "644", "-rw-r--r--"), ("directory", "755", "drwxr-xr-x"), ("symlink", "777", "Lrwxrwxrwx"),
    ("socket", "666", "Srw-rw-rw-"), ("named-pipe", "600", "prw-------"), ("device", "660", "Drw-rw----"),
    ("unknown", "000", "?---------"),
])
def test_modes_as_go_prints_them(kind, permissions, text):
    assert mode_string(kind, permissions) == text


@pytest.mark.parametrize(("size", "text"), [(0, "    0"), (4096, " 4096"), (5000, " 5000"), (5001, "5.00k"),
                                            (32768, "32.8k"), (123456789, " 123M"), (1500000, "1.50M")])
def test_sizes_as_ls_l_prints_them(size, text):
    assert format_amount(size) == text


@pytest.mark.parametrize(("path", "split"), [
    ("/tmp/dir", ("/tmp/dir", "")), ("/tmp/dir/", ("/tmp/dir/", "")), ("/tmp/*.txt", ("/tmp/", "*.txt")),
    ("/a/b?", ("/a/", "b?")),
])
def test_globs_on_the_last_element(path, split):
    assert parse_glob(path) == split


@pytest.mark.parametrize(("seconds", "text"), [(0.5, "500ms"), (5, "5.00s"), (30, "30.0s"), (90, "1m30s"),
                                               (3600, "60.0m"), (7200, "2h00m"), (604800, "7d00h")])
def test_durations_as_warnings_verbose_prints_them(seconds, text):
    assert format_seconds(seconds) == text


def test_go_maps_are_written_sorted_and_structs_in_field_order():
    notice = {"id": "2", "type": "custom", "last-data": {"size": "big", "colour": "blue"}}
    assert goyaml.dump(notice) == 'id: "2"\ntype: custom\nlast-data:\n    colour: blue\n    size: big\n'
    assert list(goyaml.sort_maps({"services": {"b": {}, "a": {}}})["services"]) == ["a", "b"]
