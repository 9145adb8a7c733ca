"""deploy/observability agrees with the code: every metric an alert or a dashboard reads is
one the services export (or an exporter's, by its prefix), every alert has a severity that
Alertmanager routes and a runbook, every exporter is scraped, and the logs dashboard
follows the `trace_id` field the services' JSON logs carry."""

from __future__ import annotations

import functools
import importlib
import json
import logging
import pkgutil
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import REGISTRY

from wildside_common.logs import JsonFormatter

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
OBSERVABILITY = ROOT / "deploy" / "observability"
PACKAGES = [
    "wildside_common",
    "wildside_gateway",
    "wildside_router",
    "wildside_enricher",
    "wildside_tiles_auth",
    "wildside_ingest",
]
# Metric families of the exporters and platform components, by prefix:
EXPORTER_PREFIXES = (
    "pg_",  # postgres-exporter (deploy/observability/exporters.yaml)
    "cnpg_",  # CloudNativePG's instance pods
    "redis_",  # redis_exporter
    "jetstream_",  # prometheus-nats-exporter -jsz
    "gnatsd_",  # prometheus-nats-exporter -varz
    "traefik_",  # Traefik
    "container_",  # cAdvisor (kubelet)
    "kube_",  # kube-state-metrics
)
SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("", "_sum", "_count"),
    "gauge": ("",),
    "info": ("_info",),
}
PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
    "offset", "bool", "inf", "nan", "e",
}  # fmt: skip


@functools.cache
def exported() -> frozenset[str]:
    """Every sample name the services' code can export (each module imported once)."""
    for top in PACKAGES:
        package = importlib.import_module(top)
        for module in pkgutil.walk_packages(package.__path__, f"{top}."):
            if not module.name.endswith("__main__"):
                importlib.import_module(module.name)
    names = set()
    for family in REGISTRY.collect():
        names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ("",)))
    return frozenset(names)


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (not functions, labels or keywords)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges
    text = re.sub(r"\$\{?\w+\}?", "", text)  # Grafana variables
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    names = set()
    for match in re.finditer(r"(?<![\w.])([a-zA-Z_:][\w:]*)(\s*\()?", text):
        name, call = match.group(1), match.group(2)
        if not call and name.lower() not in PROMQL_WORDS:
            names.add(name)
    return names


def rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load((OBSERVABILITY / "prometheusrule.yaml").read_text())
    return [rule for group in doc["spec"]["groups"] for rule in group["rules"]]


def dashboard(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((OBSERVABILITY / name).read_text())
    return loaded


def prometheus_exprs() -> list[tuple[str, str]]:
    found = [(rule["alert"], rule["expr"]) for rule in rules()]
    for panel in dashboard("grafana-dashboard.json")["panels"]:
        found += [(panel["title"], target["expr"]) for target in panel.get("targets", [])]
    return found


def test_metric_names_are_read_from_promql() -> None:
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


@pytest.mark.parametrize(("where", "expr"), prometheus_exprs(), ids=lambda v: v[:60])
def test_every_metric_an_alert_or_dashboard_reads_is_exported(where: str, expr: str) -> None:
    names = metric_names(expr)
    assert names, where
    unknown = {n for n in names if n not in exported() and not n.startswith(EXPORTER_PREFIXES)}
    assert not unknown, f"{where}: no service or exporter exports {sorted(unknown)}"


def test_a_metric_nothing_exports_is_caught() -> None:
    assert "wildside_db_query_duration_seconds_bucket" in exported()
    assert "wildside_db_pool_connections" in exported()
    assert "wildside_db_query_duration_seconds_total" not in exported()
    assert "wildside_cache_hit_ratio" not in exported()


def test_the_seeds_alerts_exist_and_each_has_a_routed_severity_and_a_runbook() -> None:
    alerts = {rule["alert"]: rule for rule in rules()}
    assert {
        "WildsidePostgresConnectionsHigh",
        "WildsidePostgresReplicationLagHigh",
        "WildsideRedisEvictions",
        "WildsideRedisMemoryHigh",
        "WildsideConsumerLagHigh",
        "WildsideJetStreamNoMetaLeader",
        "WildsideJetStreamStreamNoLeader",
        "WildsideDbPoolSaturated",
        "WildsideDbQueryLatencyHigh",
    } <= set(alerts)
    routed = routes_by_severity()
    for name, alert in alerts.items():
        assert alert["labels"]["severity"] in routed, name
        runbook = ROOT / alert["annotations"]["runbook_url"]
        assert runbook.is_file() and runbook.parent == ROOT / "docs" / "runbooks", name
        assert name in runbook.read_text(), f"{runbook.name} does not name {name}"


def routes_by_severity() -> dict[str, str]:
    (config,) = [
        d for d in yaml.safe_load_all((OBSERVABILITY / "alertmanager.yaml").read_text()) if d
    ]
    receivers = {receiver["name"] for receiver in config["spec"]["receivers"]}
    routed = {}
    for route in config["spec"]["route"]["routes"]:
        (matcher,) = route["matchers"]
        assert matcher["name"] == "severity" and matcher.get("matchType", "=") == "="
        assert route["receiver"] in receivers
        routed[matcher["value"]] = route["receiver"]
    return routed


def test_critical_alerts_page_and_warnings_open_tickets() -> None:
    assert routes_by_severity() == {"critical": "page", "warning": "ticket"}


def test_every_exporter_is_a_service_a_monitor_scrapes() -> None:
    docs = [d for d in yaml.safe_load_all((OBSERVABILITY / "exporters.yaml").read_text()) if d]
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    services = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Service"}
    (monitor,) = [d for d in docs if d["kind"] == "ServiceMonitor"]
    (selected,) = monitor["spec"]["selector"]["matchExpressions"]
    scraped_ports = {endpoint["port"] for endpoint in monitor["spec"]["endpoints"]}
    assert set(deployments) == {"postgres-exporter", "redis-exporter", "nats-exporter"}
    for name, deployment in deployments.items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert ":" in container["image"] and not container["image"].endswith(":latest")
        assert container["resources"]["limits"]["memory"]
        ports = {port["name"] for port in container["ports"]}
        service = services[name]
        assert service["spec"]["selector"].items() <= labels.items()
        assert {p["targetPort"] for p in service["spec"]["ports"]} <= ports
        assert service["metadata"]["labels"]["app.kubernetes.io/name"] in selected["values"]
        assert {p["name"] for p in service["spec"]["ports"]} & scraped_ports


def test_the_logs_dashboard_follows_the_trace_id_field_the_services_log() -> None:
    logs = dashboard("grafana-logs-dashboard.json")
    variables = {v["name"]: v for v in logs["templating"]["list"]}
    assert variables["trace_id"]["type"] == "textbox"
    assert len({p["id"] for p in logs["panels"]}) == len(logs["panels"])
    targets = [t for panel in logs["panels"] for t in panel["targets"]]
    assert targets and all('| json | trace_id = "$trace_id"' in t["expr"] for t in targets)
    assert all(p["datasource"]["type"] == "loki" for p in logs["panels"])
    # the field is the one wildside_common.logs writes, inside a span
    record = logging.LogRecord("wildside.test", logging.INFO, __file__, 1, "hello", None, None)
    with TracerProvider().get_tracer("test").start_as_current_span("request") as span:
        line = orjson.loads(JsonFormatter("router").format(record))
    assert line["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert {"service", "level", "logger", "message"} <= line.keys()


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.skip("promtool is not installed (scripts/system-deps.sh does not install it)")
    return found


def rule_file(tmp_path: Path, annotations: bool = True) -> Path:
    doc = yaml.safe_load((OBSERVABILITY / "prometheusrule.yaml").read_text())
    if not annotations:  # promtool compares them too; the firing is what is tested
        for group in doc["spec"]["groups"]:
            for rule in group["rules"]:
                rule.pop("annotations", None)
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": doc["spec"]["groups"]}))
    return path


def test_the_rules_are_valid_promql_and_templates(tmp_path: Path) -> None:
    result = subprocess.run(
        [promtool(), "check", "rules", str(rule_file(tmp_path))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# promtool unit tests of the data-store and pool alerts: each fires on the series an
# exporter or a service writes in trouble, and stays quiet just below its threshold.
ALERT_TESTS = """
- interval: 1m
  input_series:
    - series: 'pg_stat_activity_count{datname="wildside", state="active"}'
      values: '40x10 85x10'
    - series: 'pg_stat_activity_count{datname="wildside", state="idle"}'
      values: '30x20'
    - series: 'pg_settings_max_connections{server="pg"}'
      values: '100x20'
    - series: 'cnpg_pg_replication_lag{pod="wildside-pg-2"}'
      values: '5x10 90x10'
    - series: 'redis_memory_used_bytes{instance="r"}'
      values: '80x10 95x15'
    - series: 'redis_memory_max_bytes{instance="r"}'
      values: '100x25'
    - series: 'jetstream_stream_total_messages{stream_name="WILDSIDE_ROUTE_JOBS",
               stream_leader="", is_stream_leader="false"}'
      values: '0x5'
    - series: 'jetstream_stream_total_messages{stream_name="WILDSIDE_ENRICHMENT_JOBS",
               stream_leader="n1", is_stream_leader="false"}'
      values: '0x5'
    - series: 'wildside_db_pool_connections{pod="gateway-1", pool="main", state="in_use"}'
      values: '5x10 10x15'
    - series: 'wildside_db_pool_max_connections{pod="gateway-1", pool="main"}'
      values: '10x25'
  alert_rule_test:
    - {eval_time: 9m, alertname: WildsidePostgresConnectionsHigh, exp_alerts: []}
    - eval_time: 20m
      alertname: WildsidePostgresConnectionsHigh
      exp_alerts: [{exp_labels: {severity: critical}}]
    - {eval_time: 9m, alertname: WildsidePostgresReplicationLagHigh, exp_alerts: []}
    - eval_time: 20m
      alertname: WildsidePostgresReplicationLagHigh
      exp_alerts: [{exp_labels: {severity: warning, pod: wildside-pg-2}}]
    - {eval_time: 9m, alertname: WildsideRedisMemoryHigh, exp_alerts: []}
    - eval_time: 25m
      alertname: WildsideRedisMemoryHigh
      exp_alerts: [{exp_labels: {severity: warning}}]
    - eval_time: 4m
      alertname: WildsideJetStreamStreamNoLeader
      exp_alerts: [{exp_labels: {severity: critical, stream_name: WILDSIDE_ROUTE_JOBS}}]
    - {eval_time: 9m, alertname: WildsideDbPoolSaturated, exp_alerts: []}
    - eval_time: 24m
      alertname: WildsideDbPoolSaturated
      exp_alerts: [{exp_labels: {severity: warning, pod: gateway-1, pool: main}}]
"""


def test_the_data_store_and_pool_alerts_fire_on_trouble_only(tmp_path: Path) -> None:
    rules_path = rule_file(tmp_path, annotations=False)
    tests = tmp_path / "tests.yaml"
    tests.write_text(
        yaml.safe_dump(
            {
                "rule_files": [rules_path.name],
                "evaluation_interval": "1m",
                "tests": yaml.safe_load(ALERT_TESTS),
            }
        )
    )
    result = subprocess.run(
        [promtool(), "test", "rules", tests.name],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
