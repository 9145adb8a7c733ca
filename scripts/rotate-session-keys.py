#!/usr/bin/env python3
"""Rotate the session signing keys kept in a Kubernetes secret, without logging anyone out.

Steps (one command each, a rollout between them; see docs/runbooks/session-key-rotation.md):

    status          list the keys: id, status, age, fingerprint (never the key material)
    init            create the key document with one signing key (first deployment)
    add             add a fresh key as verify-only       -> roll out
    promote [KID]   make KID (default: newest verify key) the signer; the old signer
                    becomes verify-only                  -> roll out
    retire [KID]    remove KID (default: oldest verify key); refused for the signer, and
                    until the session lifetime (2 h) has passed since it stopped signing,
                    unless --force                       -> roll out

Dry run by default: prints the plan, the fingerprints and the commands; --apply does it.
The key document is read from the secret with kubectl (`kubectl get secret`), or from
--file (a local key file; then --apply rewrites that file). Without kubectl and without
--file, the script prints the commands to run instead.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from wildside_common.session_keys import parse_key_document
from wildside_common.sessions import (
    SESSION_LIFETIME,
    Keyring,
    encode_secret,
    fingerprint,
    generate_secret,
    new_key_id,
)

Document = dict[str, Any]


def now() -> datetime:
    return datetime.now(UTC)


def validate(document: Document) -> Keyring:
    """The keyring a document describes; raises ValueError when it is not a valid one."""
    return Keyring(tuple(parse_key_document(json.dumps(document), "key document")))


def describe(document: Document) -> list[str]:
    lines = []
    for entry in document["keys"]:
        secret = base64.b64decode(entry["key"])
        age = entry.get("created_at", "?")
        lines.append(f"  {entry['kid']:<22} {entry['status']:<8} {fingerprint(secret)}  {age}")
    return lines


def new_entry(status: str) -> Document:
    return {
        "kid": new_key_id(),
        "key": encode_secret(generate_secret()),
        "status": status,
        "created_at": now().isoformat(),
    }


def step_add(document: Document, _: str | None, force: bool) -> Document:
    return {"keys": [*document["keys"], new_entry("verify")]}


def step_promote(document: Document, kid: str | None, force: bool) -> Document:
    keys = [dict(entry) for entry in document["keys"]]
    verify = [entry for entry in keys if entry["status"] == "verify"]
    if not verify:
        raise SystemExit("no verify-only key to promote: run `add` first")
    target = kid or max(verify, key=lambda entry: entry.get("created_at", ""))["kid"]
    if not any(entry["kid"] == target and entry["status"] == "verify" for entry in keys):
        raise SystemExit(f"{target}: no such verify-only key")
    for entry in keys:
        if entry["status"] == "signing":
            entry["status"], entry["demoted_at"] = "verify", now().isoformat()
        elif entry["kid"] == target:
            entry["status"] = "signing"
    return {"keys": keys}


def step_retire(document: Document, kid: str | None, force: bool) -> Document:
    keys = document["keys"]
    verify = [entry for entry in keys if entry["status"] == "verify"]
    if not verify:
        raise SystemExit("no verify-only key to retire")
    target = kid or min(verify, key=lambda entry: entry.get("created_at", ""))["kid"]
    entry = next((entry for entry in keys if entry["kid"] == target), None)
    if entry is None:
        raise SystemExit(f"{target}: no such key")
    if entry["status"] == "signing":
        raise SystemExit(f"{target} signs new sessions: promote another key first")
    demoted = entry.get("demoted_at")
    if demoted and not force:
        wait = datetime.fromisoformat(demoted) + SESSION_LIFETIME - now()
        if wait > timedelta(0):
            raise SystemExit(
                f"{target} signed sessions until {demoted}; they live until "
                f"{wait} from now. Retire it later (or --force, logging those users out)."
            )
    return {"keys": [other for other in keys if other["kid"] != target]}


STEPS = {"add": step_add, "promote": step_promote, "retire": step_retire}


def manifest(args: argparse.Namespace, document: Document, redact: bool) -> Document:
    text = json.dumps(document, indent=2) + "\n"
    if redact:
        for entry in document["keys"]:
            text = text.replace(entry["key"], "<redacted>")
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": args.secret, "namespace": args.namespace},
        "type": "Opaque",
        "stringData": {args.key_name: text},
    }


def kubectl(args: argparse.Namespace, *command: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [args.kubectl, "-n", args.namespace, *command],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"kubectl {' '.join(command)} failed: {done.stderr.strip()}")
    return done.stdout


def read_document(args: argparse.Namespace) -> Document | None:
    """The current key document (None: none yet, or nowhere to read it from)."""
    if args.file:
        path = Path(args.file)
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
    if not args.kubectl:
        return None
    done = subprocess.run(
        [args.kubectl, "-n", args.namespace, "get", "secret", args.secret, "-o", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        if "NotFound" in done.stderr:
            return None
        raise SystemExit(f"kubectl get secret failed: {done.stderr.strip()}")
    data = json.loads(done.stdout).get("data", {})
    if args.key_name not in data:
        return None
    document: Document = json.loads(base64.b64decode(data[args.key_name]))
    return document


def restart_commands(args: argparse.Namespace) -> list[list[str]]:
    deployments = [f"deployment/{name}" for name in args.deployments.split(",") if name]
    return [
        ["rollout", "restart", *deployments],
        *(["rollout", "status", deployment, "--timeout=10m"] for deployment in deployments),
    ]


def publish(args: argparse.Namespace, document: Document) -> None:
    if args.file:
        path = Path(args.file)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(document, indent=2) + "\n")
        print(f"wrote {path}; restart the services that read it")
        return
    kubectl(args, "apply", "-f", "-", stdin=json.dumps(manifest(args, document, False)))
    for command in restart_commands(args):
        print(kubectl(args, *command).strip())


def show_plan(args: argparse.Namespace, before: Document | None, after: Document) -> None:
    if before is not None:
        print("current keys:", *describe(before), sep="\n")
    print("keys after this step:", *describe(after), sep="\n")
    if args.apply:
        return
    print("\ndry run: nothing changed. The secret would become (key material redacted):")
    print(json.dumps(manifest(args, after, True), indent=2))
    target = args.file or f"secret {args.namespace}/{args.secret}"
    print(f"\nwith --apply this updates {target}", end="")
    if args.file:
        print(".")
        return
    print(" and runs:")
    for command in (["apply", "-f", "<manifest>"], *restart_commands(args)):
        print("  kubectl -n", args.namespace, " ".join(command))
    if not args.kubectl:
        print("(kubectl is not installed here: run --apply where it is, or --file)")


def run(args: argparse.Namespace) -> int:
    before = read_document(args)
    if args.command == "status":
        if before is None:
            print("no key document found", "(kubectl missing; use --file)" * (not args.kubectl))
            return 1
        validate(before)
        print("keys:", *describe(before), sep="\n")
        return 0
    if args.command == "init":
        if before is not None:
            raise SystemExit("a key document exists already: use add / promote / retire")
        after: Document = {"keys": [new_entry("signing")]}
    else:
        if before is None:
            raise SystemExit("no key document found: run init, or pass --file (see --help)")
        after = STEPS[args.command](before, args.kid, args.force)
    validate(after)
    show_plan(args, before, after)
    if args.apply:
        if not args.file and not args.kubectl:
            raise SystemExit("kubectl is not installed: cannot --apply to the secret")
        publish(args, after)
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="rotate-session-keys.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("command", choices=["status", "init", "add", "promote", "retire"])
    top.add_argument("kid", nargs="?", help="the key id for promote / retire")
    top.add_argument("--apply", action="store_true", help="make the change (default: dry run)")
    top.add_argument("--force", action="store_true", help="retire before the lifetime passed")
    top.add_argument("--namespace", default=os.environ.get("WILDSIDE_NAMESPACE", "wildside"))
    top.add_argument("--secret", default="wildside-session-keys")
    top.add_argument("--key-name", default="session-keys.json", help="the file in the secret")
    top.add_argument("--deployments", default="gateway,tiles-auth", help="restarted on --apply")
    top.add_argument("--file", help="work on a local key file instead of the secret")
    top.add_argument("--kubectl", default=shutil.which("kubectl"), help=argparse.SUPPRESS)
    return top


def main(argv: list[str] | None = None) -> int:
    try:
        return run(parser().parse_args(argv))
    except ValueError as exc:
        raise SystemExit(f"invalid key document: {exc}") from None


if __name__ == "__main__":
    sys.exit(main())
