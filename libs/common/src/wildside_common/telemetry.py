"""OpenTelemetry tracing: provider set-up and `traceparent` carried in NATS headers.

One route request's spans, from the gateway's HTTP span through the router's
message span and back through the status event, join one trace: publishers inject
the current context into the message headers, consumers extract it as the parent.
"""

from __future__ import annotations

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

from wildside_common.config import CommonSettings

_configured = False


def configure_tracing(settings: CommonSettings, exporter: SpanExporter | None = None) -> None:
    """Install the tracer provider once per process; `exporter` overrides (tests)."""
    global _configured
    if _configured:
        return
    provider = TracerProvider(resource=Resource.create({"service.name": settings.service_name}))
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


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name)


def inject_headers(headers: dict[str, str]) -> dict[str, str]:
    """Add `traceparent` (and `tracestate`) for the current span to `headers`."""
    propagate.inject(headers)
    return headers


def extract_context(headers: Mapping[str, str] | None) -> otel_context.Context:
    """The parent context carried in message headers (empty when there is none)."""
    return propagate.extract(dict(headers or {}))
