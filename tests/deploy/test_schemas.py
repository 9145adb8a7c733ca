"""Every rendered document is valid against its schema, as the API server would judge it.

Kubernetes' own kinds: the OpenAPI schemas of Kubernetes 1.33 (the kubectl we render with)
that the package kubernetes-validate bundles, strict (an unknown field is an error, as
`kubectl apply --validate=strict` makes it). Custom resources (Flux, Prometheus operator,
KEDA, Traefik, cert-manager, CloudNativePG): the JSON schemas of their CRDs kept in
deploy/schemas/<group>/<kind>_<version>.json (see deploy/schemas/README.md). A kind with no
schema there fails: add its CRD's schema rather than skip it.
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import json
from pathlib import Path
from typing import Any

import celpy
import jsonschema
import kubernetes_validate
import pytest

from tests.deploy.kustomize import DEPLOY, ROOT, Doc, kustomize_dirs, render

pytestmark = pytest.mark.unit

KUBERNETES_VERSION = "1.33.0"
SCHEMAS = DEPLOY / "schemas"


def builtin(api_version: str) -> bool:
    """core (v1), apps, batch, policy, autoscaling and the *.k8s.io groups."""
    group = api_version.rpartition("/")[0]
    return "." not in group or group.endswith(".k8s.io")


def schema_path(doc: Doc) -> Path:
    group, _, version = doc["apiVersion"].rpartition("/")
    return SCHEMAS / group / f"{doc['kind'].lower()}_{version}.json"


@functools.cache
def crd_validator(path: Path) -> jsonschema.protocols.Validator:
    schema = json.loads(path.read_text())
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    return cls(schema)


def problems(doc: Doc) -> list[str]:
    """What the API server would refuse in `doc`; empty when it is valid."""
    name = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
    if builtin(doc["apiVersion"]):
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            return [f"{name}: {'/'.join(map(str, error.path))}: {error.message}"]
        return []
    path = schema_path(doc)
    if not path.is_file():
        return [f"{name}: no schema {path.relative_to(DEPLOY.parent)} for {doc['apiVersion']}"]
    schema = json.loads(path.read_text())
    return [
        f"{name}: {'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in crd_validator(path).iter_errors(doc)
    ] + [f"{name}: {problem}" for problem in cel_problems(schema, doc, "")]


@functools.cache
def cel_program(rule: str) -> celpy.Runner:
    environment = celpy.Environment()
    return environment.program(environment.compile(rule))


def cel_problems(schema: dict[str, Any], value: Any, where: str) -> list[str]:
    """The CRD's `x-kubernetes-validations` (CEL rules the API server evaluates on create,
    which a JSON schema cannot say: e.g. Flux's "spec.interval must be set when
    spec.digestReflectionPolicy is Always"), each on the value at its place. Transition
    rules (those naming `oldSelf`) only apply to an update and are left out."""
    found = []
    for validation in schema.get("x-kubernetes-validations", []):
        rule = validation["rule"]
        if "oldSelf" in rule:
            continue
        result = cel_program(rule).evaluate({"self": celpy.json_to_cel(value)})
        if result is not True and result != celpy.celtypes.BoolType(True):
            found.append(f"{where or '/'}: {validation.get('message', rule)} ({rule})")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            child = properties.get(key, extra if isinstance(extra, dict) else None)
            if child is not None:
                found += cel_problems(child, item, f"{where}/{key}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            found += cel_problems(schema["items"], item, f"{where}/{index}")
    return found


@pytest.mark.parametrize("directory", kustomize_dirs(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_every_rendered_document_matches_its_schema(directory: Path) -> None:
    found = [problem for doc in render(directory) for problem in problems(doc)]
    assert not found, "\n".join(found)


def first(kind: str, directory: str = "overlays/production") -> Doc:
    doc = next(d for d in render(DEPLOY / directory) if d["kind"] == kind)
    return copy.deepcopy(doc)


def set_path(doc: Doc, path: str, value: Any) -> Doc:
    *parents, last = path.split("/")
    node: Any = doc
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    node[last] = value
    return doc


@pytest.mark.parametrize(
    ("kind", "directory", "path", "value"),
    [
        ("Deployment", "overlays/production", "spec/replicas", "two"),
        ("Deployment", "overlays/production", "spec/template/spec/containers/0/ports", "8080"),
        ("Deployment", "overlays/production", "spec/template/spec/containerz", []),
        ("ScaledObject", "overlays/production", "spec/maxReplicaCount", "4"),
        ("IngressRoute", "overlays/production", "spec/routes/0/services", "martin"),
        ("ServiceMonitor", "observability", "spec/endpoints", {"port": "http"}),
        ("PrometheusRule", "observability", "spec/groups/0/rules", "none"),
        ("Kustomization", "flux", "spec/prune", "yes"),
        ("GitRepository", "flux", "spec/ref", "main"),
        ("ImagePolicy", "flux", "spec/policy", "semver"),
    ],
)
def test_the_schemas_refuse_a_broken_document(
    kind: str, directory: str, path: str, value: Any
) -> None:
    doc = first(kind, directory)
    assert not problems(doc), "the unbroken document must pass first"
    assert problems(set_path(doc, path, value))


def test_the_crds_cel_rules_refuse_what_the_api_server_would() -> None:
    """The production ImagePolicy once had digestReflectionPolicy Always and no interval:
    valid by the JSON schema, refused by the API server, so the bootstrap stalled."""
    policy = first("ImagePolicy", "flux")
    assert not problems(policy)
    broken = copy.deepcopy(policy)
    broken["spec"]["digestReflectionPolicy"] = "Always"
    (problem,) = problems(broken)
    assert "spec.interval must be set" in problem
    broken["spec"]["interval"] = "10m"
    assert not problems(broken)


def test_a_kind_without_a_schema_is_an_error_not_a_pass() -> None:
    doc = {"apiVersion": "example.org/v1", "kind": "Unknown", "metadata": {"name": "x"}}
    (problem,) = problems(doc)
    assert "no schema deploy/schemas/example.org/unknown_v1.json" in problem


def test_crd_schemas_writes_one_schema_per_served_version_without_descriptions(
    tmp_path: Path,
) -> None:
    spec = importlib.util.spec_from_file_location("crd_schemas", ROOT / "scripts/crd-schemas.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    schema = {
        "type": "object",
        "description": "dropped",
        "properties": {"spec": {"type": "object", "required": ["size"]}},
    }
    crd = {
        "kind": "CustomResourceDefinition",
        "spec": {
            "group": "example.org",
            "names": {"kind": "Widget"},
            "versions": [
                {"name": "v1", "served": True, "schema": {"openAPIV3Schema": schema}},
                {"name": "v0", "served": False, "schema": {"openAPIV3Schema": schema}},
            ],
        },
    }
    (written,) = module.write_schemas(crd, tmp_path)
    assert written == tmp_path / "example.org" / "widget_v1.json"
    assert json.loads(written.read_text()) == {
        "type": "object",
        "properties": {"spec": {"type": "object", "required": ["size"]}},
    }
