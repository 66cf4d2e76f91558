"""The plan's layers over time: read from `$SHOAL_HOME/layers` at start,
added or combined through the API (Pebble's planstate rules, spec §3.6),
and — unlike Pebble, which forgets API layers on restart — persisted to a
JSON file written atomically, so the plan survives a restart of the service.

A layer file or the saved layers that cannot be read stop the start with a
StartupError naming the file (one line, no restart loop).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

from services.common.errors import DomainError, Failure, StartupError
from services.plan.plan.dump import layer_to_yaml
from services.plan.plan.errors import LayerError, PlanError
from services.plan.plan.merge import build_plan, combine_layers
from services.plan.plan.model import Layer, Plan
from services.plan.plan.parse import parse_layer

_NAME = re.compile(r"^([0-9]{3})-([a-z](?:-?[a-z0-9]){2,})(\.yaml|\.d)$")


class LayerRequestError(DomainError):
    """An add-layer request refused: invalid, or (as Pebble) an internal error."""


class LayersDirError(StartupError):
    """The layers directory holds something Pebble would refuse to start with."""


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def _entries(directory: Path) -> list[tuple[int, str, Path]]:
    out = []
    seen_orders: dict[int, str] = {}
    seen_labels: set[str] = set()
    for path in sorted(directory.iterdir()):
        match = _NAME.match(path.name)
        if not match:
            continue
        if match.group(3) == ".d" and not path.is_dir():
            continue
        if match.group(3) == ".yaml" and not path.is_file():
            continue
        order, label = int(match.group(1)), match.group(2)
        if order in seen_orders:
            raise LayersDirError(
                f'invalid layer filename: "{path.name}" (order {match.group(1)} already used by "{seen_orders[order]}")'
            )
        if label in seen_labels:
            raise LayersDirError(f'invalid layer filename: "{path.name}" (label "{label}" duplicated)')
        seen_orders[order] = path.name
        seen_labels.add(label)
        out.append((order, label, path))
    return out


def read_layers_dir(directory: Path) -> list[Layer]:
    """Layers from `NNN-label.yaml` files and one level of `NNN-label.d/`."""
    if not directory.is_dir():
        return []
    layers = []
    for order, label, path in _entries(directory):
        if path.is_dir():
            for sub_order, sub_label, sub_path in _entries(path):
                if sub_path.is_dir():
                    continue
                layers.append(_read(order * 1000 + sub_order, f"{label}/{sub_label}", sub_path))
        else:
            layers.append(_read(order * 1000, label, path))
    return layers


def _read(order: int, label: str, path: Path) -> Layer:
    try:
        text = path.read_bytes()
    except OSError as error:
        raise LayersDirError(f"cannot read layer file {path}: {error.strerror or error}") from None
    try:
        return parse_layer(order, label, text)
    except LayerError as error:
        raise LayersDirError(f"cannot load layer file {path}: {_one_line(error.message)}") from None


class PlanState:
    def __init__(self, layers_dir: Path, state_file: Path):
        self.layers_dir = layers_dir
        self.state_file = state_file
        self._plan = Plan()
        self._api_labels: set[str] = set()
        self.load()

    @property
    def plan(self) -> Plan:
        return self._plan

    def load(self) -> None:
        layers = read_layers_dir(self.layers_dir)
        for saved in self._saved():
            try:
                layer = parse_layer(saved["order"], saved["label"], saved["yaml"])
            except LayerError as error:
                raise self._damaged(_one_line(error.message)) from None
            self._api_labels.add(layer.label)
            index = next((i for i, old in enumerate(layers) if old.label == layer.label), None)
            if index is None:
                layers.append(layer)
            else:
                layers[index] = layer
        layers.sort(key=lambda layer: layer.order)
        try:
            self._plan = build_plan(layers)
        except PlanError as error:
            where = f"the layers in {self.layers_dir}" + (f" and {self.state_file}" if self._api_labels else "")
            raise LayersDirError(f"cannot combine {where}: {_one_line(error.message)}") from None

    def _damaged(self, why: str) -> StartupError:
        return StartupError(f"cannot load the layers saved in {self.state_file}: {why} (repair the file, or move "
                            "it aside to start without the layers added through the API)")

    def _saved(self) -> list[dict]:
        """The saved API layers: {"layers": [{"order": int, "label": str, "yaml": str}]}."""
        try:
            text = self.state_file.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as error:
            raise self._damaged(error.strerror or str(error)) from None
        try:
            saved = json.loads(text)
        except (ValueError, RecursionError) as error:
            raise self._damaged(f"not valid JSON ({error})") from None
        layers = saved.get("layers") if isinstance(saved, dict) else None
        if not isinstance(layers, list) or not all(
            isinstance(item, dict) and type(item.get("order")) is int and isinstance(item.get("label"), str)
            and isinstance(item.get("yaml"), str) for item in layers
        ):
            raise self._damaged('not a list of layers ({"layers": [{"order", "label", "yaml"}]})')
        return layers

    def _persist(self) -> None:
        saved = [
            {"order": layer.order, "label": layer.label, "yaml": layer_to_yaml(layer)}
            for layer in self._plan.layers
            if layer.label in self._api_labels
        ]
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.state_file.parent, prefix=".plan-layers.")
        try:
            with os.fdopen(fd, "w") as out:
                json.dump({"layers": saved}, out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.state_file)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def add_layer(self, label: str, text: str, combine: bool, inner: bool = False) -> Layer:
        """Append (or, with `combine`, merge into) the layer `label`."""
        try:
            layer = parse_layer(0, label, text)
        except LayerError as error:
            raise LayerRequestError(f"cannot parse layer YAML: {error.message}") from None
        layers = list(self._plan.layers)
        index = next((i for i, old in enumerate(layers) if old.label == label), None)
        try:
            if index is not None:
                if not combine:
                    raise LayerRequestError(f'layer "{label}" already exists')
                found = layers[index]
                merged = combine_layers([found, layer])
                merged.order, merged.label = found.order, found.label
                layers[index] = merged
                layer = merged
            else:
                position, layer.order = self._append_position(layers, label)
                if position != len(layers) and not inner:
                    raise LayerRequestError(
                        "cannot insert sub-directory layer without 'inner' attribute set", Failure.INTERNAL
                    )
                layers.insert(position, layer)
            plan = build_plan(layers)
        except PlanError as error:
            raise LayerRequestError(error.message) from None
        self._plan = plan
        self._api_labels.add(label)
        self._persist()
        return layer

    @staticmethod
    def _append_position(layers: list[Layer], label: str) -> tuple[int, int]:
        if not layers:
            return 0, 1000
        directory, has_sub = label.partition("/")[0], "/" in label
        for i in range(len(layers) - 1, -1, -1):
            if layers[i].label.partition("/")[0] == directory:
                return i + 1, layers[i].order + 1
        order = (layers[-1].order // 1000 + 1) * 1000
        return len(layers), order + (1 if has_sub else 0)
