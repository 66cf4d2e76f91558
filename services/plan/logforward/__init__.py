"""Log forwarding: services' output sent to the plan's `log-targets`, as
Pebble v1.32.1 forwards it (Loki, OpenTelemetry over OTLP/HTTP JSON, syslog).

- `targets`   the `log-targets` section: YAML fields, per-layer and plan
              validation (Pebble's messages), merging, `services` selection.
- `labels`    label values with `$VAR` / `${VAR}` from the service's environment.
- `entries`   what a target is sent: one service line, cut as Pebble's 4 KiB
              log parser cuts it.
- `cursor`    one target's place in one service's output buffer.
- `gatherer`  one target's batching loop (100 entries or 1 s), retries, stop.
- `manager`   the gatherers of the current plan, fed by the log store.
- `loki`, `opentelemetry`, `syslog`: one client per target type.

Nothing here imports the rest at package import, so `layers.py` can use
`targets` without pulling in aiohttp.
"""
