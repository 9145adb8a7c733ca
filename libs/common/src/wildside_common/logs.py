"""Structured JSON logs carrying trace_id, request_id and user_id where known.

`bind(request_id=..., user_id=...)` sets context for the current task; the trace id
is read from the active OpenTelemetry span, so a log line joins its trace.
"""

from __future__ import annotations

import contextvars
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
from opentelemetry import trace

_context: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "wildside_log_context", default=None
)
_RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


def current_trace_id() -> str | None:
    """The active span's trace id as 32 lowercase hex digits, or None."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x")


@contextmanager
def bind(**fields: str | None) -> Iterator[None]:
    """Add fields to every log line written inside the block (this task only)."""
    merged = dict(_context.get() or {})
    merged.update({key: value for key, value in fields.items() if value is not None})
    token = _context.set(merged)
    try:
        yield
    finally:
        _context.reset(token)


def bind_token(**fields: str | None) -> contextvars.Token[dict[str, str] | None]:
    """`bind` without the block: the fields stay until `unbind(token)` (for a middleware,
    which sets them on entry and drops them in its own `finally`)."""
    merged = dict(_context.get() or {})
    merged.update({key: value for key, value in fields.items() if value is not None})
    return _context.set(merged)


def unbind(token: contextvars.Token[dict[str, str] | None]) -> None:
    _context.reset(token)


def log_context() -> dict[str, str]:
    """The fields bound for this task (trace, request and user ids where known)."""
    return dict(_context.get() or {})


def annotate(**fields: str | None) -> None:
    """Add fields to the log lines of the rest of this task, inside the enclosing `bind`
    (e.g. the user id once a request is authenticated); the `bind` exit drops them."""
    merged = dict(_context.get() or {})
    merged.update({key: value for key, value in fields.items() if value is not None})
    _context.set(merged)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        context = _context.get() or {}
        if "trace_id" not in context:  # a bound trace id wins anyway (update below)
            trace_id = current_trace_id()
            if trace_id:
                entry["trace_id"] = trace_id
        entry.update(context)
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def configure_logging(service: str, level: str = "INFO") -> None:
    """Route the root logger to stderr as JSON lines. Idempotent."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Fields of every LogRecord no line of ours prints (the formatter leaves them out):
    # not worked out per record (the logging docs' "Optimization" section).
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging._srcfile = None  # no stack walk for the caller's file, line and function
    for noisy in ("uvicorn.access", "nats", "asyncio"):
        logging.getLogger(noisy).setLevel("WARNING")
