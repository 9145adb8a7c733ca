#!/usr/bin/env python3
"""Preview environments: one namespace, database and set of secrets per pull request.

    .venv/bin/python scripts/preview.py render --pr 42 --branch my-feature \\
        --digest sha256:<digest> | kubectl apply -f -
    .venv/bin/python scripts/preview.py render --pr 42 --branch my-feature --update ...
    .venv/bin/python scripts/preview.py teardown --pr 42 [--dry-run]

`render` prints, as one YAML stream:

- the Namespace `wildside-pr-<N>`, labelled `wildside.dev/preview=<N>` and annotated
  `wildside.dev/expires-at` (UTC, `YYYY-MM-DDTHH:MM:SSZ`, now + `--ttl-hours`); the
  reaper CronJob (deploy/platform/config/preview-reaper.yaml) tears it down once passed;
- its own CloudNativePG Cluster `wildside-db` (one PostGIS instance) with the database
  `wildside`, its owner and the tile roles `martin_ro` and `tiles_auth_ro`;
- the Secrets the app reads (deploy/secrets/templates/dev.yaml names them), with fresh
  random passwords and a fresh session signing key: made here, applied straight to the
  cluster, never written to the repository;
- in flux-system, a GitRepository following the pull request's branch and a Flux
  Kustomization applying deploy/overlays/preview into the namespace with the PR's image
  (`pr-<N>` and, when given, its digest) and host `pr-<N>.<domain>`.

`render --update` prints only the Namespace (a new expiry) and the Flux objects (a new
image): the pull-request workflow applies that on each push to a preview that exists, so
its database and secrets stay.

`teardown` deletes the Flux objects (Flux prunes what they applied), then the namespace:
the database server with its roles and data, the Secrets and the session key go with it,
so nothing the preview was given stays valid. The pull-request workflow runs it when the
PR closes (.github/workflows/previews.yaml). Runbook: docs/runbooks/previews.md.
"""

from __future__ import annotations

import argparse
import json
import secrets
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import yaml

from wildside_common.session_keys import key_document
from wildside_common.sessions import KeyStatus, SessionKey, generate_secret, new_key_id

IMAGE = "ghcr.io/wildside/wildside"
REPOSITORY = "https://github.com/wildside/wildside-backend"
DOMAIN = "preview.wildside.example.org"
POSTGIS_IMAGE = "ghcr.io/cloudnative-pg/postgis:16-3.4"
LABEL = "wildside.dev/preview"
EXPIRES = "wildside.dev/expires-at"
EXPIRES_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
DB_HOST = "wildside-db-rw"  # the Cluster's read-write Service, in the namespace
Doc = dict[str, Any]


def namespace_of(pr: int) -> str:
    return f"wildside-pr-{pr}"


def password() -> str:
    return secrets.token_urlsafe(24)


def secret(name: str, namespace: str, data: dict[str, str], kind: str = "Opaque") -> Doc:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace, "labels": {}},
        "type": kind,
        "stringData": data,
    }


def database_url(user: str, pw: str) -> str:
    return f"postgresql://{user}:{pw}@{DB_HOST}:5432/wildside?sslmode=require"


def session_keys(now: datetime) -> str:
    key = SessionKey(new_key_id(now), generate_secret(), KeyStatus.SIGNING)
    return json.dumps(key_document([(key, now.isoformat())]), indent=2)


def database(namespace: str) -> Doc:
    roles = [
        {"name": role, "ensure": "present", "login": True, "passwordSecret": {"name": name}}
        for role, name in (
            ("martin_ro", "preview-martin-ro"),
            ("tiles_auth_ro", "preview-tiles-ro"),
        )
    ]
    return {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": {"name": "wildside-db", "namespace": namespace},
        "spec": {
            "instances": 1,
            "imageName": POSTGIS_IMAGE,
            "storage": {"size": "2Gi"},
            "bootstrap": {
                "initdb": {
                    "database": "wildside",
                    "owner": "wildside",
                    "secret": {"name": "preview-db-owner"},
                    # The roles migration 0005.tile_roles expects; the owner may not
                    # create roles. Their passwords come from the managed roles.
                    "postInitApplicationSQL": [
                        "CREATE EXTENSION IF NOT EXISTS postgis",
                        "CREATE ROLE wildside_tiles NOLOGIN",
                        "GRANT wildside_tiles TO wildside",
                        "CREATE ROLE martin_ro LOGIN",
                        "CREATE ROLE tiles_auth_ro LOGIN",
                    ],
                }
            },
            "managed": {"roles": roles},
        },
    }


def flux_objects(pr: int, branch: str, repository: str, tag: str, digest: str | None) -> list[Doc]:
    name = namespace_of(pr)
    image: Doc = {"name": IMAGE, "newTag": tag}
    if digest:
        image["digest"] = digest
    source = {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": name, "namespace": "flux-system", "labels": {}},
        "spec": {
            "interval": "5m",
            "url": repository,
            "ref": {"branch": branch},
            "ignore": "/*\n!/deploy/\n",
        },
    }
    kustomization = {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": name, "namespace": "flux-system", "labels": {}},
        "spec": {
            "interval": "5m",
            "timeout": "10m",
            "sourceRef": {"kind": "GitRepository", "name": name},
            "path": "./deploy/overlays/preview",
            "prune": True,
            "wait": True,
            "targetNamespace": name,
            "dependsOn": [{"name": "platform"}],
            "images": [image],
            "postBuild": {"substitute": {}},
        },
    }
    return [source, kustomization]


def render(
    pr: int,
    branch: str,
    *,
    now: datetime,
    ttl_hours: float = 72,
    domain: str = DOMAIN,
    repository: str = REPOSITORY,
    digest: str | None = None,
    update: bool = False,
) -> list[Doc]:
    """Every object of preview `pr`, labelled `wildside.dev/preview=<pr>`.

    `update`: only the namespace (a new expiry) and the Flux objects (a new image), for a
    preview that exists: its database and secrets stay as they are.
    """
    if pr <= 0:
        raise ValueError("pr: a pull request number is positive")
    if ttl_hours <= 0:
        raise ValueError("ttl-hours: must be positive")
    if digest is not None and not (digest.startswith("sha256:") and len(digest) == 71):
        raise ValueError("digest: expected sha256:<64 hex digits>")
    name = namespace_of(pr)
    host = f"pr-{pr}.{domain}"
    expires = (now + timedelta(hours=ttl_hours)).astimezone(UTC).strftime(EXPIRES_FORMAT)
    owner, martin, tiles = password(), password(), password()
    namespace = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            "labels": {"pod-security.kubernetes.io/enforce": "restricted"},
            "annotations": {EXPIRES: expires, "wildside.dev/branch": branch},
        },
    }
    basic = "kubernetes.io/basic-auth"
    docs = [
        namespace,
        secret("preview-db-owner", name, {"username": "wildside", "password": owner}, basic),
        secret("preview-martin-ro", name, {"username": "martin_ro", "password": martin}, basic),
        secret("preview-tiles-ro", name, {"username": "tiles_auth_ro", "password": tiles}, basic),
        # A preview's services use the owner role: one role fewer, and the whole server
        # is dropped with the namespace.
        secret("wildside-database", name, {"url": database_url("wildside", owner)}),
        secret("wildside-database-owner", name, {"url": database_url("wildside", owner)}),
        secret("martin-database", name, {"url": database_url("martin_ro", martin)}),
        secret("tiles-auth-database", name, {"url": database_url("tiles_auth_ro", tiles)}),
        # The preview's own Redis (deploy/overlays/preview/redis.yaml).
        secret("wildside-redis", name, {"url": "redis://redis:6379/0"}),
        secret("wildside-session-keys", name, {"session-keys.json": session_keys(now)}),
        database(name),
        *flux_objects(pr, branch, repository, f"pr-{pr}", digest),
    ]
    docs[-1]["spec"]["postBuild"]["substitute"] = {"PREVIEW_NAMESPACE": name, "PREVIEW_HOST": host}
    if update:
        docs = [docs[0], *docs[-2:]]
    for doc in docs:
        doc["metadata"].setdefault("labels", {})[LABEL] = str(pr)
    return docs


def teardown_commands(pr: int) -> list[list[str]]:
    """Flux objects first (so nothing re-creates the namespace), then the namespace."""
    selector = f"{LABEL}={pr}"
    return [
        ["kubectl", "-n", "flux-system", "delete", "kustomizations.kustomize.toolkit.fluxcd.io",
         "-l", selector, "--ignore-not-found"],
        ["kubectl", "-n", "flux-system", "delete", "gitrepositories.source.toolkit.fluxcd.io",
         "-l", selector, "--ignore-not-found"],
        ["kubectl", "delete", "namespace", namespace_of(pr), "--ignore-not-found", "--wait=false"],
    ]  # fmt: skip


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="preview.py", description=__doc__.split("\n\n")[0])
    sub = top.add_subparsers(dest="command", required=True)
    make = sub.add_parser("render", help="print the preview's objects as YAML")
    make.add_argument("--pr", type=int, required=True)
    make.add_argument("--branch", required=True, help="the pull request's head branch")
    make.add_argument("--digest", help="the image digest CI pushed for pr-<N>")
    make.add_argument("--ttl-hours", type=float, default=72)
    make.add_argument("--domain", default=DOMAIN, help=f"hosts are pr-<N>.DOMAIN ({DOMAIN})")
    make.add_argument("--repository", default=REPOSITORY)
    make.add_argument(
        "--update",
        action="store_true",
        help="only the namespace's expiry and the Flux objects (keep the database and secrets)",
    )
    drop = sub.add_parser("teardown", help="delete the preview and everything it was given")
    drop.add_argument("--pr", type=int, required=True)
    drop.add_argument("--dry-run", action="store_true", help="print the commands only")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "render":
        try:
            docs = render(
                args.pr, args.branch, now=datetime.now(UTC), ttl_hours=args.ttl_hours,
                domain=args.domain, repository=args.repository, digest=args.digest,
                update=args.update,
            )  # fmt: skip
        except ValueError as exc:
            print(f"preview.py: error: {exc}", file=sys.stderr)
            return 2
        sys.stdout.write(yaml.safe_dump_all(docs, sort_keys=False))
        return 0
    for command in teardown_commands(args.pr):
        print(" ".join(command))
        if not args.dry_run:
            subprocess.run(command, check=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
