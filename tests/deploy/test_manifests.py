"""deploy/, compose.yaml and the Procfile are consistent with each other and with the code.

No cluster and no container engine here: these checks read the files. They catch what
breaks a rollout silently: a manifest that does not parse, a kustomization naming a missing
file, a Deployment without probes or resources, a container running a console script no
package installs, a KEDA trigger naming a stream or consumer the bus does not have.
"""

from __future__ import annotations

import functools
import json
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.kustomize import kustomize_dirs, render
from wildside_common.bus import topology
from wildside_tiles_auth.domain.route_tiles import DEFAULT_POLICY

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
BASE = DEPLOY / "base"
IMAGE = "ghcr.io/wildside/wildside"
MOVING_TAGS = {"main", "latest", "dev"}
Doc = dict[str, Any]


def yaml_files() -> list[Path]:
    return sorted([*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml"), ROOT / "compose.yaml"])


def documents(path: Path) -> list[Doc]:
    with path.open() as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc is not None]


@functools.cache
def base_documents() -> list[Doc]:
    kustomization = documents(BASE / "kustomization.yaml")[0]
    return [doc for name in kustomization["resources"] for doc in documents(BASE / name)]


def of_kind(kind: str) -> list[Doc]:
    return [doc for doc in base_documents() if doc["kind"] == kind]


def pod_spec(workload: Doc) -> Doc:
    spec: Doc = workload["spec"]["template"]["spec"]
    return spec


def containers(workload: Doc, init: bool = True) -> Iterator[Doc]:
    spec = pod_spec(workload)
    yield from spec["containers"]
    if init:
        yield from spec.get("initContainers", [])


def console_scripts() -> set[str]:
    scripts: set[str] = set()
    for pyproject in [*ROOT.glob("services/*/pyproject.toml"), ROOT / "libs/common/pyproject.toml"]:
        project = tomllib.loads(pyproject.read_text())["project"]
        scripts.update(project.get("scripts", {}))
    return scripts


@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_yaml_file_parses_into_mappings(path: Path) -> None:
    docs = documents(path)
    assert docs, f"{path} is empty"
    assert all(isinstance(doc, dict) for doc in docs)
    # promtool's unit tests of the alerts are no Kubernetes documents
    if path.is_relative_to(DEPLOY) and not path.is_relative_to(DEPLOY / "observability/tests"):
        for doc in docs:
            assert {"apiVersion", "kind"} <= doc.keys(), f"{path}: {doc}"


@pytest.mark.parametrize("path", sorted(DEPLOY.rglob("*.json")), ids=lambda p: p.name)
def test_every_json_file_parses(path: Path) -> None:
    assert json.loads(path.read_text())


@pytest.mark.parametrize(
    "path",
    sorted(DEPLOY.rglob("kustomization.yaml")),
    ids=lambda p: str(p.parent.relative_to(DEPLOY)),
)
def test_kustomizations_name_only_existing_files(path: Path) -> None:
    kustomization = documents(path)[0]
    named = [
        *kustomization.get("resources", []),
        *(patch["path"] for patch in kustomization.get("patches", []) if "path" in patch),
    ]
    for generator in kustomization.get("configMapGenerator", []):
        named += [entry.split("=", 1)[-1] for entry in generator.get("files", [])]
    for name in named:
        target = (path.parent / name).resolve()
        assert target.is_file() or (target / "kustomization.yaml").is_file(), f"{path}: {name}"


def test_base_runs_the_four_services_and_martin() -> None:
    names = {doc["metadata"]["name"] for doc in of_kind("Deployment")}
    assert names == {"gateway", "router", "enricher", "tiles-auth", "martin"}
    assert {doc["metadata"]["name"] for doc in of_kind("Job")} == {
        "wildside-migrate",
        "wildside-ingest",
    }


@pytest.mark.parametrize("deployment", of_kind("Deployment"), ids=lambda d: d["metadata"]["name"])
def test_every_deployment_has_probes_on_its_own_ports_and_resources(deployment: Doc) -> None:
    for container in containers(deployment, init=False):
        ports = {port["name"] for port in container["ports"]}
        for probe in ("livenessProbe", "readinessProbe"):
            assert probe in container, f"{container['name']} has no {probe}"
            assert container[probe]["httpGet"]["port"] in ports
        resources = container["resources"]
        for section in ("requests", "limits"):
            assert {"cpu", "memory"} <= resources[section].keys()


def test_service_probes_use_the_health_endpoints() -> None:
    for deployment in of_kind("Deployment"):
        if deployment["metadata"]["name"] == "martin":
            continue
        container = next(containers(deployment, init=False))
        assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"


def test_every_job_container_has_resources() -> None:
    for job in of_kind("Job"):
        for container in containers(job):
            assert {"cpu", "memory"} <= container["resources"]["limits"].keys()


def test_wildside_workloads_share_one_image_and_run_installed_commands() -> None:
    scripts = console_scripts() | {"python"}
    for workload in [*of_kind("Deployment"), *of_kind("Job")]:
        for container in containers(workload):
            if container["name"] == "martin":
                assert container["image"].startswith("ghcr.io/maplibre/martin:")
                continue
            assert container["image"] == IMAGE, container["name"]
            assert container["command"][0] in scripts, container["command"]


def test_overlays_set_the_image_and_production_never_uses_a_moving_tag() -> None:
    for overlay in ("dev", "production"):
        images = documents(DEPLOY / "overlays" / overlay / "kustomization.yaml")[0]["images"]
        assert [image["name"] for image in images] == [IMAGE]
    production = documents(DEPLOY / "overlays/production/kustomization.yaml")[0]["images"][0]
    assert production.get("newTag") not in MOVING_TAGS
    assert re.fullmatch(r"\d+\.\d+\.\d+", production["newTag"]) or "digest" in production


def test_services_select_pods_and_ports_that_exist() -> None:
    pods = {d["metadata"]["name"]: d for d in of_kind("Deployment")}
    for service in of_kind("Service"):
        selector = service["spec"]["selector"]
        matching = [
            d
            for d in pods.values()
            if selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert len(matching) == 1, service["metadata"]["name"]
        names = {p["name"] for c in containers(matching[0], init=False) for p in c["ports"]}
        assert {port["targetPort"] for port in service["spec"]["ports"]} <= names


def test_every_deployment_has_a_disruption_budget() -> None:
    budgets = {
        d["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]
        for d in of_kind("PodDisruptionBudget")
    }
    assert budgets == {d["metadata"]["name"] for d in of_kind("Deployment")}


def test_keda_scales_the_workers_on_the_streams_and_consumers_the_bus_provisions() -> None:
    expected = {
        "router": (topology.ROUTE_JOBS_STREAM, topology.ROUTER_CONSUMER),
        "enricher": (topology.ENRICHMENT_JOBS_STREAM, topology.ENRICHER_CONSUMER),
    }
    scaled = {}
    for scaled_object in of_kind("ScaledObject"):
        (trigger,) = scaled_object["spec"]["triggers"]
        assert trigger["type"] == "nats-jetstream"
        target = scaled_object["spec"]["scaleTargetRef"]["name"]
        scaled[target] = (trigger["metadata"]["stream"], trigger["metadata"]["consumer"])
    assert scaled == expected


def test_tiles_go_through_forward_auth_to_martin_and_the_rest_to_the_gateway() -> None:
    (route,) = of_kind("IngressRoute")
    tiles, rest = route["spec"]["routes"]
    assert "PathPrefix(`/tiles/`)" in tiles["match"]
    limited = ["per-client-rate-limit"]
    assert [m["name"] for m in tiles["middlewares"]] == [
        *limited,
        "tiles-auth",
        "tiles-strip-prefix",
    ]
    assert tiles["services"][0]["name"] == "martin"
    assert rest["services"][0]["name"] == "gateway"
    assert [m["name"] for m in rest["middlewares"]] == limited  # reads are limited too
    limit = next(m for m in of_kind("Middleware") if m["metadata"]["name"] == limited[0])
    assert limit["spec"]["rateLimit"]["average"] > 0 and limit["spec"]["rateLimit"]["burst"] > 0
    auth = next(m for m in of_kind("Middleware") if m["metadata"]["name"] == "tiles-auth")
    assert auth["spec"]["forwardAuth"]["address"].endswith(":8090/auth")
    martin = next(d for d in of_kind("Deployment") if d["metadata"]["name"] == "martin")
    args = next(containers(martin))["args"]
    assert args[args.index("--base-path") + 1] == "/tiles"


def test_alerts_have_severity_and_existing_runbooks() -> None:
    (rules,) = documents(DEPLOY / "observability" / "prometheusrule.yaml")
    alerts = [rule for group in rules["spec"]["groups"] for rule in group["rules"]]
    assert {
        "WildsideGatewayLatencyP95High",
        "WildsideGateway5xxRateHigh",
        "WildsideConsumerLagHigh",
        "WildsideDeadLetters",
        "WildsideRedisEvictions",
    } <= {a["alert"] for a in alerts}
    for alert in alerts:
        assert alert["expr"].strip()
        assert alert["labels"]["severity"] in {"warning", "critical"}
        assert (ROOT / alert["annotations"]["runbook_url"]).is_file(), alert["alert"]


def test_dashboard_panels_have_queries() -> None:
    dashboard = json.loads((DEPLOY / "observability" / "grafana-dashboard.json").read_text())
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
    assert panels and all(t["expr"] for p in panels for t in p["targets"])


def test_compose_builds_one_image_with_healthchecks_and_known_dependencies() -> None:
    services = documents(ROOT / "compose.yaml")[0]["services"]
    built = {name: s for name, s in services.items() if "build" in s}
    assert {s["image"] for s in built.values()} == {f"{IMAGE}:local"}
    assert {s["build"]["dockerfile"] for s in built.values()} == {"Dockerfile"}
    assert (ROOT / "Dockerfile").read_text().count("FROM python:3.11-slim") == 2
    for name, service in services.items():
        assert set(service.get("depends_on", {})) <= services.keys(), name
        long_running = service.get("restart") != "no" and name != "martin"
        assert not long_running or "healthcheck" in service, name
    base_martin = next(d for d in of_kind("Deployment") if d["metadata"]["name"] == "martin")
    assert services["martin"]["image"] == next(containers(base_martin))["image"]


def test_procfile_runs_installed_console_scripts() -> None:
    scripts = console_scripts()
    lines = [
        line
        for line in (ROOT / "Procfile").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    names = {line.split(":", 1)[0] for line in lines}
    assert names == {"gateway", "router", "enricher", "tiles-auth", "tiles-dev"}
    for line in lines:
        command = next(word for word in line.split(":", 1)[1].split() if "/" in word)
        assert command.removeprefix(".venv/bin/") in scripts, line


KUSTOMIZE_DIRS = kustomize_dirs()


@pytest.mark.parametrize("directory", KUSTOMIZE_DIRS, ids=lambda p: str(p.relative_to(DEPLOY)))
def test_every_kustomization_renders(directory: Path) -> None:
    docs = render(directory)
    # deploy/secrets/<scope> lists no Secret until an operator seals one (seal-secrets.sh).
    assert docs or directory.parent == DEPLOY / "secrets"


@pytest.mark.parametrize(
    ("overlay", "namespace"), [("dev", "wildside-dev"), ("production", "wildside")]
)
def test_overlays_render_into_their_namespace_with_a_pinned_image(
    overlay: str, namespace: str
) -> None:
    docs = render(DEPLOY / "overlays" / overlay)
    for doc in docs:
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == namespace, doc["metadata"]["name"]
    images = {c["image"] for d in docs if d["kind"] in {"Deployment", "Job"} for c in containers(d)}
    wildside = {image for image in images if image.startswith(IMAGE)}
    assert len(wildside) == 1, wildside
    (image,) = wildside
    if overlay == "production":
        assert image.rpartition(":")[2] not in MOVING_TAGS
    auth = next(
        d for d in docs if d["kind"] == "Middleware" and d["metadata"]["name"] == "tiles-auth"
    )
    assert f".{namespace}.svc" in auth["spec"]["forwardAuth"]["address"]


def test_martin_serves_only_the_listed_functions_from_one_config_file() -> None:
    """Martin runs from one explicit config (the ConfigMap, and compose's copy of it):
    function sources only, nothing auto-published, the same ids tiles-auth allows."""
    (config_map,) = [d for d in of_kind("ConfigMap") if d["metadata"]["name"] == "martin-config"]
    text = config_map["data"]["config.yaml"]
    compose = documents(ROOT / "compose.yaml")[0]
    assert compose["configs"]["martin"]["content"].replace("$$", "$") == text
    config = yaml.safe_load(text)
    assert set(config) <= {"web_ui", "on_invalid", "postgres"}, "only PostGIS functions"
    postgres = config["postgres"]
    assert postgres["auto_publish"] is False and "tables" not in postgres
    assert postgres["connection_string"] == "${DATABASE_URL}"
    settings = next(d for d in of_kind("ConfigMap") if d["metadata"]["name"] == "wildside-config")
    assert set(postgres["functions"]) == set(settings["data"]["TILES_SOURCES"].split(","))
    assert set(postgres["functions"]) == DEFAULT_POLICY.sources
    martin = next(d for d in of_kind("Deployment") if d["metadata"]["name"] == "martin")
    container = next(containers(martin))
    (mount,) = container["volumeMounts"]
    volume = next(v for v in pod_spec(martin)["volumes"] if v["name"] == mount["name"])
    assert volume["configMap"]["name"] == "martin-config"
    args = container["args"]
    assert args[args.index("--config") + 1] == f"{mount['mountPath']}/config.yaml"
    command = compose["services"]["martin"]["command"]
    (target,) = [c["target"] for c in compose["services"]["martin"]["configs"]]
    assert command[command.index("--config") + 1] == target


def test_martin_and_tiles_auth_each_connect_with_their_own_role() -> None:
    services = documents(ROOT / "compose.yaml")[0]["services"]
    assert services["martin"]["environment"]["DATABASE_URL"].startswith("postgresql://martin_ro:")
    tiles_auth = services["tiles-auth"]["environment"]["DATABASE_URL"]
    assert tiles_auth.startswith("postgresql://tiles_auth_ro:")
    secrets = {}
    for name in ("martin", "tiles-auth"):
        deployment = next(d for d in of_kind("Deployment") if d["metadata"]["name"] == name)
        env = {e["name"]: e for e in next(containers(deployment))["env"]}
        secrets[name] = env["DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"]
    assert secrets == {"martin": "martin-database", "tiles-auth": "tiles-auth-database"}
    initdb = (DEPLOY / "compose" / "initdb-martin.sql").read_text()
    statements = [line for line in initdb.splitlines() if not line.startswith("--")]
    assert not [s for s in statements if re.match(r"\s*(GRANT|ALTER DEFAULT)", s, re.I)], (
        "grants belong to migration 0005.tile_roles"
    )


def test_the_gateway_is_scraped_on_its_metrics_port_which_traefik_never_routes() -> None:
    gateway = next(d for d in of_kind("Deployment") if d["metadata"]["name"] == "gateway")
    container = next(containers(gateway, init=False))
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert env["METRICS_PORT"] == str(ports["metrics"]) and ports["metrics"] != ports["http"]
    monitors = documents(DEPLOY / "observability" / "servicemonitors.yaml")
    scraped = {
        (name, endpoint["port"])
        for monitor in monitors
        for expression in monitor["spec"]["selector"].get("matchExpressions", [])
        for name in expression["values"]
        for endpoint in monitor["spec"]["endpoints"]
    }
    assert ("gateway", "metrics") in scraped and ("gateway", "http") not in scraped
    (route,) = of_kind("IngressRoute")
    targets = [service for rule in route["spec"]["routes"] for service in rule["services"]]
    assert {"name": "gateway", "port": 8080} in targets
    assert all(service.get("port") != ports["metrics"] for service in targets)


def test_flux_kustomizations_point_at_directories_that_render_from_a_known_source() -> None:
    docs = render(DEPLOY / "flux")
    sources = {(d["kind"], d["metadata"]["name"]) for d in docs}
    flux = [d for d in docs if d["apiVersion"].startswith("kustomize.toolkit.fluxcd.io/")]
    assert flux
    for kustomization in flux:
        spec = kustomization["spec"]
        assert (spec["sourceRef"]["kind"], spec["sourceRef"]["name"]) in sources, spec
        directory = (ROOT / spec["path"]).resolve()
        assert directory.is_relative_to(DEPLOY) and (directory / "kustomization.yaml").is_file()
        assert render(directory), spec["path"]
