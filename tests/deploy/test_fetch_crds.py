"""scripts/fetch-crds.py offline: a tiny chart repository served over HTTP on a free port."""

from __future__ import annotations

import functools
import http.server
import importlib.util
import io
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from tests.deploy.kustomize import ROOT

pytestmark = pytest.mark.unit


def load(name: str, path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FETCH = load("fetch_crds", "scripts/fetch-crds.py")
CONVERT = load("crd_schemas", "scripts/crd-schemas.py")


def crd(group: str, kind: str) -> dict[str, Any]:
    schema = {
        "type": "object",
        "description": "dropped",
        "properties": {"spec": {"type": "object", "properties": {"size": {"type": "integer"}}}},
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{kind.lower()}s.{group}"},
        "spec": {
            "group": group,
            "names": {"kind": kind, "plural": f"{kind.lower()}s"},
            "scope": "Namespaced",
            "versions": [{"name": "v1", "served": True, "schema": {"openAPIV3Schema": schema}}],
        },
    }


TEMPLATED = """{{- if .Values.crds.enabled }}
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.templated.example.org
  labels:
    app: '{{ template "x.name" . }}'
    {{- include "x.labels" . | nindent 4 }}
  annotations:
    {{- if .Values.crds.keep }}
    helm.sh/resource-policy: keep
    {{- else }}
    helm.sh/resource-policy: delete
    {{- end }}
spec:
  group: templated.example.org
  names:
    kind: Gadget
    plural: gadgets
  scope: Namespaced
  versions:
    - name: v1
      served: true
      schema:
        openAPIV3Schema:
          type: object
          description: dropped
          properties:
            spec:
              type: object
              properties:
                size:
                  type: integer
{{- end }}
"""


def tgz(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    site = tmp_path / "site"
    (site / "charts").mkdir(parents=True)
    (site / "flux" / "v9.9.9").mkdir(parents=True)
    (site / "charts" / "widget-1.2.3.tgz").write_bytes(
        tgz(
            {
                "widget/Chart.yaml": "name: widget\n",
                "widget/crds/w.yaml": yaml.dump(crd("example.org", "Widget")),
            }
        )
    )
    (site / "charts" / "gadget-v0.1.0.tgz").write_bytes(
        tgz({"gadget/templates/crds.yaml": TEMPLATED, "gadget/templates/deploy.yaml": "{{ x }}\n"})
    )
    (site / "flux" / "v9.9.9" / "manifests.tar.gz").write_bytes(
        tgz({"source-controller.crds.yaml": yaml.dump(crd("source.flux.example.org", "Repo"))})
    )
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    index = {
        "apiVersion": "v1",
        "entries": {
            "widget": [{"version": "1.2.3", "urls": ["widget-1.2.3.tgz"]}],
            "gadget": [{"version": "v0.1.0", "urls": [f"{base}/charts/gadget-v0.1.0.tgz"]}],
        },
    }
    (site / "charts" / "index.yaml").write_text(yaml.dump(index))
    platform = tmp_path / "platform"
    platform.mkdir()
    (platform / "sources.yaml").write_text(
        yaml.dump_all(
            [
                {
                    "apiVersion": "source.toolkit.fluxcd.io/v1",
                    "kind": "HelmRepository",
                    "metadata": {"name": "repo", "namespace": "flux-system"},
                    "spec": {"url": f"{base}/charts"},
                },
                release("widget", "1.2.3"),
                release("gadget", "v0.1.0"),
            ]
        )
    )
    (tmp_path / "flux-version").write_text("v9.9.9\n")
    try:
        yield platform, base
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def release(chart: str, version: str) -> dict[str, Any]:
    return {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": chart, "namespace": "apps"},
        "spec": {
            "chart": {
                "spec": {
                    "chart": chart,
                    "version": version,
                    "sourceRef": {
                        "kind": "HelmRepository",
                        "name": "repo",
                        "namespace": "flux-system",
                    },
                }
            }
        },
    }


def args(platform: Path, base: str, out: Path) -> list[str]:
    return [
        "--platform", str(platform), "--out", str(out),
        "--flux-version-file", str(platform.parent / "flux-version"),
        "--flux-base-url", f"{base}/flux",
    ]  # fmt: skip


def tree(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*.json")}


def test_schemas_of_plain_templated_and_flux_crds_equal_the_converters(
    served: tuple[Path, str], tmp_path: Path
) -> None:
    platform, base = served
    out, expected = tmp_path / "out", tmp_path / "expected"
    out.mkdir()
    (out / "stale.org").mkdir()
    (out / "stale.org" / "old_v1.json").write_text("{}\n")
    assert FETCH.main(args(platform, base, out)) == 0
    for doc in [
        crd("example.org", "Widget"),
        crd("templated.example.org", "Gadget"),
        crd("source.flux.example.org", "Repo"),
    ]:
        CONVERT.write_schemas(doc, expected)
    assert tree(out) == tree(expected)
    assert len(tree(out)) == 3

    assert FETCH.main([*args(platform, base, out), "--check"]) == 0
    (out / "example.org" / "widget_v1.json").write_text("{}\n")
    assert FETCH.main([*args(platform, base, out), "--check"]) == 1


def test_a_pinned_version_missing_from_the_index_is_a_clear_error(
    served: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    platform, base = served
    sources = platform / "sources.yaml"
    sources.write_text(sources.read_text().replace("version: 1.2.3", "version: 1.2.4"))
    out = tmp_path / "out"
    out.mkdir()
    assert FETCH.main(args(platform, base, out)) == 1
    assert "chart widget 1.2.4 is not in" in capsys.readouterr().err
    assert not list(out.rglob("*.json"))


def test_an_oci_source_is_refused_with_a_message(
    served: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    platform, base = served
    sources = platform / "sources.yaml"
    sources.write_text(sources.read_text().replace(f"url: {base}/charts", "url: oci://ghcr.io/x"))
    assert FETCH.main(args(platform, base, tmp_path)) == 1
    assert "OCI source oci://ghcr.io/x is not supported" in capsys.readouterr().err


def test_a_template_inside_the_schema_is_refused() -> None:
    text = "kind: CustomResourceDefinition\nspec:\n  group: {{ .Values.group }}\n"
    with pytest.raises(FETCH.FetchError, match="template outside metadata"):
        FETCH.strip_templates(text, "x.yaml")
