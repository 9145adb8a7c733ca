"""Every query of every Grafana dashboard and every alert names a metric that something exports.

The services' metrics are the prometheus_client Counters, Gauges, Histograms and Summaries
declared in libs/*/src and services/*/src (read from the source, with the sample names
prometheus_client derives: _total, _bucket, _sum, _count, _created). Metrics of other
exporters are accepted by prefix only when listed in EXTERNAL with the exporter that serves
them. A renamed metric or a typo in a panel or an alert fails here instead of drawing nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

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
}
BUILTIN = {"up", "scrape_duration_seconds", "ALERTS", "ALERTS_FOR_STATE"}
SUFFIXES = {
    "Counter": ("_total", "_created"),
    "Gauge": ("",),
    "Histogram": ("_bucket", "_sum", "_count", "_created"),
    "Summary": ("", "_sum", "_count", "_created"),
}
DECLARATION = re.compile(r"\b(Counter|Gauge|Histogram|Summary)\(\s*\"([a-zA-Z_:][a-zA-Z0-9_:]*)\"")
KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool",
    "and", "or", "unless", "offset", "inf", "nan", "le",
}  # fmt: skip


def exported() -> set[str]:
    """The sample names the services' registries can expose."""
    names: set[str] = set()
    sources = [*ROOT.glob("libs/*/src/**/*.py"), *ROOT.glob("services/*/src/**/*.py")]
    for path in sources:
        for kind, name in DECLARATION.findall(path.read_text()):
            base = name.removesuffix("_total") if kind == "Counter" else name
            names.update(base + suffix for suffix in SUFFIXES[kind])
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


def test_the_dashboards_and_rules_are_found() -> None:
    assert DEPLOY / "observability" / "grafana-dashboard.json" in dashboards()
    assert len(alert_rules()) >= 5


@pytest.mark.parametrize("path", dashboards(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_every_dashboard_query_names_an_exported_metric(path: Path) -> None:
    known = exported()
    dashboard = json.loads(path.read_text())
    missing = {}
    for panel in panels(dashboard["panels"]):
        for target in panel.get("targets", []):
            names = metric_names(target["expr"])
            assert names, f"{panel.get('title')}: no metric in {target['expr']!r}"
            if unknown(names, known):
                missing[panel.get("title")] = sorted(unknown(names, known))
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


def test_a_metric_no_service_declares_is_reported() -> None:
    known = exported()
    assert "http_requests_total" in known and "http_request_duration_seconds_bucket" in known
    assert unknown({"http_requests_totl", "jetstream_consumer_num_pending"}, known) == {
        "http_requests_totl"
    }


def test_every_alert_has_a_promtool_unit_test_that_fires_it() -> None:
    """deploy/observability/tests/*.yaml (run by make deploy-check with promtool): each alert
    is expected to fire at least once there, so a rule that can never fire is caught."""
    fired = set()
    for path in sorted((DEPLOY / "observability" / "tests").glob("*.yaml")):
        for test in yaml.safe_load(path.read_text())["tests"]:
            for case in test.get("alert_rule_test", []):
                if case.get("exp_alerts"):
                    fired.add(case["alertname"])
    alerts = {rule["alert"] for rule in alert_rules() if "alert" in rule}
    assert alerts - fired == set(), "alerts no unit test fires"
