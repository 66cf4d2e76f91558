"""YAML as Pebble's CLI writes it (Go's yaml.v3): four-space indents,
sequences indented under their key, double quotes where a plain scalar
would be misread, literal blocks for multi-line text, no line folding, and
times written plain."""

from __future__ import annotations

import yaml

TIME_KEYS = {"spawn-time", "ready-time", "current-since", "first-occurred", "last-occurred", "last-repeated",
             "time", "last-modified"}


# Keys whose values are Go maps in Pebble's client types: Go writes a map's
# keys sorted (a struct's fields stay in their order).
MAP_KEYS = {"last-data", "data", "services", "checks", "identities", "environment", "labels"}


def sort_maps(value, key: str = ""):
    """`value` with the dicts that are Go maps in Pebble's types sorted by key."""
    if isinstance(value, dict):
        items = sorted(value.items()) if key in MAP_KEYS else value.items()
        return {k: sort_maps(v, k) for k, v in items}
    if isinstance(value, list):
        return [sort_maps(v) for v in value]
    return value


class Time(str):
    """A timestamp, written plain as yaml.v3 writes a time.Time."""


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False):
        # yaml.v3's rule: what starts a sequence item sits just after its
        # "- "; everything else moves to the next multiple of the indent.
        self.indents.append(self.indent)
        if self.indent is None:
            self.indent = self.best_indent if flow else 0
        elif self.states and self.states[-1] == self.expect_block_sequence_item:
            self.indent += 2
        else:
            self.indent = self.best_indent * ((self.indent + self.best_indent) // self.best_indent)

    def choose_scalar_style(self):
        style = super().choose_scalar_style()
        return '"' if style == "'" else style


def _str(dumper: yaml.SafeDumper, value: str):
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


def _time(dumper: yaml.SafeDumper, value: Time):
    return dumper.represent_scalar("tag:yaml.org,2002:timestamp", str(value))


_Dumper.add_representer(str, _str)
_Dumper.add_representer(Time, _time)


def mark_times(value):
    """`value` with the strings under time keys marked as times."""
    if isinstance(value, dict):
        return {k: Time(v) if k in TIME_KEYS and isinstance(v, str) and v else mark_times(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [mark_times(v) for v in value]
    return value


def dump(value) -> str:
    return yaml.dump(mark_times(sort_maps(value)), Dumper=_Dumper, indent=4, sort_keys=False, allow_unicode=True,
                     width=1 << 30, default_flow_style=False)
