"""Regenerates deploy/schemas from the CRDs of the charts (and Flux release) the platform pins.

    .venv/bin/python scripts/fetch-crds.py            # rewrite deploy/schemas/**/*.json
    .venv/bin/python scripts/fetch-crds.py --check    # regenerate in a temp dir, diff, 1 on drift

Reads every HelmRepository (url) and HelmRelease (chart, version) under deploy/platform,
downloads each repository's index.yaml, the pinned version's package (.tgz), and takes the
CustomResourceDefinitions from its crds/ directories (subcharts' too) and from templates that
hold CRDs (Go-template control lines stripped; templated values allowed only under metadata
and conversion). Flux's own CRDs come from the flux2 release's manifests.tar.gz at the version
in deploy/flux/flux-version. Each CRD goes through scripts/crd-schemas.py. OCI chart sources
are refused with a message. Needs the network (GitHub and the chart repositories).
"""

from __future__ import annotations

import argparse
import filecmp
import importlib.util
import io
import re
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "deploy" / "schemas"
PLATFORM = ROOT / "deploy" / "platform"
FLUX_VERSION_FILE = ROOT / "deploy" / "flux" / "flux-version"
FLUX_RELEASES = "https://github.com/fluxcd/flux2/releases/download"

Fetch = Callable[[str], bytes]


class FetchError(Exception):
    pass


def _converter() -> Any:
    spec = importlib.util.spec_from_file_location(
        "crd_schemas", Path(__file__).with_name("crd-schemas.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def http_fetch(url: str) -> bytes:
    try:
        response = httpx.get(url, follow_redirects=True, timeout=60)
        response.raise_for_status()
    except httpx.HTTPError as error:
        raise FetchError(f"cannot download {url}: {error}") from error
    return response.content


def charts(platform: Path) -> list[tuple[str, str, str]]:
    """(repository url, chart, version) of every HelmRelease under PLATFORM."""
    repos: dict[tuple[str, str], dict[str, Any]] = {}
    releases = []
    for path in sorted(platform.rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if not isinstance(doc, dict):
                continue
            meta = doc.get("metadata", {})
            if doc.get("kind") == "HelmRepository":
                repos[(meta.get("namespace", ""), meta["name"])] = doc["spec"]
            elif doc.get("kind") == "HelmRelease":
                releases.append((meta.get("namespace", ""), doc["spec"]["chart"]["spec"]))
    found = set()
    for namespace, spec in releases:
        ref = spec["sourceRef"]
        if ref.get("kind") != "HelmRepository":
            raise FetchError(f"chart {spec['chart']}: source kind {ref.get('kind')} not supported")
        repo = repos.get((ref.get("namespace", namespace), ref["name"]))
        if repo is None:
            raise FetchError(f"chart {spec['chart']}: no HelmRepository {ref['name']}")
        if repo.get("type") == "oci" or repo["url"].startswith("oci://"):
            raise FetchError(
                f"chart {spec['chart']}: OCI source {repo['url']} is not supported; "
                f"`helm pull {repo['url']}/{spec['chart']} --version {spec['version']}` and run "
                "scripts/crd-schemas.py on its crds"
            )
        found.add((repo["url"], spec["chart"], str(spec["version"])))
    return sorted(found)


def package_url(index: bytes, repo_url: str, chart: str, version: str) -> str:
    entries = (yaml.safe_load(index) or {}).get("entries", {}).get(chart, [])
    for entry in entries:
        if str(entry.get("version")) == version or str(entry.get("version")).lstrip(
            "v"
        ) == version.lstrip("v"):
            return urljoin(repo_url.rstrip("/") + "/", entry["urls"][0])
    known = ", ".join(str(e.get("version")) for e in entries[:5]) or "none"
    raise FetchError(f"chart {chart} {version} is not in {repo_url}/index.yaml (newest: {known})")


ACTION = re.compile(r"^\s*\{\{-?\s*(.*?)\s*-?\}\}\s*$")
OPENS = ("if ", "with ", "range ", "define ", "block ")


def strip_templates(text: str, name: str) -> str:
    """Removes whole-line Go-template actions; keeps the first branch of if/else; drops define
    blocks; templated values are replaced only under metadata or conversion, else an error."""
    out: list[str] = []
    stack: list[bool] = []  # per open block: is its output dropped?
    allowed_indent: int | None = None
    for number, line in enumerate(text.splitlines(), 1):
        match = ACTION.match(line)
        if match and "}}" not in match.group(1):
            action = match.group(1)
            dropped = any(stack)
            if action.startswith(OPENS):
                stack.append(dropped or action.startswith(("define ", "block ")))
            elif action.startswith("else"):
                if stack:
                    stack[-1] = True
            elif action == "end" and stack:
                stack.pop()
            continue
        if any(stack):
            continue
        indent = len(line) - len(line.lstrip())
        if allowed_indent is not None and line.strip() and indent <= allowed_indent:
            allowed_indent = None
        if re.match(r"^\s*(metadata|conversion):\s*$", line):
            allowed_indent = indent
        if "{{" in line:
            key = re.match(r"^(\s*[\w./-]+:)\s", line)
            if allowed_indent is None or key is None:
                raise FetchError(f"{name}:{number}: template outside metadata: {line.strip()}")
            line = f'{key.group(1)} "templated"'
        out.append(line)
    return "\n".join(out) + "\n"


def package_crds(package: bytes, name: str) -> Iterator[dict[str, Any]]:
    with tarfile.open(fileobj=io.BytesIO(package)) as tar:
        for member in sorted(tar.getmembers(), key=lambda m: m.name):
            parts = member.name.split("/")
            if not member.isfile() or not member.name.endswith((".yaml", ".yml")):
                continue
            if "crds" not in parts[:-1] and "templates" not in parts[:-1]:
                continue
            handle = tar.extractfile(member)
            assert handle is not None
            text = handle.read().decode()
            if not re.search(r"^kind:\s*CustomResourceDefinition\s*$", text, re.M):
                continue
            if "{{" in text:
                text = strip_templates(text, f"{name}:{member.name}")
            for doc in yaml.safe_load_all(text):
                if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                    yield doc


def flux_crds(fetch: Fetch, version: str, base: str) -> Iterator[dict[str, Any]]:
    url = f"{base.rstrip('/')}/{version}/manifests.tar.gz"
    with tarfile.open(fileobj=io.BytesIO(fetch(url))) as tar:
        for member in sorted(tar.getmembers(), key=lambda m: m.name):
            if member.isfile() and member.name.endswith((".yaml", ".yml")):
                handle = tar.extractfile(member)
                assert handle is not None
                for doc in yaml.safe_load_all(handle.read()):
                    if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                        yield doc


def generate(
    out: Path,
    platform: Path = PLATFORM,
    flux_version_file: Path = FLUX_VERSION_FILE,
    flux_base: str = FLUX_RELEASES,
    fetch: Fetch = http_fetch,
) -> list[Path]:
    converter = _converter()
    written: list[Path] = []
    indexes: dict[str, bytes] = {}
    for repo_url, chart, version in charts(platform):
        if repo_url not in indexes:
            indexes[repo_url] = fetch(repo_url.rstrip("/") + "/index.yaml")
        url = package_url(indexes[repo_url], repo_url, chart, version)
        for crd in package_crds(fetch(url), f"{chart}-{version}"):
            written += converter.write_schemas(crd, out)
        print(f"{chart} {version}: {url}", file=sys.stderr)
    flux_version = flux_version_file.read_text().strip()
    for crd in flux_crds(fetch, flux_version, flux_base):
        written += converter.write_schemas(crd, out)
    print(f"flux {flux_version}", file=sys.stderr)
    return written


def drift(generated: Path, kept: Path) -> list[str]:
    new = {p.relative_to(generated) for p in generated.rglob("*.json")}
    old = {p.relative_to(kept) for p in kept.rglob("*.json")}
    problems = [f"missing from {kept}: {p}" for p in sorted(new - old)]
    problems += [f"not from a pinned chart: {p}" for p in sorted(old - new)]
    problems += [
        f"differs: {p}"
        for p in sorted(new & old)
        if not filecmp.cmp(generated / p, kept / p, shallow=False)
    ]
    return problems


def main(argv: list[str] | None = None, fetch: Fetch = http_fetch) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="diff against --out, write nothing")
    parser.add_argument("--out", type=Path, default=SCHEMAS)
    parser.add_argument("--platform", type=Path, default=PLATFORM)
    parser.add_argument("--flux-version-file", type=Path, default=FLUX_VERSION_FILE)
    parser.add_argument("--flux-base-url", default=FLUX_RELEASES)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        generated = Path(work)
        try:
            generate(generated, args.platform, args.flux_version_file, args.flux_base_url, fetch)
        except FetchError as error:
            print(f"fetch-crds: error: {error}", file=sys.stderr)
            return 1
        if args.check:
            problems = drift(generated, args.out)
            for problem in problems:
                print(f"fetch-crds: drift: {problem}", file=sys.stderr)
            return 1 if problems else 0
        for stale in args.out.rglob("*.json"):
            stale.unlink()
        for path in sorted(generated.rglob("*.json")):
            target = args.out / path.relative_to(generated)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
            print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
