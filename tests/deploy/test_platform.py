"""deploy/platform provides what the app's manifests and Secrets expect."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.deploy.flux_tree import DEPLOY
from tests.deploy.kustomize import render

pytestmark = pytest.mark.unit

Doc = dict[str, Any]


def docs(relative: str) -> list[Doc]:
    return [d for d in yaml.safe_load_all((DEPLOY / relative).read_text()) if d]


def one(relative: str, kind: str, name: str | None = None) -> Doc:
    found = [
        d
        for d in docs(relative)
        if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)
    ]
    assert len(found) == 1, (relative, kind, name)
    return found[0]


def test_the_database_is_postgis_with_scheduled_backups_to_object_storage() -> None:
    cluster = one("platform/config/postgres.yaml", "Cluster")
    assert "postgis" in cluster["spec"]["imageName"] and cluster["spec"]["instances"] >= 3
    store = cluster["spec"]["backup"]["barmanObjectStore"]
    assert store["destinationPath"].startswith("s3://") and store["wal"]
    backup = one("platform/config/postgres.yaml", "ScheduledBackup")
    assert backup["spec"]["cluster"]["name"] == cluster["metadata"]["name"]
    assert len(backup["spec"]["schedule"].split()) == 6  # CNPG's cron has seconds
    dev = one("platform/config/postgres.yaml", "Database")
    managed = {role["name"] for role in cluster["spec"]["managed"]["roles"]}
    assert dev["spec"]["owner"] in managed


def test_every_password_the_database_reads_is_in_the_platform_secrets_template() -> None:
    cluster = one("platform/config/postgres.yaml", "Cluster")
    template = {
        (d["metadata"]["namespace"], d["metadata"]["name"]): d
        for d in docs("secrets/templates/platform.yaml")
    }
    namespace = cluster["metadata"]["namespace"]
    wanted = [cluster["spec"]["bootstrap"]["initdb"]["secret"]["name"]]
    wanted += [role["passwordSecret"]["name"] for role in cluster["spec"]["managed"]["roles"]]
    wanted.append(
        cluster["spec"]["backup"]["barmanObjectStore"]["s3Credentials"]["accessKeyId"]["name"]
    )
    for name in wanted:
        assert (namespace, name) in template, name
    for role in cluster["spec"]["managed"]["roles"]:
        secret = template[(namespace, role["passwordSecret"]["name"])]
        assert secret["stringData"]["username"] == role["name"]


def test_redis_keeps_an_append_only_file_on_a_volume() -> None:
    redis = one("platform/config/redis.yaml", "StatefulSet")
    (container,) = redis["spec"]["template"]["spec"]["containers"]
    command = container["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--maxmemory-policy") + 1].startswith("volatile-")
    assert command[command.index("--dir") + 1] == container["volumeMounts"][0]["mountPath"]
    claims = {t["metadata"]["name"] for t in redis["spec"]["volumeClaimTemplates"]}
    assert container["volumeMounts"][0]["name"] in claims
    secret = container["env"][0]["valueFrom"]["secretKeyRef"]
    template = {d["metadata"]["name"]: d for d in docs("secrets/templates/platform.yaml")}
    assert secret["key"] in template[secret["name"]]["stringData"]


def test_the_ingress_certificate_is_issued_by_the_platforms_issuer_into_the_routes_secret() -> None:
    issuer = one("platform/config/cluster-issuer.yaml", "ClusterIssuer")
    certificate = one("base/certificate.yaml", "Certificate")
    route = one("base/ingress.yaml", "IngressRoute")
    assert certificate["spec"]["issuerRef"] == {
        "kind": "ClusterIssuer",
        "name": issuer["metadata"]["name"],
    }
    assert certificate["spec"]["secretName"] == route["spec"]["tls"]["secretName"]
    host = route["spec"]["routes"][1]["match"].split("`")[1]
    assert certificate["spec"]["dnsNames"] == [host]


def test_the_services_reach_the_platforms_nats_at_the_address_the_config_names() -> None:
    nats = one("platform/controllers/nats.yaml", "HelmRelease")
    settings = one("base/configmap.yaml", "ConfigMap")["data"]
    name, namespace = nats["spec"]["values"]["fullnameOverride"], nats["metadata"]["namespace"]
    assert settings["NATS_URL"] == f"nats://{name}.{namespace}.svc.cluster.local:4222"
    assert nats["spec"]["values"]["config"]["monitor"]["port"] == 8222


def rendered(overlay: str) -> list[Doc]:
    """The overlay as the pinned kubectl renders it (never skipped: tests/deploy/kustomize.py)."""
    return render(DEPLOY / "overlays" / overlay)


def test_each_environment_has_its_own_nats_and_keda_watches_that_one() -> None:
    """The stream and consumer names are the same everywhere: a shared server would let
    dev's workers take production's jobs."""
    hosts = {}
    for overlay in ("dev", "production", "preview"):
        objects = rendered(overlay)
        config = next(d for d in objects if d["metadata"]["name"] == "wildside-config")
        host = config["data"]["NATS_URL"].removeprefix("nats://").rpartition(":")[0]
        if "." not in host:  # a Service of the overlay itself
            host = f"{host}.${{PREVIEW_NAMESPACE}}.svc.cluster.local"
        hosts[overlay] = host
        for scaled in (d for d in objects if d["kind"] == "ScaledObject"):
            (trigger,) = scaled["spec"]["triggers"]
            endpoint = trigger["metadata"]["natsServerMonitoringEndpoint"]
            assert endpoint == f"{host}:8222", (overlay, scaled["metadata"]["name"])
    assert len(set(hosts.values())) == 3, hosts
    releases = {
        (d["metadata"]["namespace"], d["spec"]["values"]["fullnameOverride"])
        for path in ("platform/controllers/nats.yaml", "platform/controllers/nats-dev.yaml")
        for d in docs(path)
    }
    for overlay in ("dev", "production"):
        name, namespace = hosts[overlay].split(".")[:2]
        assert (namespace, name) in releases, overlay
