"""OpenTelemetry tracing: provider set-up and `traceparent` carried in NATS headers.

One route request's spans, from the gateway's HTTP span through the router's
message span and back through the status event, join one trace: publishers inject
the current context into the message headers, consumers extract it as the parent.

Sampling (`sampler_for`): `OTEL_TRACES_SAMPLER` (`always_on`, `always_off`,
`traceidratio`, `parentbased_always_on`, `parentbased_always_off`,
`parentbased_traceidratio`; the ratio in `OTEL_TRACES_SAMPLER_ARG`, 0-1), as the SDK
names them. Unset, every trace is recorded when spans are exported (`OTEL_EXPORTER`
console or otlp: `parentbased_always_on`, the SDK's default) and none is when nothing
would receive them (`OTEL_EXPORTER=none`: `parentbased_always_off`, so an upstream's
sampled trace is still recorded). A trace that is not sampled still has its ids: the
`trace-id` response header, the log lines' `trace_id` and the `traceparent` passed on
(with its sampled flag off, which a parent-based sampler downstream follows) are the
same; only the span objects, their attributes and timings are not made.
"""

from __future__ import annotations

import contextvars
from collections.abc import Mapping

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    ParentBased,
    Sampler,
    TraceIdRatioBased,
)

from wildside_common.config import CommonSettings

_configured = False


def configure_tracing(settings: CommonSettings, exporter: SpanExporter | None = None) -> None:
    """Install the tracer provider once per process; `exporter` overrides (tests)."""
    global _configured
    if _configured:
        return
    provider = TracerProvider(
        resource=Resource.create({"service.name": settings.service_name}),
        sampler=sampler_for(settings, exported=exporter is not None),
    )
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    elif settings.otel_exporter == "console":
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    elif settings.otel_exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.otel_endpoint))
        )
    trace.set_tracer_provider(provider)
    _configured = True


def sampler_for(settings: CommonSettings, exported: bool = False) -> Sampler:
    """The sampler `OTEL_TRACES_SAMPLER` names; unset, parent-based, recording the root
    traces only when spans are exported (`exported`: an exporter given by a test)."""
    name = settings.otel_sampler
    if name is None:
        exported = exported or settings.otel_exporter != "none"
        name = "parentbased_always_on" if exported else "parentbased_always_off"
    root: Sampler
    base = name.removeprefix("parentbased_")
    if base == "always_on":
        root = ALWAYS_ON
    elif base == "always_off":
        root = ALWAYS_OFF
    else:
        root = TraceIdRatioBased(settings.otel_sampler_arg)
    return ParentBased(root) if name.startswith("parentbased_") else root


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name)


# The headers the propagator gave for one context, kept in that context: a request's
# job and its status event are published in the same (copied) context, so its
# `traceparent` is worked out once. Keyed by the OpenTelemetry context object itself
# (immutable: a new span or baggage makes a new one) and the propagator in use.
_INJECTED: contextvars.ContextVar[tuple[object, object, dict[str, str]] | None] = (
    contextvars.ContextVar("wildside_injected_headers", default=None)
)


def inject_headers(headers: dict[str, str]) -> dict[str, str]:
    """Add `traceparent` (and `tracestate`) for the current span to `headers`."""
    current = otel_context.get_current()
    propagator = propagate.get_global_textmap()
    known = _INJECTED.get()
    if known is not None and known[0] is current and known[1] is propagator:
        headers.update(known[2])
        return headers
    carrier: dict[str, str] = {}
    propagator.inject(carrier, current)
    _INJECTED.set((current, propagator, carrier))
    headers.update(carrier)
    return headers


def extract_context(headers: Mapping[str, str] | None) -> otel_context.Context:
    """The parent context carried in message headers (empty when there is none)."""
    return propagate.extract(dict(headers or {}))
