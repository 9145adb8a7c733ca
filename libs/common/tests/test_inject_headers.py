"""`inject_headers` gives what the global propagator gives, for the context current at
each call, though it works a context's headers out once."""

from __future__ import annotations

import contextvars

import pytest
from opentelemetry import propagate
from opentelemetry.sdk.trace import TracerProvider

from wildside_common.telemetry import inject_headers

pytestmark = pytest.mark.unit

TRACER = TracerProvider().get_tracer("wildside.test.inject")


def expected() -> dict[str, str]:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def test_the_headers_follow_the_current_span() -> None:
    assert inject_headers({"a": "b"}) == {"a": "b", **expected()}
    with TRACER.start_as_current_span("first") as first:
        one = inject_headers({"Nats-Msg-Id": "1"})
        again = inject_headers({"Nats-Msg-Id": "2"})
        assert one["traceparent"] == again["traceparent"] == expected()["traceparent"]
        assert format(first.get_span_context().trace_id, "032x") in one["traceparent"]
        with TRACER.start_as_current_span("child") as child:
            inner = inject_headers({})
            assert inner == expected()
            assert format(child.get_span_context().span_id, "016x") in inner["traceparent"]
        # Back in the outer span: its headers again, not the child's.
        assert inject_headers({"n": "1"}) == {"n": "1", **expected()}
        assert inject_headers({})["traceparent"] == one["traceparent"]
    assert inject_headers({}) == expected()


def test_a_copied_context_keeps_its_own_headers() -> None:
    with TRACER.start_as_current_span("request"):
        context = contextvars.copy_context()
        mine = expected()
    with TRACER.start_as_current_span("other"):
        assert context.run(inject_headers, {}) == mine
        assert context.run(inject_headers, {"x": "y"}) == {"x": "y", **mine}
        assert inject_headers({}) == expected() != mine
