"""The plan model, pure (Pebble's internals/plan): what layers and the
combined plan hold, and the rules over them — no I/O but user and group
lookups.

- `model`: the dataclasses (Service, Check, LogTarget, Layer, Plan).
- `parse`: a layer's YAML → `Layer` (`parse_layer`), or `LayerError`;
  `yaml_nodes` reads YAML nodes strictly, as Go's yaml does.
- `validate`: the rules for one layer and for the combined plan.
- `merge`: layers → one plan with the override rules (`build_plan`).
- `order`: start and stop order, as lanes.
- `dump`: the plan (or a layer) as the YAML `GET /v1/plan` shows.
- `commands`: a service command and its `[ default args ]`.
- `owners`: the user and group an exec check runs as (names and ids).
- `context`: a service context's settings under an exec's own (API exec and checks).
- `log_targets`: everything about the log-targets section.
- `errors`: `LayerError` and `PlanError`.
"""
