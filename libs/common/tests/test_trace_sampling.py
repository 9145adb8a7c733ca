"""Trace sampling (`telemetry.sampler_for`): every trace recorded when spans are exported,
none when nothing receives them (unless an upstream sampled it), OTEL_TRACES_SAMPLER
otherwise; a trace that is not recorded keeps its ids."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from wildside_common.config import CommonSettings, ConfigError, EnvReader
from wildside_common.telemetry import sampler_for

pytestmark = pytest.mark.unit


def settings(**env: str) -> CommonSettings:
    return CommonSettings.from_env(EnvReader(env), "sampling-test", 0)


def root_span(settings: CommonSettings, exported: bool = False) -> trace.Span:
    provider = TracerProvider(sampler=sampler_for(settings, exported))
    return provider.get_tracer("test").start_span("GET /")


def child_of_sampled(settings: CommonSettings) -> trace.Span:
    parent = SpanContext(
        0x4BF92F3577B34DA6A3CE929D0E0E4736,
        0x00F067AA0BA902B7,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    provider = TracerProvider(sampler=sampler_for(settings))
    context = trace.set_span_in_context(NonRecordingSpan(parent))
    return provider.get_tracer("test").start_span("GET /", context=context)


def test_without_an_exporter_a_root_trace_is_not_recorded_but_keeps_its_ids() -> None:
    span = root_span(settings())
    assert not span.is_recording()
    assert span.get_span_context().is_valid  # the trace-id header, the logs' trace_id
    assert not span.get_span_context().trace_flags.sampled  # passed on as not sampled


def test_without_an_exporter_an_upstreams_sampled_trace_is_still_recorded() -> None:
    span = child_of_sampled(settings())
    assert span.is_recording()
    assert span.get_span_context().trace_id == 0x4BF92F3577B34DA6A3CE929D0E0E4736


@pytest.mark.parametrize("exporter", ["console", "otlp"])
def test_with_an_exporter_every_trace_is_recorded(exporter: str) -> None:
    env = {"OTEL_EXPORTER": exporter, "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}
    assert root_span(settings(**env)).is_recording()


def test_an_exporter_given_by_a_test_records_every_trace() -> None:
    assert root_span(settings(), exported=True).is_recording()


def test_otel_traces_sampler_wins_over_the_default() -> None:
    assert not root_span(settings(OTEL_TRACES_SAMPLER="always_off"), exported=True).is_recording()
    assert root_span(settings(OTEL_TRACES_SAMPLER="always_on")).is_recording()
    assert not child_of_sampled(settings(OTEL_TRACES_SAMPLER="always_off")).is_recording()
    assert child_of_sampled(settings(OTEL_TRACES_SAMPLER="parentbased_always_off")).is_recording()


def test_a_ratio_samples_about_that_share_of_root_traces() -> None:
    ratio = settings(OTEL_TRACES_SAMPLER="parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG="0.25")
    provider = TracerProvider(sampler=sampler_for(ratio))
    tracer = provider.get_tracer("test")
    recorded = sum(tracer.start_span("GET /").is_recording() for _ in range(4000))
    assert 800 < recorded < 1200
    assert child_of_sampled(ratio).is_recording()  # parent-based: the upstream decides


@pytest.mark.parametrize(
    ("name", "value"),
    [("OTEL_TRACES_SAMPLER", "sometimes"), ("OTEL_TRACES_SAMPLER_ARG", "1.5")],
)
def test_a_sampler_setting_out_of_range_is_refused(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings(**{name: value})
    assert caught.value.variable == name
