"""Every query of every Grafana dashboard and every alert names a metric that something exports.

The services' metrics are the prometheus_client metrics declared in libs/*/src and
services/*/src: Counters, Gauges, Histograms, Summaries, Infos and Enums, and the
`*MetricFamily` a custom collector yields at scrape time (the database pool gauges of
wildside_common.pg_metrics), read from the source with the sample names prometheus_client
derives (_total, _bucket, _sum, _count, _created, _info). A test imports every module and
checks the default registry exposes nothing this reading misses. Metrics of other exporters
are accepted by prefix only when listed in EXTERNAL with the exporter that serves them. A
renamed metric or a typo in a panel or an alert fails here instead of drawing nothing.

Panels on a Loki data source hold LogQL, not PromQL: they name no metric and are not read
here (test_observability.py checks the logs dashboard against the fields the services log).

Every alert has promtool unit tests in deploy/observability/tests/ (run by `make
deploy-check`) with a case where it fires and one where it stays quiet.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY

from tests.deploy.kustomize import DEPLOY, ROOT

pytestmark = pytest.mark.unit

# prefix -> who serves it (deploy/observability scrapes them; see docs/operations.md)
EXTERNAL = {
    "jetstream_": "prometheus-nats-exporter (-jsz=all)",
    "gnatsd_": "prometheus-nats-exporter (-varz)",
    "redis_": "redis_exporter",
    "traefik_": "Traefik's own metrics",
    "kube_": "kube-state-metrics",
    "pg_": "postgres_exporter",
    "cnpg_": "CloudNativePG's instance manager",
    "martin_": "Martin's /_/metrics",
    "container_cpu_": "cAdvisor (the kubelet, scraped by kube-prometheus-stack)",
    "container_memory_": "cAdvisor (the kubelet, scraped by kube-prometheus-stack)",
    "container_network_": "cAdvisor (the kubelet, scraped by kube-prometheus-stack)",
}
BUILTIN = {"up", "scrape_duration_seconds", "ALERTS", "ALERTS_FOR_STATE"}
SUFFIXES = {
    "Counter": ("_total", "_created"),
    "Gauge": ("",),
    "Histogram": ("_bucket", "_sum", "_count", "_created"),
    "Summary": ("", "_sum", "_count", "_created"),
    "Info": ("_info",),
    "Enum": ("",),
}
# `Gauge("name"` and a collector's `GaugeMetricFamily(\n "name"` alike
DECLARATION = re.compile(
    r"\b(Counter|Gauge|Histogram|Summary|Info|Enum)(?:MetricFamily)?\(\s*\"([a-zA-Z_:][\w:]*)\""
)
# prometheus_client's family types, as declared
KINDS = {kind.lower(): kind for kind in SUFFIXES} | {"stateset": "Enum"}
# the default registry's own collectors (process and interpreter), not the services'
PLATFORM = ("process_", "python_")
KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool",
    "and", "or", "unless", "offset", "inf", "nan", "le",
}  # fmt: skip


def samples(kind: str, name: str) -> set[str]:
    base = name.removesuffix("_total") if kind == "Counter" else name
    return {base + suffix for suffix in SUFFIXES[kind]}


def exported() -> set[str]:
    """The sample names the services' registries can expose."""
    names: set[str] = set()
    sources = [*ROOT.glob("libs/*/src/**/*.py"), *ROOT.glob("services/*/src/**/*.py")]
    for path in sources:
        for kind, name in DECLARATION.findall(path.read_text()):
            names |= samples(kind, name)
    return names


def registered() -> set[str]:
    """The sample names of the default registry once every module of the services is imported."""
    for init in [
        *ROOT.glob("libs/*/src/*/__init__.py"),
        *ROOT.glob("services/*/src/*/__init__.py"),
    ]:
        package = importlib.import_module(init.parent.name)
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if not module.name.endswith("__main__"):
                importlib.import_module(module.name)
    names: set[str] = set()
    for family in REGISTRY.collect():
        if not family.name.startswith(PLATFORM):
            names |= samples(KINDS[family.type], family.name)
    return names


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (functions, labels, keywords removed)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings: label values, label_replace args
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges and subqueries
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    text = re.sub(r"\$\{?\w+\}?", "", text)  # Grafana variables
    names = set()
    for match in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", text):
        following = text[match.end() :].lstrip()
        if following.startswith("("):
            continue  # a function or an aggregation
        before = text[: match.start()]
        if re.search(r"\d(\.\d*)?$|\d[eE]$", before):
            continue  # part of a number such as 1e-9 or a duration like 5m
        if match.group() not in KEYWORDS:
            names.add(match.group())
    return names


def unknown(names: set[str], known: set[str]) -> set[str]:
    return {
        name
        for name in names
        if name not in known and name not in BUILTIN and not name.startswith(tuple(EXTERNAL))
    }


def is_logql(panel: dict[str, Any], target: dict[str, Any]) -> bool:
    """A query on a Loki data source (the target's own, else its panel's)."""
    source = target.get("datasource") or panel.get("datasource") or {}
    return isinstance(source, dict) and source.get("type") == "loki"


def promql_queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, expression) of every target that is not LogQL."""
    return [
        (panel.get("title", ""), target["expr"])
        for panel in panels(dashboard["panels"])
        for target in panel.get("targets", [])
        if not is_logql(panel, target)
    ]


def panels(nodes: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in nodes:
        yield panel
        yield from panels(panel.get("panels", []))


def dashboards() -> list[Path]:
    found = []
    for path in sorted(DEPLOY.rglob("*.json")):
        if path.is_relative_to(DEPLOY / "schemas"):
            continue
        if "panels" in json.loads(path.read_text()):
            found.append(path)
    return found


def alert_rules() -> list[dict[str, Any]]:
    rules = []
    for path in sorted(DEPLOY.rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == "PrometheusRule":
                rules += [rule for group in doc["spec"]["groups"] for rule in group["rules"]]
    return rules


def metrics_dashboards() -> list[Path]:
    return [path for path in dashboards() if promql_queries(json.loads(path.read_text()))]


def test_the_dashboards_and_rules_are_found() -> None:
    observability = DEPLOY / "observability"
    assert observability / "grafana-dashboard.json" in metrics_dashboards()
    # the logs dashboard is found, and every query of it is LogQL
    logs = observability / "grafana-logs-dashboard.json"
    assert logs in dashboards() and logs not in metrics_dashboards()
    assert len(alert_rules()) >= 5


def test_a_loki_panel_is_logql_and_a_prometheus_one_is_not() -> None:
    dashboard = {
        "panels": [
            {"title": "logs", "datasource": {"type": "loki"}, "targets": [{"expr": '{a=~"b"}'}]},
            {
                "title": "rate",
                "datasource": {"type": "prometheus"},
                "targets": [{"expr": "rate(x_total[5m])"}],
            },
            {"title": "mixed", "targets": [{"datasource": {"type": "loki"}, "expr": '{c="d"}'}]},
        ]
    }
    assert promql_queries(dashboard) == [("rate", "rate(x_total[5m])")]


@pytest.mark.parametrize("path", metrics_dashboards(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_every_dashboard_query_names_an_exported_metric(path: Path) -> None:
    known = exported()
    missing = {}
    for title, expr in promql_queries(json.loads(path.read_text())):
        names = metric_names(expr)
        assert names, f"{title}: no metric in {expr!r}"
        if unknown(names, known):
            missing[title] = sorted(unknown(names, known))
    assert not missing, missing


def test_every_alert_and_recording_rule_names_an_exported_metric() -> None:
    known = exported()
    recorded = {rule["record"] for rule in alert_rules() if "record" in rule}
    missing = {}
    for rule in alert_rules():
        names = metric_names(rule["expr"])
        assert names, rule
        if unknown(names, known | recorded):
            missing[rule.get("alert", rule.get("record"))] = sorted(
                unknown(names, known | recorded)
            )
    assert not missing, missing


def test_the_metric_parser_finds_selected_metrics_only() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le, path) (rate(a_seconds_bucket{path!="/ws"}'
        "[$__rate_interval]))) / clamp_min(sum(b_total offset 5m), 1e-9) > 0.25 "
        'unless on (consumer_name) label_replace(c_total, "x", "$1", "y", "(.*)")'
    )
    assert metric_names(expr) == {"a_seconds_bucket", "b_total", "c_total"}
    expr = (
        'sum by (le, query) (rate(wildside_db_query_duration_seconds_bucket{query=~"a|b"}[5m]))'
        " / clamp_min(max(pg_settings_max_connections), 1e-9) unless on (pod) up"
        ' and label_replace(x_total, "consumer_name", "$1", "consumer", "(.*)") > 0.8'
    )
    assert metric_names(expr) == {
        "wildside_db_query_duration_seconds_bucket",
        "pg_settings_max_connections",
        "up",
        "x_total",
    }


def test_a_metric_no_service_declares_is_reported() -> None:
    known = exported()
    assert "http_requests_total" in known and "http_request_duration_seconds_bucket" in known
    assert unknown({"http_requests_totl", "jetstream_consumer_num_pending"}, known) == {
        "http_requests_totl"
    }
    # a collector's families (wildside_common.pg_metrics), and only the samples they have
    assert {"wildside_db_pool_connections", "wildside_db_pool_max_connections"} <= known
    assert "wildside_db_query_duration_seconds_total" not in known
    assert unknown({"wildside_cache_hit_ratio", "container_fs_usage_bytes"}, known) == {
        "wildside_cache_hit_ratio",
        "container_fs_usage_bytes",
    }


def test_the_declarations_read_from_the_source_are_what_the_registry_exposes() -> None:
    """Reading the source finds every metric importing the services registers: a metric
    declared some other way (a new collector, a helper that builds metrics) fails here."""
    from_registry = registered()
    assert "wildside_db_pool_connections" in from_registry
    assert from_registry - exported() == set()


def untested(alerts: set[str], unit_tests: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Alerts without a promtool case that expects them to fire, or one that expects none."""
    cases = [
        case
        for document in unit_tests
        for test in document["tests"]
        for case in test.get("alert_rule_test", [])
    ]
    fired = {case["alertname"] for case in cases if case.get("exp_alerts")}
    quiet = {case["alertname"] for case in cases if not case.get("exp_alerts")}
    missing: dict[str, list[str]] = {}
    for alert in sorted(alerts):
        gaps = [what for what, seen in (("fires", fired), ("quiet", quiet)) if alert not in seen]
        if gaps:
            missing[alert] = gaps
    return missing


def test_every_alert_has_a_promtool_unit_test_that_fires_it_and_one_that_does_not() -> None:
    """deploy/observability/tests/*.yaml (run by make deploy-check with promtool): each alert
    is expected to fire at least once there and to stay quiet at least once, so a rule that
    can never fire, or always does, is caught."""
    unit_tests = [
        yaml.safe_load(path.read_text())
        for path in sorted((DEPLOY / "observability" / "tests").glob("*.yaml"))
    ]
    alerts = {rule["alert"] for rule in alert_rules() if "alert" in rule}
    assert untested(alerts, unit_tests) == {}


def test_an_alert_without_a_firing_or_a_quiet_case_is_reported() -> None:
    unit_tests = [
        {
            "tests": [
                {
                    "alert_rule_test": [
                        {"eval_time": "5m", "alertname": "Both", "exp_alerts": []},
                        {"eval_time": "9m", "alertname": "Both", "exp_alerts": [{}]},
                        {"eval_time": "9m", "alertname": "NeverQuiet", "exp_alerts": [{}]},
                        {"eval_time": "9m", "alertname": "NeverFires", "exp_alerts": []},
                    ]
                }
            ]
        }
    ]
    assert untested({"Both", "NeverQuiet", "NeverFires", "Untested"}, unit_tests) == {
        "NeverFires": ["fires"],
        "NeverQuiet": ["quiet"],
        "Untested": ["fires", "quiet"],
    }
