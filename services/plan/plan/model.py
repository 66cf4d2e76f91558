"""The plan's data model: what a layer and the combined plan hold.

Plain dataclasses, no I/O. `parse` reads YAML into these, `merge` combines
them and `validate` checks the result; the supervisor and the checks manager
read them.

Field names are the YAML keys in snake_case. `None` (or an empty container)
means "not set in this layer" so that merging can tell unset from set.
Durations are floats in seconds; services/common/durations.py parses and
formats them in Go's syntax, which is what Pebble's API and plan YAML use.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Defaults Pebble applies when a field is unset (not shown in the plan YAML).
DEFAULT_BACKOFF_DELAY = 0.5
DEFAULT_BACKOFF_FACTOR = 2.0
DEFAULT_BACKOFF_LIMIT = 30.0
DEFAULT_KILL_DELAY = 5.0
DEFAULT_CHECK_PERIOD = 10.0
DEFAULT_CHECK_TIMEOUT = 3.0
DEFAULT_CHECK_THRESHOLD = 3
# Shoal's own service fields (opt-in; README "Supervision beyond Pebble").
DEFAULT_READY_TIMEOUT = 30.0
DEFAULT_RESTART_WINDOW = 60.0
ONE_SHOT = "one-shot"
LONG_RUNNING = "long-running"


@dataclass
class Service:
    name: str
    override: str = ""  # "merge" | "replace"
    summary: str = ""
    description: str = ""
    startup: str = ""  # "enabled" | "disabled" | "" (anything but enabled acts disabled)
    command: str = ""
    after: list[str] = field(default_factory=list)
    before: list[str] = field(default_factory=list)
    requires: list[str] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)
    user: str = ""
    user_id: int | None = None
    group: str = ""
    group_id: int | None = None
    working_dir: str = ""
    on_success: str = ""  # restart (default) | shutdown | failure-shutdown | ignore
    on_failure: str = ""  # restart (default) | shutdown | success-shutdown | ignore
    on_check_failure: dict[str, str] = field(default_factory=dict)
    backoff_delay: float | None = None
    backoff_factor: float | None = None
    backoff_limit: float | None = None
    kill_delay: float | None = None
    workload: str = ""
    # Shoal's own fields, unset in a Pebble layer:
    kind: str = ""  # "long-running" (the default) | "one-shot"
    ready_checks: list[str] = field(default_factory=list)  # dependents wait for these to pass
    ready_timeout: float | None = None  # how long dependents wait for this service
    restart_limit: int | None = None  # restarts allowed within restart-window (None: no limit)
    restart_window: float | None = None
    start_retries: int | None = None  # retries of a start whose process exits within the okay delay

    @property
    def enabled(self) -> bool:
        return self.startup == "enabled"

    @property
    def one_shot(self) -> bool:
        return self.kind == ONE_SHOT

    @property
    def gates_dependents(self) -> bool:
        """Whether a service that requires or comes after this one waits for it."""
        return self.one_shot or bool(self.ready_checks)

    def effective_ready_timeout(self) -> float:
        return DEFAULT_READY_TIMEOUT if self.ready_timeout is None else self.ready_timeout

    def effective_restart_window(self) -> float:
        return DEFAULT_RESTART_WINDOW if self.restart_window is None else self.restart_window

    def effective_backoff_delay(self) -> float:
        return DEFAULT_BACKOFF_DELAY if self.backoff_delay is None else self.backoff_delay

    def effective_backoff_factor(self) -> float:
        return DEFAULT_BACKOFF_FACTOR if self.backoff_factor is None else self.backoff_factor

    def effective_backoff_limit(self) -> float:
        return DEFAULT_BACKOFF_LIMIT if self.backoff_limit is None else self.backoff_limit

    def effective_kill_delay(self) -> float:
        return DEFAULT_KILL_DELAY if self.kill_delay is None else self.kill_delay


@dataclass
class HTTPCheck:
    url: str = ""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class TCPCheck:
    port: int | None = None
    host: str = ""


@dataclass
class ExecCheck:
    command: str = ""
    service_context: str = ""
    environment: dict[str, str] = field(default_factory=dict)
    user: str = ""
    user_id: int | None = None
    group: str = ""
    group_id: int | None = None
    working_dir: str = ""


@dataclass
class Check:
    name: str
    override: str = ""
    level: str = ""  # "alive" | "ready" | ""
    startup: str = ""  # "enabled" | "disabled" | "" (unset acts enabled)
    period: float | None = None
    timeout: float | None = None
    threshold: int | None = None
    http: HTTPCheck | None = None
    tcp: TCPCheck | None = None
    exec: ExecCheck | None = None

    @property
    def enabled(self) -> bool:
        return self.startup != "disabled"

    def effective_period(self) -> float:
        return DEFAULT_CHECK_PERIOD if self.period is None else self.period

    def effective_timeout(self) -> float:
        """Timeout, capped to the period as Pebble does."""
        timeout = DEFAULT_CHECK_TIMEOUT if self.timeout is None else self.timeout
        return min(timeout, self.effective_period())

    def effective_threshold(self) -> int:
        return self.threshold or DEFAULT_CHECK_THRESHOLD

    @property
    def kind(self) -> str:
        """"http", "tcp" or "exec" (the combined plan has exactly one)."""
        if self.http is not None:
            return "http"
        if self.tcp is not None:
            return "tcp"
        return "exec"


@dataclass
class LogTarget:
    name: str
    override: str = ""
    type: str = ""  # "loki" | "opentelemetry" | "syslog"
    location: str = ""
    services: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class Layer:
    order: int
    label: str
    summary: str = ""
    description: str = ""
    services: dict[str, Service] = field(default_factory=dict)
    checks: dict[str, Check] = field(default_factory=dict)
    log_targets: dict[str, LogTarget] = field(default_factory=dict)


@dataclass
class Plan:
    """The combined plan: every layer merged in order, then validated."""

    layers: list[Layer] = field(default_factory=list)
    services: dict[str, Service] = field(default_factory=dict)
    checks: dict[str, Check] = field(default_factory=dict)
    log_targets: dict[str, LogTarget] = field(default_factory=dict)
