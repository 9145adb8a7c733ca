"""JSON log lines carry the service, the bound context and the active trace id."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from wildside_common.logs import JsonFormatter, bind, configure_logging, current_trace_id

pytestmark = pytest.mark.unit


@pytest.fixture
def capture() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("gateway"))
    logger = logging.getLogger("wildside.test.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield logger, stream
    finally:
        logger.removeHandler(handler)
        logger.propagate = True


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in stream.getvalue().splitlines()]


# A private provider: spans are real (valid ids) without touching the global one.
TRACER = TracerProvider().get_tracer("wildside.test.logs")


def test_a_line_is_one_json_object(capture: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = capture
    logger.info("route %s accepted", "r-1")
    [entry] = lines(stream)
    assert entry["message"] == "route r-1 accepted"
    assert entry["level"] == "info"
    assert entry["service"] == "gateway"
    assert entry["logger"] == "wildside.test.logs"
    assert entry["ts"].endswith("+00:00")
    assert "trace_id" not in entry and "request_id" not in entry


def test_bound_fields_and_trace_id_join_the_line(
    capture: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = capture
    with TRACER.start_as_current_span("request") as span, bind(request_id="r-1", user_id="u-1"):
        logger.warning("slow solve", extra={"elapsed_ms": 1500})
        expected = format(span.get_span_context().trace_id, "032x")
        assert current_trace_id() == expected
    logger.info("after")
    first, after = lines(stream)
    assert first["trace_id"] == expected
    assert (first["request_id"], first["user_id"], first["elapsed_ms"]) == ("r-1", "u-1", 1500)
    assert "request_id" not in after and "trace_id" not in after


def test_bind_nests_and_ignores_none(capture: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = capture
    with bind(request_id="outer"), bind(user_id="u-2", request_id=None):
        logger.info("inner")
    [entry] = lines(stream)
    assert (entry["request_id"], entry["user_id"]) == ("outer", "u-2")


def test_exceptions_are_one_field(capture: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = capture
    try:
        raise ValueError("bad value")
    except ValueError:
        logger.exception("failed")
    [entry] = lines(stream)
    assert "ValueError: bad value" in entry["exception"]
    assert entry["level"] == "error"


def test_no_trace_id_outside_a_span() -> None:
    assert current_trace_id() is None


def test_configure_logging_writes_json_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        configure_logging("router", "DEBUG")
        configure_logging("router", "DEBUG")  # idempotent: still one handler
        assert len(root.handlers) == 1
        with bind(request_id="r-9"):
            logging.getLogger("wildside.test").debug("hello")
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    [line] = [line for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    entry = orjson.loads(line)
    assert (entry["service"], entry["request_id"], entry["message"]) == ("router", "r-9", "hello")
    assert trace.get_current_span().get_span_context().is_valid is False


def test_the_timestamp_is_datetimes_isoformat() -> None:
    """`utc_iso` gives `datetime.fromtimestamp(t, UTC).isoformat()` exactly, rounding the
    microseconds the same way (half to even, up into the next second)."""
    import random
    from datetime import UTC, datetime

    from wildside_common.logs import utc_iso

    rng = random.Random(19)
    now = 1_780_000_000.0
    samples = [now + rng.random() * 86_400 * 400 for _ in range(20_000)]
    whole = float(int(now))
    samples += [whole, whole + 0.5, whole + 0.9999995, whole + 0.9999994, whole + 0.0000005]
    samples += [whole + 59.9999999, 0.0, 0.25, 951_782_399.9999996, -1.5]
    for created in samples:
        assert utc_iso(created) == datetime.fromtimestamp(created, UTC).isoformat(), created


def test_a_templated_record_is_the_record_make_record_makes() -> None:
    from wildside_common.logs import RecordTemplate

    logger = logging.getLogger("wildside.test.template")
    fields = {"trace_id": "t", "method": "POST", "status": 202, "duration_ms": 1.5}
    made = RecordTemplate(logger, logging.INFO, __file__, "request").make(dict(fields))
    expected = logger.makeRecord(
        logger.name, logging.INFO, __file__, 0, "request", (), None, extra=dict(fields)
    )
    timing = {"created", "msecs", "relativeCreated"}
    assert {k: v for k, v in made.__dict__.items() if k not in timing} == {
        k: v for k, v in expected.__dict__.items() if k not in timing
    }
    assert list(made.__dict__) == list(expected.__dict__)
    assert abs(made.created - expected.created) < 1
    # A field naming a record attribute is refused, as makeRecord refuses it.
    with pytest.raises(KeyError):
        RecordTemplate(logger, logging.INFO, __file__, "request").make({"name": "x"})
