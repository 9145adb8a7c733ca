"""scripts/preview.py renders a preview that Flux can reconcile and the reaper can remove."""

from __future__ import annotations

import argparse
import copy
import importlib.util
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from tests.deploy.flux_tree import DEPLOY, ROOT, dangling_references, flux_objects
from tests.deploy.test_schemas import problems
from wildside_common.session_keys import parse_key_document

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 5, 18, 0, 0, tzinfo=UTC)
DIGEST = "sha256:" + "ab" * 32


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "wildside_scripts_preview", ROOT / "scripts/preview.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


preview = load()


def by_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def test_a_preview_gets_its_namespace_with_an_expiry_and_every_object_is_labelled() -> None:
    docs = preview.render(42, "feature/x", now=NOW, ttl_hours=48, digest=DIGEST)
    (namespace,) = by_kind(docs, "Namespace").values()
    assert namespace["metadata"]["name"] == "wildside-pr-42"
    assert namespace["metadata"]["annotations"]["wildside.dev/expires-at"] == "2026-12-07T18:00:00Z"
    assert all(d["metadata"]["labels"]["wildside.dev/preview"] == "42" for d in docs)
    in_namespace = [
        d for d in docs if d["kind"] not in {"Namespace", "Kustomization", "GitRepository"}
    ]
    assert {d["metadata"]["namespace"] for d in in_namespace} == {"wildside-pr-42"}


def test_the_preview_has_every_secret_the_environments_have_with_fresh_values() -> None:
    docs = preview.render(42, "x", now=NOW)
    secrets = by_kind(docs, "Secret")
    template = yaml.safe_load_all((DEPLOY / "secrets/templates/dev.yaml").read_text())
    assert {d["metadata"]["name"] for d in template} <= secrets.keys()
    owner = secrets["preview-db-owner"]["stringData"]["password"]
    assert len(owner) >= 24
    assert (
        f"wildside:{owner}@wildside-db-rw:5432/wildside"
        in secrets["wildside-database"]["stringData"]["url"]
    )
    keys = parse_key_document(secrets["wildside-session-keys"]["stringData"]["session-keys.json"])
    assert [str(key.status) for key in keys] == ["signing"]
    again = by_kind(preview.render(42, "x", now=NOW), "Secret")
    assert again["preview-db-owner"]["stringData"]["password"] != owner
    assert again["wildside-session-keys"] != secrets["wildside-session-keys"]


def test_the_database_is_a_postgis_cluster_with_the_tile_roles_of_the_secrets() -> None:
    docs = preview.render(7, "x", now=NOW)
    cluster = by_kind(docs, "Cluster")["wildside-db"]
    assert "postgis" in cluster["spec"]["imageName"]
    assert cluster["spec"]["bootstrap"]["initdb"]["secret"]["name"] == "preview-db-owner"
    secrets = by_kind(docs, "Secret")
    for role in cluster["spec"]["managed"]["roles"]:
        stored = secrets[role["passwordSecret"]["name"]]["stringData"]
        assert stored["username"] == role["name"]
        url_secret = {"martin_ro": "martin-database", "tiles_auth_ro": "tiles-auth-database"}[
            role["name"]
        ]
        assert f"{role['name']}:{stored['password']}@" in secrets[url_secret]["stringData"]["url"]


def test_every_generated_object_matches_its_schema_as_the_api_server_would_judge_it() -> None:
    """What the workflow pipes into `kubectl apply`: Kubernetes' kinds against the 1.33
    schemas, the CloudNativePG Cluster and the Flux objects against deploy/schemas."""
    created = preview.render(42, "feature/x", now=NOW, digest=DIGEST)
    updated = preview.render(42, "feature/x", now=NOW, digest=DIGEST, update=True)
    assert {d["kind"] for d in created} == {
        "Namespace", "Secret", "Cluster", "GitRepository", "Kustomization"
    }  # fmt: skip
    found = [problem for doc in [*created, *updated] for problem in problems(doc)]
    assert not found, "\n".join(found)
    broken = copy.deepcopy(by_kind(created, "Cluster")["wildside-db"])
    broken["spec"]["instances"] = "one"
    assert problems(broken)


def test_the_flux_objects_reconcile_against_the_committed_tree_with_the_prs_image() -> None:
    docs = preview.render(42, "feature/x", now=NOW, digest=DIGEST, domain="p.example.org")
    flux = [d for d in docs if ".toolkit.fluxcd.io/" in d["apiVersion"]]
    assert dangling_references([*flux_objects(), *flux]) == []
    kustomization = by_kind(docs, "Kustomization")["wildside-pr-42"]
    spec = kustomization["spec"]
    assert spec["targetNamespace"] == "wildside-pr-42"
    assert spec["images"] == [{"name": preview.IMAGE, "newTag": "pr-42", "digest": DIGEST}]
    assert spec["postBuild"]["substitute"] == {
        "PREVIEW_NAMESPACE": "wildside-pr-42",
        "PREVIEW_HOST": "pr-42.p.example.org",
    }
    assert by_kind(docs, "GitRepository")["wildside-pr-42"]["spec"]["ref"] == {
        "branch": "feature/x"
    }


def test_the_preview_overlay_names_only_the_variables_the_kustomization_substitutes() -> None:
    overlay = DEPLOY / "overlays/preview"
    text = "\n".join(p.read_text() for p in overlay.glob("*.yaml"))
    substituted = set(preview.render(1, "x", now=NOW)[-1]["spec"]["postBuild"]["substitute"])
    assert set(re.findall(r"\$\{([A-Z_]+)\}", text)) == substituted


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["render", "--pr", "0", "--branch", "x"], "pr:"),
        (["render", "--pr", "3", "--branch", "x", "--ttl-hours", "0"], "ttl-hours:"),
        (["render", "--pr", "3", "--branch", "x", "--digest", "latest"], "digest:"),
    ],
)
def test_bad_arguments_are_refused(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert preview.main(args) == 2
    assert message in capsys.readouterr().err


def test_teardown_removes_the_flux_objects_before_the_namespace(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert preview.main(["teardown", "--pr", "9", "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "kustomizations" in lines[0] and "-l wildside.dev/preview=9" in lines[0]
    assert "gitrepositories" in lines[1]
    assert lines[2].startswith("kubectl delete namespace wildside-pr-9")


def test_the_reaper_deletes_only_expired_previews(tmp_path: Path) -> None:
    """The CronJob's script, run with a fake kubectl listing three preview namespaces."""
    (reaper,) = [
        d
        for d in yaml.safe_load_all((DEPLOY / "platform/config/preview-reaper.yaml").read_text())
        if d["kind"] == "ConfigMap"
    ]
    expired = preview.render(1, "x", now=datetime(2020, 1, 1, tzinfo=UTC), ttl_hours=1)[0]
    alive = preview.render(2, "x", now=datetime(2999, 1, 1, tzinfo=UTC), ttl_hours=1)[0]
    listing = (
        "".join(
            f"{ns['metadata']['name']} {ns['metadata']['labels']['wildside.dev/preview']} "
            f"{ns['metadata']['annotations']['wildside.dev/expires-at']}\n"
            for ns in (expired, alive)
        )
        + "wildside-pr-3 3\n"
    )
    (tmp_path / "namespaces").write_text(listing)
    kubectl = tmp_path / "kubectl"
    kubectl.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = get ]; then cat {tmp_path}/namespaces\n'
        f'else echo "$*" >> {tmp_path}/calls; fi\n'
    )
    kubectl.chmod(0o755)
    script = tmp_path / "reap.sh"
    script.write_text(reaper["data"]["reap.sh"])
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin"}
    subprocess.run(["sh", str(script)], env=env, check=True, capture_output=True, timeout=30)
    calls = (tmp_path / "calls").read_text().splitlines()
    assert [c.split()[:6] for c in calls] == [
        [
            "-n",
            "flux-system",
            "delete",
            "kustomizations.kustomize.toolkit.fluxcd.io",
            "-l",
            "wildside.dev/preview=1",
        ],
        [
            "-n",
            "flux-system",
            "delete",
            "gitrepositories.source.toolkit.fluxcd.io",
            "-l",
            "wildside.dev/preview=1",
        ],
        ["delete", "namespace", "wildside-pr-1", "--ignore-not-found", "--wait=false"],
    ]


def test_the_script_runs_as_a_command() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts/preview.py"), "render", "--pr", "5", "--branch", "b"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    kinds = [d["kind"] for d in yaml.safe_load_all(result.stdout)]
    assert kinds[0] == "Namespace" and kinds[-2:] == ["GitRepository", "Kustomization"]


def test_an_update_keeps_the_database_and_secrets_and_moves_the_expiry_and_image() -> None:
    later = datetime(2026, 12, 6, 18, 0, 0, tzinfo=UTC)
    docs = preview.render(42, "x", now=later, ttl_hours=1, digest=DIGEST, update=True)
    assert [d["kind"] for d in docs] == ["Namespace", "GitRepository", "Kustomization"]
    assert docs[0]["metadata"]["annotations"]["wildside.dev/expires-at"] == "2026-12-06T19:00:00Z"
    assert docs[-1]["spec"]["images"][0]["digest"] == DIGEST
    full = preview.render(42, "x", now=later, ttl_hours=1, digest=DIGEST)
    assert docs[-1] == full[-1] and docs[0] == full[0]


@pytest.mark.parametrize("where", ["preview", "platform"])
def test_each_database_cluster_creates_the_roles_the_tile_migration_expects(where: str) -> None:
    """Migration 0005 runs as the schema owner, which may not create roles."""
    if where == "preview":
        cluster = by_kind(preview.render(3, "x", now=NOW), "Cluster")["wildside-db"]
    else:
        docs = yaml.safe_load_all((DEPLOY / "platform/config/postgres.yaml").read_text())
        cluster = next(d for d in docs if d["kind"] == "Cluster")
    migration = (
        ROOT / "libs/common/src/wildside_common/db/migrations/0005.tile_roles.sql"
    ).read_text()
    sql = cluster["spec"]["bootstrap"]["initdb"]["postInitApplicationSQL"]
    owner = cluster["spec"]["bootstrap"]["initdb"]["owner"]
    for role in ("wildside_tiles", "martin_ro", "tiles_auth_ro"):
        assert f"'{role}" in migration
        assert any(line.startswith(f"CREATE ROLE {role} ") for line in sql), role
    assert f"GRANT wildside_tiles TO {owner}" in sql


def test_the_workflows_call_the_generator_with_flags_it_knows_and_images_output_a_digest() -> None:
    workflows = ROOT / ".github/workflows"
    previews = yaml.safe_load((workflows / "previews.yaml").read_text())
    runs = [
        step["run"]
        for job in previews["jobs"].values()
        for step in job.get("steps", [])
        if "scripts/preview.py" in step.get("run", "")
    ]
    assert any(" render " in r for r in runs) and any(" teardown " in r for r in runs)
    (commands,) = [
        a for a in preview.parser()._actions if isinstance(a, argparse._SubParsersAction)
    ]
    known = {
        flag
        for sub in commands.choices.values()
        for action in sub._actions
        for flag in action.option_strings
    }
    used = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", "\n".join(runs)))
    assert used and used <= known, used - known
    images = yaml.safe_load((workflows / "images.yaml").read_text())
    call = images[True]["workflow_call"]  # YAML 1.1 reads the key `on` as True
    assert "digest" in call["outputs"] and "tag" in call["inputs"]
    assert previews["jobs"]["image"]["uses"] == "./.github/workflows/images.yaml"
