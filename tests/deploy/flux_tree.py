"""Reading the Flux objects of deploy/ and finding references that point nowhere.

Used by test_flux_tree.py (the committed tree) and test_preview.py (the tree plus what
scripts/preview.py renders): a Flux Kustomization whose `dependsOn`, `sourceRef` or `path`
names nothing never becomes Ready, and Flux says so only in the cluster.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
Doc = dict[str, Any]
Key = tuple[str, str, str]

# The API versions this tree is written for (Flux 2.4 and later).
CURRENT_VERSIONS = {
    "Kustomization": "kustomize.toolkit.fluxcd.io/v1",
    "GitRepository": "source.toolkit.fluxcd.io/v1",
    "HelmRepository": "source.toolkit.fluxcd.io/v1",
    "HelmRelease": "helm.toolkit.fluxcd.io/v2",
    "ImageRepository": "image.toolkit.fluxcd.io/v1beta2",
    "ImagePolicy": "image.toolkit.fluxcd.io/v1beta2",
    "ImageUpdateAutomation": "image.toolkit.fluxcd.io/v1beta2",
}
MARKER = re.compile(r'#\s*(\{"\$imagepolicy":\s*"[^"]*"\})')


def is_flux(doc: Doc) -> bool:
    return ".toolkit.fluxcd.io/" in str(doc.get("apiVersion", ""))


def flux_objects(paths: Iterable[Path] | None = None) -> list[Doc]:
    """Every Flux object in the YAML files of deploy/ (or of `paths`)."""
    files = sorted(DEPLOY.rglob("*.yaml")) if paths is None else list(paths)
    found = []
    for path in files:
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and is_flux(doc):
                found.append(doc)
    return found


def key(doc: Doc) -> Key:
    meta = doc["metadata"]
    return (doc["kind"], meta.get("namespace", "default"), meta["name"])


def ref_key(ref: Doc, kind: str, owner: Doc) -> Key:
    namespace = ref.get("namespace", owner["metadata"].get("namespace", "default"))
    return (ref.get("kind", kind), namespace, ref["name"])


def path_exists(path: str) -> bool:
    target = (ROOT / path).resolve()
    return target.is_relative_to(ROOT) and target.is_dir()


def dangling_references(objects: list[Doc]) -> list[str]:
    """What each object names that is not among `objects` (or, for paths, in the repo)."""
    known = {key(doc) for doc in objects}
    problems = []

    def need(owner: Doc, target: Key, what: str) -> None:
        if target not in known:
            problems.append(f"{'/'.join(key(owner))}: {what} {'/'.join(target)} does not exist")

    for doc in objects:
        spec = doc.get("spec", {})
        kind = doc["kind"]
        if kind == "Kustomization":
            need(doc, ref_key(spec["sourceRef"], "GitRepository", doc), "sourceRef")
            for dep in spec.get("dependsOn", []):
                need(doc, ref_key(dep, "Kustomization", doc), "dependsOn")
            if not path_exists(spec.get("path", "")):
                problems.append(f"{'/'.join(key(doc))}: path {spec.get('path')} is not in the repo")
        elif kind == "HelmRelease":
            need(doc, ref_key(spec["chart"]["spec"]["sourceRef"], "HelmRepository", doc), "chart")
            for dep in spec.get("dependsOn", []):
                need(doc, ref_key(dep, "HelmRelease", doc), "dependsOn")
        elif kind == "ImagePolicy":
            need(doc, ref_key(spec["imageRepositoryRef"], "ImageRepository", doc), "repository")
        elif kind == "ImageUpdateAutomation":
            need(doc, ref_key(spec["sourceRef"], "GitRepository", doc), "sourceRef")
            if not path_exists(spec["update"]["path"]):
                problems.append(f"{'/'.join(key(doc))}: update path is not in the repo")
    return problems


def dependency_cycles(objects: list[Doc]) -> list[str]:
    """Kustomizations and HelmReleases whose dependsOn chain comes back to themselves."""
    edges = {
        key(doc): [ref_key(dep, doc["kind"], doc) for dep in doc["spec"].get("dependsOn", [])]
        for doc in objects
        if doc["kind"] in {"Kustomization", "HelmRelease"}
    }
    cycles = []
    for start in edges:
        seen: set[Key] = set()
        stack = list(edges[start])
        while stack:
            node = stack.pop()
            if node == start:
                cycles.append("/".join(start))
                break
            if node not in seen:
                seen.add(node)
                stack.extend(edges.get(node, []))
    return cycles


def image_policy_markers(paths: Iterable[Path]) -> list[tuple[Path, str]]:
    """(file, "namespace:name[:field]") of every `$imagepolicy` setter comment."""
    return [
        (path, json.loads(match)["$imagepolicy"])
        for path in paths
        for match in MARKER.findall(path.read_text())
    ]


def kustomize_resources(directory: Path) -> list[Path]:
    """Every directory a kustomization includes, itself first, recursively."""
    found = [directory.resolve()]
    config = yaml.safe_load((directory / "kustomization.yaml").read_text())
    for name in config.get("resources") or []:
        target = (directory / name).resolve()
        if (target / "kustomization.yaml").is_file():
            found += kustomize_resources(target)
    return found
