"""Logging for every Shoal process, the `shoal run` supervisor included:
text lines, or one JSON object per line carrying the request id being
served. Kept apart from telemetry.py so that it needs no gRPC or
prometheus-client (the supervisor loads neither)."""

from __future__ import annotations

import contextvars
import logging
import sys
from datetime import UTC, datetime

import orjson

from services.common.config import LOG_FORMATS

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("shoal_request_id", default="")

_state = {"json": False, "tracing": False, "process": ""}


def request_ids_on() -> bool:
    """Whether this process tags what it logs with request ids (JSON logs)."""
    return _state["json"]


# -- logs --------------------------------------------------------------------------------
_RESERVED = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JSONFormatter(logging.Formatter):
    """One JSON object per record: time, level, process, logger, message, the
    request id being served, the trace and span when tracing, the exception,
    and whatever `extra=` fields the call gave."""

    def __init__(self, process: str):
        super().__init__()
        self.process = process

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace(
                "+00:00", "Z"),
            "level": record.levelname,
            "process": self.process,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = REQUEST_ID.get()
        if request_id:
            entry["request_id"] = request_id
        if _state["tracing"]:
            from opentelemetry import trace

            span = trace.get_current_span().get_span_context()
            if span.is_valid:
                entry["trace_id"] = format(span.trace_id, "032x")
                entry["span_id"] = format(span.span_id, "016x")
        for key, value in record.__dict__.items():
            if key not in _RESERVED and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def setup_logging(process: str, level: str = "INFO", log_format: str = "text") -> None:
    """The process's logging: text lines as before, or JSON objects (request ids on)."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f'log format "{log_format}" is not one of {", ".join(LOG_FORMATS)}')
    _state["process"] = process
    _state["json"] = log_format == "json"
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JSONFormatter(process))
    else:
        handler.setFormatter(logging.Formatter(f"%(asctime)s %(levelname)s {process} %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
