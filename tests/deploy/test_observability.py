"""deploy/observability agrees with the code: every alert has a severity that Alertmanager
routes and a runbook, every exporter is scraped, and the logs dashboard follows the
`trace_id` field the services' JSON logs carry.

That every metric an alert or a dashboard reads is exported is test_metrics.py's; the
alerts' promtool unit tests are deploy/observability/tests/alerts.yaml (`make deploy-check`)."""

from __future__ import annotations

import json
import logging
from typing import Any

import orjson
import pytest
import yaml
from opentelemetry.sdk.trace import TracerProvider

from tests.deploy.kustomize import DEPLOY, ROOT
from wildside_common.logs import JsonFormatter

pytestmark = pytest.mark.unit

OBSERVABILITY = DEPLOY / "observability"


def rules() -> list[dict[str, Any]]:
    """The rules of every PrometheusRule under deploy/ (the refresh's is in deploy/base)."""
    return [
        rule
        for path in sorted(DEPLOY.rglob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if isinstance(doc, dict) and doc.get("kind") == "PrometheusRule"
        for group in doc["spec"]["groups"]
        for rule in group["rules"]
    ]


def dashboard(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((OBSERVABILITY / name).read_text())
    return loaded


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
        "WildsideOsmRefreshStale",
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


def test_the_platforms_alertmanager_applies_the_routes_to_every_namespaces_alerts() -> None:
    """The AlertmanagerConfig is only routing once the Alertmanager selects it, and without
    the operator's namespace matcher (most alerts aggregate the namespace label away)."""
    (config,) = [
        d for d in yaml.safe_load_all((OBSERVABILITY / "alertmanager.yaml").read_text()) if d
    ]
    release = yaml.safe_load(
        (DEPLOY / "platform/controllers/kube-prometheus-stack.yaml").read_text()
    )
    spec = release["spec"]["values"]["alertmanager"]["alertmanagerSpec"]
    selector = spec["alertmanagerConfigSelector"]["matchLabels"]
    assert selector.items() <= config["metadata"]["labels"].items()
    assert spec["alertmanagerConfigNamespaceSelector"] == {}
    assert spec["alertmanagerConfigMatcherStrategy"] == {"type": "None"}


def test_only_productions_nats_is_scraped_and_only_once() -> None:
    """The JetStream alerts aggregate over every series: a second exporter of the same
    server doubles them, and dev's server would let a dev backlog page production."""
    docs = [d for d in yaml.safe_load_all((OBSERVABILITY / "exporters.yaml").read_text()) if d]
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    exporter = deployments["nats-exporter"]
    (container,) = exporter["spec"]["template"]["spec"]["containers"]
    production = yaml.safe_load((DEPLOY / "platform/controllers/nats.yaml").read_text())
    name, namespace = production["spec"]["values"]["fullnameOverride"], "nats"
    assert production["metadata"]["namespace"] == namespace
    assert container["args"][-1] == f"http://{name}.{namespace}.svc.cluster.local:8222"
    for release in ("nats.yaml", "nats-dev.yaml"):
        values = yaml.safe_load((DEPLOY / "platform/controllers" / release).read_text())
        assert values["spec"]["values"]["promExporter"]["enabled"] is False, release
