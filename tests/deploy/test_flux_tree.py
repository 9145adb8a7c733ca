"""The Flux tree of deploy/ reconciles from the repository alone.

`flux bootstrap ... --path=deploy/flux` applies deploy/flux; from there every
Kustomization's `sourceRef`, `dependsOn` and `path`, every HelmRelease's chart source, and
every image policy and automation must find its target here, in the current API versions.
"""

from __future__ import annotations

import copy
import fnmatch
import re

import pytest
import yaml

from tests.deploy.flux_tree import (
    CURRENT_VERSIONS,
    DEPLOY,
    ROOT,
    dangling_references,
    dependency_cycles,
    flux_objects,
    image_policy_markers,
    key,
    kustomize_resources,
)
from tests.deploy.kustomize import render

pytestmark = pytest.mark.unit

SECRETS_TEMPLATES = DEPLOY / "secrets" / "templates"


def applied_by_bootstrap() -> list[dict]:
    """The Flux objects deploy/flux/kustomization.yaml lists, plus what they apply."""
    flux = DEPLOY / "flux"
    listed = yaml.safe_load((flux / "kustomization.yaml").read_text())["resources"]
    direct = flux_objects(flux / name for name in listed)
    applied = list(direct)
    for doc in direct:
        if doc["kind"] == "Kustomization":
            for directory in kustomize_resources(ROOT / doc["spec"]["path"]):
                config = yaml.safe_load((directory / "kustomization.yaml").read_text())
                files = [directory / n for n in config.get("resources") or []]
                applied += flux_objects(p for p in files if p.is_file())
    return applied


def test_every_flux_object_uses_the_current_api_version() -> None:
    objects = flux_objects()
    assert {doc["kind"] for doc in objects} >= {"Kustomization", "HelmRelease", "ImagePolicy"}
    for doc in objects:
        assert doc["apiVersion"] == CURRENT_VERSIONS[doc["kind"]], key(doc)


def test_every_reference_of_the_bootstrapped_tree_finds_its_target() -> None:
    objects = applied_by_bootstrap()
    names = {doc["metadata"]["name"] for doc in objects if doc["kind"] == "Kustomization"}
    assert {"platform-controllers", "platform", "wildside-dev", "wildside-production"} <= names
    assert dangling_references(objects) == []
    assert dependency_cycles(objects) == []


def test_every_flux_object_in_deploy_is_applied_by_the_bootstrap() -> None:
    applied = {key(doc) for doc in applied_by_bootstrap()}
    assert {key(doc) for doc in flux_objects()} - applied == set()


def test_the_checks_catch_a_missing_dependency_source_path_and_cycle() -> None:
    objects = applied_by_bootstrap()
    dev = next(d for d in objects if d["metadata"]["name"] == "wildside-dev")
    broken = copy.deepcopy(dev)
    broken["metadata"]["name"] = "broken"
    broken["spec"]["dependsOn"] = [{"name": "no-such"}]
    broken["spec"]["sourceRef"]["name"] = "elsewhere"
    broken["spec"]["path"] = "./deploy/overlays/nowhere"
    problems = dangling_references([*objects, broken])
    assert len(problems) == 3
    assert all(p.startswith("Kustomization/flux-system/broken") for p in problems)
    loop = copy.deepcopy(broken)
    loop["spec"]["dependsOn"] = [{"name": "broken"}]
    assert dependency_cycles([loop]) == ["Kustomization/flux-system/broken"]


def test_kustomizations_that_apply_sops_secrets_decrypt_them_with_the_age_key() -> None:
    for doc in applied_by_bootstrap():
        if doc["kind"] != "Kustomization":
            continue
        directories = kustomize_resources(ROOT / doc["spec"]["path"])
        if any(d.is_relative_to(DEPLOY / "secrets") for d in directories):
            decryption = doc["spec"].get("decryption")
            assert decryption == {"provider": "sops", "secretRef": {"name": "sops-age"}}, key(doc)


def test_image_markers_name_existing_policies_and_both_environments_pin_a_digest() -> None:
    """Production: the newest release's tag and digest, resolved once. Dev: the tag `main`
    and its digest, re-resolved (each merge's image changes the manifest, so dev rolls)."""
    objects = flux_objects()
    policies = {
        f"{d['metadata']['namespace']}:{d['metadata']['name']}": d
        for d in objects
        if d["kind"] == "ImagePolicy"
    }
    markers = image_policy_markers(DEPLOY.rglob("*.yaml"))
    for path, marker in markers:
        policy, _, field = marker.partition(":")[2].partition(":")
        assert f"{marker.split(':')[0]}:{policy}" in policies, (path, marker)
        assert field in {"", "tag", "name", "digest"}, (path, marker)
    (automation,) = [d for d in objects if d["kind"] == "ImageUpdateAutomation"]
    updated = (ROOT / automation["spec"]["update"]["path"]).resolve()
    for overlay, policy, reflection in (
        ("production", "flux-system:wildside", "IfNotPresent"),
        ("dev", "flux-system:wildside-dev", "Always"),
    ):
        kustomization = DEPLOY / "overlays" / overlay / "kustomization.yaml"
        assert kustomization.is_relative_to(updated), overlay
        found = {marker for path, marker in markers if path == kustomization}
        assert found == {f"{policy}:tag", f"{policy}:digest"}, overlay
        assert policies[policy]["spec"]["digestReflectionPolicy"] == reflection
    dev = policies["flux-system:wildside-dev"]["spec"]
    assert dev["filterTags"]["pattern"] == "^main$"


def test_the_image_automations_commits_do_not_build_a_new_image() -> None:
    """images.yaml builds `main` only when what the image is made of changes: a commit of
    the automation (an overlay's pin) building a new `main` would be pinned again, forever."""
    workflow = yaml.safe_load((ROOT / ".github/workflows/images.yaml").read_text())
    paths = workflow[True]["push"]["paths"]  # YAML 1.1 reads the key `on` as True
    assert not any(fnmatch.fnmatch("deploy/overlays/dev/kustomization.yaml", p) for p in paths)
    copied = re.findall(r"^COPY (?!--from)(\S+)", (ROOT / "Dockerfile").read_text(), re.M)
    for source in copied:
        probe = f"{source.rstrip('/')}/x" if source.endswith("/") else source
        assert any(fnmatch.fnmatch(probe, p) for p in paths), source


def test_helm_charts_are_pinned_to_exact_versions() -> None:
    releases = [d for d in flux_objects() if d["kind"] == "HelmRelease"]
    charts = {d["spec"]["chart"]["spec"]["chart"] for d in releases}
    assert {"nats", "cloudnative-pg", "keda", "traefik", "cert-manager"} <= charts
    assert {"kube-prometheus-stack", "loki", "alloy"} <= charts
    for release in releases:
        version = str(release["spec"]["chart"]["spec"]["version"])
        assert version.lstrip("v").replace(".", "").isdigit(), (key(release), version)


def test_nats_runs_three_jetstream_nodes_and_production_streams_at_r3() -> None:
    releases = {key(d): d for d in flux_objects() if d["kind"] == "HelmRelease"}
    nats = releases[("HelmRelease", "nats", "nats")]
    config = nats["spec"]["values"]["config"]
    assert config["cluster"]["replicas"] == 3 and config["jetstream"]["enabled"] is True
    settings = yaml.safe_load((DEPLOY / "overlays/production/config.yaml").read_text())
    assert settings["data"]["NATS_STREAM_REPLICAS"] == "3"


def test_only_encrypted_secrets_and_placeholder_templates_are_committed() -> None:
    """A file under deploy/secrets/<scope>/ is SOPS-encrypted (seal-secrets.sh); the
    templates hold no value but REPLACE_ME where a secret goes."""
    secrets = DEPLOY / "secrets"
    for path in secrets.glob("*/*.yaml"):
        if path.parent.name == "templates" or path.name == "kustomization.yaml":
            continue
        docs = list(yaml.safe_load_all(path.read_text()))
        assert all("sops" in doc and doc["sops"].get("mac") for doc in docs), path
    templates = sorted((secrets / "templates").glob("*.yaml"))
    assert [t.stem for t in templates] == ["dev", "platform", "production"]
    for template in templates:
        for doc in yaml.safe_load_all(template.read_text()):
            assert doc["kind"] == "Secret"
            for field, value in doc["stringData"].items():
                if field != "username":
                    assert "REPLACE_ME" in value, (template.name, doc["metadata"]["name"], field)
    for env in ("dev", "production"):
        docs = yaml.safe_load_all((secrets / "templates" / f"{env}.yaml").read_text())
        keys = next(d for d in docs if d["metadata"]["name"] == "wildside-session-keys")
        # Rotation (scripts/rotate-session-keys.py) rewrites it: Flux must not undo that.
        annotations = keys["metadata"]["annotations"]
        assert annotations["kustomize.toolkit.fluxcd.io/ssa"] == "IfNotPresent"
    rules = yaml.safe_load((ROOT / ".sops.yaml").read_text())["creation_rules"]
    assert rules[0]["encrypted_regex"] == "^(data|stringData)$"
    assert "deploy/secrets/" in rules[0]["path_regex"]


def test_the_readme_names_the_bootstrap_command_and_what_an_operator_provides() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Operations: running it on Kubernetes", 1)[1].split("\n## ", 1)[0]
    for provided in ("**a Kubernetes cluster**", "**a DNS name**", "**an age key**"):
        assert provided in section, provided
    (command,) = [line for line in section.splitlines() if line.startswith("flux bootstrap")]
    assert "--read-write-key" in section  # the image automation pushes the production digest
    path = next(word for word in section.split() if word.startswith("--path="))
    assert (ROOT / path.removeprefix("--path=") / "kustomization.yaml").is_file(), command
    assert "sops-age" in section  # the Secret every decrypting Kustomization names


def secret_references(node: object, found: set[tuple[str, str | None]]) -> None:
    """(Secret, key or None) that `node` reads, optional ones left out: env secretKeyRefs,
    volumes and TLS secretNames, `{name, key}` selectors (AlertmanagerConfig receivers,
    CloudNativePG's backup credentials), CloudNativePG's role and bootstrap Secrets."""
    if isinstance(node, list):
        for item in node:
            secret_references(item, found)
    if not isinstance(node, dict):
        return
    for field, value in node.items():
        if field == "secretKeyRef" or (isinstance(value, dict) and set(value) == {"name", "key"}):
            if not value.get("optional", False):
                found.add((value["name"], value["key"]))
        elif field in {"passwordSecret", "secret"} and isinstance(value, dict) and "name" in value:
            found.add((value["name"], None))
        elif field == "secretName" and isinstance(value, str):
            found.add((value, None))
        else:
            secret_references(value, found)


SECRET_SCOPES = {
    # rendered directory: the template of the sealed Secrets it reads
    "overlays/production": "production",
    "observability": "production",  # applied into namespace wildside (targetNamespace)
    "overlays/dev": "dev",
    "platform/config": "platform",
}


@pytest.mark.parametrize("directory", sorted(SECRET_SCOPES))
def test_every_secret_a_scope_reads_is_in_its_sealed_secrets_template(directory: str) -> None:
    """Never a Secret made by hand: each one the manifests read (and each key of it) is
    in the template the operator fills and seals, or is made by a controller of the
    same scope (cert-manager's Certificate)."""
    rendered = render(DEPLOY / directory)
    made = {d["spec"]["secretName"] for d in rendered if d["kind"] == "Certificate"}
    wanted: set[tuple[str, str | None]] = set()
    for doc in rendered:
        if doc["kind"] not in {"Certificate", "Secret"}:
            secret_references(doc, wanted)
    template = SECRETS_TEMPLATES / f"{SECRET_SCOPES[directory]}.yaml"
    provided = {
        d["metadata"]["name"]: set(d.get("stringData", {})) | set(d.get("data", {}))
        for d in yaml.safe_load_all(template.read_text())
    }
    assert wanted, directory
    missing = sorted(
        f"{name}:{key}" if key else name
        for name, key in wanted
        if name not in made and (name not in provided or (key and key not in provided[name]))
    )
    assert not missing, f"{directory} reads Secrets that {template.name} does not hold: {missing}"


def test_the_secret_reference_walk_finds_each_kind_of_reference() -> None:
    found: set[tuple[str, str | None]] = set()
    secret_references(
        {
            "env": [
                {"valueFrom": {"secretKeyRef": {"name": "a", "key": "url"}}},
                {"valueFrom": {"secretKeyRef": {"name": "b", "key": "k", "optional": True}}},
            ],
            "volumes": [{"secret": {"secretName": "c"}}],
            "receivers": [{"apiURL": {"name": "d", "key": "webhook"}}],
            "roles": [{"passwordSecret": {"name": "e"}}],
        },
        found,
    )
    assert found == {("a", "url"), ("c", None), ("d", "webhook"), ("e", None)}
