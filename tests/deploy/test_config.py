"""Every container of every overlay gets the settings its program requires, and no others.

For each overlay, the rendered manifests give each Wildside container an environment (its
ConfigMaps through envFrom, its env entries; Secrets' values stand in as placeholders, an
optional Secret as absent). The container's own settings loader (the one its console script
calls) then runs on that environment, recording every variable it reads:

- it must start: a ConfigError (a required setting, or one production mode requires) fails;
- every variable it reads whose default is a loopback address (127.0.0.1 works on a laptop
  and fails silently in a pod: NATS_URL, REDIS_URL, the bind hosts) must be given;
- every `$(NAME)` its command or args name must be given;
- every variable given must be one that some Wildside program reads (no typos, no leftovers).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.kustomize import DEPLOY, ROOT, Doc, overlays, render
from wildside_common.config import ConfigError, EnvReader
from wildside_common.session_keys import VARIABLE as SESSION_KEYS_FILE
from wildside_common.session_keys import write_new_key_file
from wildside_enricher.config import EnricherSettings
from wildside_gateway.config import GatewaySettings
from wildside_ingest.config import IngestSettings, RefreshSettings
from wildside_router.config import RouterSettings
from wildside_tiles_auth.config import TilesAuthSettings

pytestmark = pytest.mark.unit

IMAGE = "ghcr.io/wildside/wildside"
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job"}
SOURCES = [*ROOT.glob("libs/*/src/**/*.py"), *ROOT.glob("services/*/src/**/*.py")]
READ = re.compile(r"""(?:env\.\w+|environ\.get|getenv)\(\s*"([A-Z][A-Z0-9_]*)\"""")
LOOPBACK_DEFAULT = re.compile(r"""\(\s*"([A-Z][A-Z0-9_]*)",\s*f?"[^"]*(?:127\.0\.0\.1|localhost)""")
# Read by libraries rather than by our settings (the OpenTelemetry SDK reads OTEL_*).
LIBRARY_PREFIXES = ("OTEL_",)
PLACEHOLDERS = {
    "DATABASE_URL": "postgresql://placeholder@db.invalid:5432/wildside",
    "REDIS_URL": "redis://redis.invalid:6379/0",
}


class Recording(dict[str, str]):
    """An environment that remembers every variable asked for."""

    def __init__(self, values: Mapping[str, str]) -> None:
        super().__init__(values)
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self.read.add(key)
        return super().get(key, default)


def _migrate(env: EnvReader) -> object:
    return env.text("DATABASE_URL")  # wildside_common.migrate refuses to run without it


def _provision(env: EnvReader) -> object:
    return env.text("NATS_URL", "nats://127.0.0.1:4222")  # wildside_common.bus.provision


def _nothing(env: EnvReader) -> object:
    return None


Loader = Callable[[EnvReader], object]
LOADERS: dict[tuple[str, ...], Loader] = {
    ("wildside-gateway",): GatewaySettings.from_env,
    ("wildside-router",): RouterSettings.from_env,
    ("wildside-enricher",): EnricherSettings.from_env,
    ("wildside-tiles-auth",): TilesAuthSettings.from_env,
    ("ingest-osm-refresh",): RefreshSettings.from_env,
    ("ingest-osm",): IngestSettings.from_env,
    ("python", "-m", "wildside_common.migrate"): _migrate,
    ("python", "-m", "wildside_common.bus.provision"): _provision,
    ("python", "-c"): _nothing,  # the ingest's download: only its $(INGEST_PBF_URL)
}


def loader_of(command: list[str]) -> Loader:
    for prefix, loader in LOADERS.items():
        if tuple(command[: len(prefix)]) == prefix:
            return loader
    raise AssertionError(f"no settings loader known for {command}: add it to LOADERS")


def source_names(pattern: re.Pattern[str]) -> set[str]:
    return {name for path in SOURCES for name in pattern.findall(path.read_text())}


def workloads(docs: list[Doc]) -> Iterator[tuple[Doc, Doc, Doc]]:
    """(workload, its pod spec, container) for every Wildside container, init ones too."""
    for doc in docs:
        if doc["kind"] == "CronJob":
            pod = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        elif doc["kind"] in WORKLOADS:
            pod = doc["spec"]["template"]["spec"]
        else:
            continue
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            if container["image"].split("@")[0].rpartition(":")[0] in {IMAGE, ""}:
                yield doc, pod, container


def environment(docs: list[Doc], pod: Doc, container: Doc, keys_dir: Path) -> dict[str, str]:
    """What the container's process sees; Secrets' values as placeholders."""
    config_maps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        assert "configMapRef" in source, f"{container['name']}: envFrom {source} is not checked"
        name = source["configMapRef"]["name"]
        assert name in config_maps, f"{container['name']}: ConfigMap {name} is not rendered"
        env.update(config_maps[name].get("data", {}))
    for entry in container.get("env", []):
        if "value" in entry:
            env[entry["name"]] = str(entry["value"])
        elif not entry["valueFrom"].get("secretKeyRef", {}).get("optional", False):
            env[entry["name"]] = PLACEHOLDERS.get(entry["name"], "placeholder")
    # The session keys: a Secret mounted as a directory of key files. Not mounted, the path
    # stays as it is and a program that reads it fails to start (ConfigError).
    mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
    secrets = {v["name"] for v in pod.get("volumes", []) if "secret" in v}
    if mounts.get(env.get(SESSION_KEYS_FILE, "")) in secrets:
        write_new_key_file(keys_dir / "signing.json")
        env[SESSION_KEYS_FILE] = str(keys_dir)
    return env


def referenced(container: Doc) -> set[str]:
    words = [*container.get("command", []), *container.get("args", [])]
    return {name for word in words for name in re.findall(r"\$\(([A-Za-z0-9_]+)\)", word)}


def check(docs: list[Doc], tmp_path: Path) -> tuple[list[str], set[str], set[str]]:
    """Problems found, the variables given to Wildside containers, those their loaders read."""
    problems: list[str] = []
    given: set[str] = set()
    read: set[str] = set()
    loopback = source_names(LOOPBACK_DEFAULT)
    for index, (workload, pod, container) in enumerate(workloads(docs)):
        where = f"{workload['kind']}/{workload['metadata']['name']}/{container['name']}"
        keys_dir = tmp_path / str(index)
        keys_dir.mkdir()
        env = environment(docs, pod, container, keys_dir)
        given |= env.keys()
        recording = Recording(env)
        try:
            loader_of(container["command"])(EnvReader(recording))
        except ConfigError as error:
            problems.append(f"{where}: {error}")
        read |= recording.read | referenced(container)
        for name in sorted((recording.read & loopback) - env.keys()):
            problems.append(f"{where}: {name} is not set (its default is a loopback address)")
        for name in sorted(referenced(container) - env.keys()):
            problems.append(f"{where}: its command names $({name}), which is not set")
    return problems, given, read


@pytest.mark.parametrize("overlay", overlays(), ids=lambda p: p.name)
def test_every_container_gets_every_setting_its_program_requires(
    overlay: Path, tmp_path: Path
) -> None:
    problems, _, _ = check(render(overlay), tmp_path)
    assert not problems, "\n".join(problems)


def test_every_variable_given_is_one_a_wildside_program_reads(tmp_path: Path) -> None:
    """Across the overlays: a variable that only production's programs read (the ingest's
    download URL) is no leftover in dev, where the same ConfigMap omits the download."""
    given, read = {}, source_names(READ)
    for index, overlay in enumerate(overlays()):
        (tmp_path / str(index)).mkdir()
        _, given[overlay.name], overlay_read = check(render(overlay), tmp_path / str(index))
        read |= overlay_read
    unknown = {
        overlay: sorted(name for name in names - read if not name.startswith(LIBRARY_PREFIXES))
        for overlay, names in given.items()
    }
    assert not any(unknown.values()), f"no Wildside program reads {unknown}"


def test_the_overlays_are_the_dev_and_production_ones() -> None:
    assert {path.name for path in overlays()} >= {"dev", "production"}


def test_the_check_finds_a_missing_setting_an_unset_reference_and_a_loopback_default(
    tmp_path: Path,
) -> None:
    docs = copy.deepcopy(render(DEPLOY / "overlays" / "production"))
    pods = {
        d["metadata"]["name"]: d["spec"]["template"]["spec"]
        for d in docs
        if d["kind"] == "Deployment"
    }
    router, gateway = pods["router"]["containers"][0], pods["gateway"]["containers"][0]
    router["env"] = [e for e in router["env"] if e["name"] != "DATABASE_URL"]
    gateway["env"] = [e for e in gateway["env"] if e["name"] != "REDIS_URL"]
    gateway["args"] = ["$(NOT_SET_ANYWHERE)"]
    problems, _, _ = check(docs, tmp_path)
    assert sorted(problems) == [
        "Deployment/gateway/gateway: REDIS_URL is not set (its default is a loopback address)",
        "Deployment/gateway/gateway: its command names $(NOT_SET_ANYWHERE), which is not set",
        "Deployment/router/router: DATABASE_URL: is required but not set",
    ]


def test_the_loopback_defaults_are_found_in_the_sources() -> None:
    assert {"NATS_URL", "REDIS_URL", "METRICS_HOST", "GATEWAY_HOST"} <= source_names(
        LOOPBACK_DEFAULT
    )
