"""scripts/rotate-session-keys.py on a local key file: dry run by default, then the
add -> promote -> retire cycle, with a token from the old key outliving its signing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from wildside_common.errors import Unauthorized
from wildside_common.session_keys import load_keyring, write_new_key_file
from wildside_common.sessions import SessionCodec, encode_secret

pytestmark = pytest.mark.unit
SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "rotate-session-keys.py"


def rotate(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        env={"PATH": "/nonexistent"},  # no kubectl here
        timeout=60,
    )
    if check:
        assert done.returncode == 0, done.stderr
    return done


def test_a_full_rotation_without_logging_anyone_out(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    original = write_new_key_file(path)
    old_token, _ = SessionCodec(original).issue("6f1c6c1e-8a43-4b8e-9d0e-0e4bb7c8a111", "user")
    before = path.read_text()

    dry = rotate("add", "--file", str(path))
    assert path.read_text() == before  # dry run by default
    assert "dry run" in dry.stdout and original.signer.fingerprint in dry.stdout
    assert encode_secret(original.signer.secret) not in dry.stdout and "<redacted>" in dry.stdout

    rotate("add", "--file", str(path), "--apply")
    added = load_keyring(path)
    assert added.signer.kid == original.signer.kid and len(added.keys) == 2

    rotate("promote", "--file", str(path), "--apply")
    promoted = load_keyring(path)
    assert promoted.signer.kid != original.signer.kid
    assert SessionCodec(promoted).verify(old_token).kid == original.signer.kid
    assert path.stat().st_mode & 0o777 == 0o600

    refused = rotate("retire", original.signer.kid, "--file", str(path), "--apply", check=False)
    assert refused.returncode != 0 and "Retire it later" in refused.stderr
    rotate("retire", original.signer.kid, "--file", str(path), "--apply", "--force")
    retired = load_keyring(path)
    assert [key.kid for key in retired.keys] == [promoted.signer.kid]
    with pytest.raises(Unauthorized):
        SessionCodec(retired).verify(old_token)


def test_status_prints_fingerprints_only(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    ring = write_new_key_file(path)
    out = rotate("status", "--file", str(path)).stdout
    assert ring.signer.kid in out and ring.signer.fingerprint in out and "signing" in out
    document = json.loads(path.read_text())
    assert document["keys"][0]["key"] not in out


def test_the_signer_cannot_be_retired_and_init_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    ring = write_new_key_file(path)
    done = rotate("retire", ring.signer.kid, "--file", str(path), "--apply", check=False)
    assert done.returncode != 0
    assert "no verify-only key" in done.stderr or "signs new sessions" in done.stderr
    assert rotate("init", "--file", str(path), check=False).returncode != 0


def test_without_kubectl_or_a_file_it_explains_what_to_run(tmp_path: Path) -> None:
    done = rotate("init", "--namespace", "prod")
    assert "kubectl -n prod apply -f <manifest>" in done.stdout
    assert "rollout restart deployment/gateway deployment/tiles-auth" in done.stdout
    assert "kubectl is not installed" in done.stdout
    assert rotate("init", "--apply", check=False).returncode != 0
