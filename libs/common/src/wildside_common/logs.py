"""Structured JSON logs carrying trace_id, request_id and user_id where known.

`bind(request_id=..., user_id=...)` sets context for the current task; the trace id
is read from the active OpenTelemetry span, so a log line joins its trace.
"""

from __future__ import annotations

import contextvars
import logging
import math
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
from opentelemetry import trace

_context: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "wildside_log_context", default=None
)
_RESERVED = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
}
_LEVELS = {name: name.lower() for name in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")}


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


_LOGGING_STARTED: float = logging._startTime  # type: ignore[attr-defined]  # LogRecord's
_SECONDS: dict[int, str] = {}  # "YYYY-MM-DDTHH:MM:SS" by whole second (UTC), a few kept


def utc_iso(created: float) -> str:
    """`datetime.fromtimestamp(created, UTC).isoformat()`, the same string (microseconds
    rounded half to even, as `fromtimestamp` rounds them), with the date and time of day
    worked out once per second rather than once per line."""
    fraction, whole = math.modf(created)
    if created < 0 or not math.isfinite(created):
        return datetime.fromtimestamp(created, UTC).isoformat()
    micros = round(fraction * 1e6)
    second = int(whole)
    if micros >= 1_000_000:
        micros -= 1_000_000
        second += 1
    prefix = _SECONDS.get(second)
    if prefix is None:
        if len(_SECONDS) >= 8:
            _SECONDS.clear()
        prefix = _SECONDS[second] = datetime.fromtimestamp(second, UTC).isoformat()[:19]
    if micros:
        return f"{prefix}.{micros:06d}+00:00"
    return f"{prefix}+00:00"


class RecordTemplate:
    """Log records of one logger, level, message and source file, made by copying a
    template record's fields and setting its time, instead of `Logger.makeRecord`
    (which works the file's name and module out again and checks every `extra` key
    one by one): for a line written on every request (the access line). The record is
    the one `makeRecord` would make, with `lineno` 0; whenever a record could differ
    (a record factory of one's own, thread or process fields switched on, an `extra`
    key naming a record attribute) it is made by `makeRecord` itself."""

    def __init__(self, logger: logging.Logger, level: int, pathname: str, msg: str) -> None:
        self.logger = logger
        self.level = level
        self.pathname = pathname
        self.msg = msg
        self._template: dict[str, Any] | None = None

    def _plain(self) -> bool:
        return logging.getLogRecordFactory() is logging.LogRecord and not (
            logging.logThreads or logging.logProcesses or logging.logMultiprocessing
        )

    def make(self, fields: dict[str, Any]) -> logging.LogRecord:
        if not self._plain() or not fields.keys().isdisjoint(_RESERVED):
            return self.logger.makeRecord(
                self.logger.name, self.level, self.pathname, 0, self.msg, (), None, extra=fields
            )
        template = self._template
        if template is None:
            made = logging.LogRecord(
                self.logger.name, self.level, self.pathname, 0, self.msg, (), None
            )
            template = self._template = dict(made.__dict__)
        record = logging.LogRecord.__new__(logging.LogRecord)
        values = record.__dict__
        values.update(template)
        created = time.time()
        values["created"] = created
        values["msecs"] = int((created - int(created)) * 1000) + 0.0  # as LogRecord does
        values["relativeCreated"] = (created - _LOGGING_STARTED) * 1000
        values.update(fields)
        return record


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": utc_iso(record.created),
            "level": _LEVELS.get(record.levelname) or record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        context = _context.get()
        if context is None or "trace_id" not in context:  # a bound one wins (update below)
            trace_id = current_trace_id()
            if trace_id:
                entry["trace_id"] = trace_id
        if context:
            entry.update(context)
        # The record's own fields (`extra`), in their order: a record's attributes past
        # the standard ones, compared as a set first (the usual line has a few).
        fields = record.__dict__
        if not fields.keys() <= _RESERVED:
            entry.update(
                {
                    key: value
                    for key, value in fields.items()
                    if key not in _RESERVED and key[:1] != "_"
                }
            )
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
