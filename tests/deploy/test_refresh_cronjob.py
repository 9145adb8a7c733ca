"""The nightly OSM refresh CronJob and its staleness alert (deploy/base/cronjob-refresh.yaml)."""

from __future__ import annotations

import tomllib

import pytest
import yaml

from tests.deploy.flux_tree import DEPLOY, ROOT

pytestmark = pytest.mark.unit

DOCS = list(yaml.safe_load_all((DEPLOY / "base/cronjob-refresh.yaml").read_text()))
(CRONJOB,) = [d for d in DOCS if d["kind"] == "CronJob"]
(RULE,) = [d for d in DOCS if d["kind"] == "PrometheusRule"]


def test_the_refresh_never_overlaps_and_keeps_a_short_history() -> None:
    spec = CRONJOB["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    assert 1 <= spec["successfulJobsHistoryLimit"] <= 5 and 1 <= spec["failedJobsHistoryLimit"] <= 5
    assert len(spec["schedule"].split()) == 5 and "suspend" not in spec


def test_the_refresh_runs_the_installed_command_with_its_cache_on_a_volume() -> None:
    pod = CRONJOB["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    scripts = tomllib.loads((ROOT / "services/ingest/pyproject.toml").read_text())["project"]
    assert container["command"][:2] == ["ingest-osm-refresh", "run"]
    assert container["command"][0] in scripts["scripts"]
    assert container["image"] == "ghcr.io/wildside/wildside"
    dest = container["command"][3]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volume = next(v for v in pod["volumes"] if v["name"] == mounts["/cache"])
    assert dest.startswith("/cache/")
    claim = volume["persistentVolumeClaim"]["claimName"]
    assert claim in {d["metadata"]["name"] for d in DOCS if d["kind"] == "PersistentVolumeClaim"}
    settings = yaml.safe_load((DEPLOY / "base/configmap.yaml").read_text())["data"]
    for word in container["command"]:
        if word.startswith("$("):
            assert word[2:-1] in settings, word


def test_an_alert_fires_when_the_refresh_has_not_succeeded_for_36_hours() -> None:
    (alert,) = [rule for group in RULE["spec"]["groups"] for rule in group["rules"]]
    expr = alert["expr"]
    assert "kube_cronjob_status_last_successful_time" in expr and "36 * 3600" in expr
    assert f'cronjob="{CRONJOB["metadata"]["name"]}"' in expr
    assert alert["labels"]["severity"] in {"warning", "critical"}
    assert (ROOT / alert["annotations"]["runbook_url"]).is_file()


def test_the_base_lists_the_refresh_and_dev_suspends_it() -> None:
    base = yaml.safe_load((DEPLOY / "base/kustomization.yaml").read_text())
    assert "cronjob-refresh.yaml" in base["resources"]
    dev = (DEPLOY / "overlays/dev/kustomization.yaml").read_text()
    assert "name: wildside-osm-refresh" in dev and "/spec/suspend" in dev


# Its promtool unit test (fires after 36 h without success, never for a suspended CronJob)
# is in deploy/observability/tests/alerts.yaml with every other alert's.
