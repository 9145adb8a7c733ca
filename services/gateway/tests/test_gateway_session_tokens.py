"""Session tokens and the keyring: every bad token is refused; rotation keeps sessions."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from wildside_common.sessions import (
    InvalidSession,
    Keyring,
    KeyStatus,
    SessionCodec,
    SessionKey,
    bearer_token,
    request_token,
    subprotocol_token,
)

pytestmark = pytest.mark.unit
USER = "6f1c6c1e-8a43-4b8e-9d0e-0e4bb7c8a111"
OLD = SessionKey("k-old", b"o" * 64, KeyStatus.SIGNING)
NEW = SessionKey("k-new", b"n" * 64, KeyStatus.SIGNING)


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def codec(*keys: SessionKey, clock: Clock | None = None) -> SessionCodec:
    return SessionCodec(Keyring(keys), clock=clock or Clock())


def b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_a_token_carries_subject_role_times_key_id_and_a_random_token_id() -> None:
    clock = Clock()
    clock.now = datetime.now(UTC).replace(microsecond=123456)
    token, claims = codec(OLD, clock=clock).issue(USER, "admin")
    header = jwt.get_unverified_header(token)
    assert header["kid"] == "k-old" and header["alg"] == "HS512"
    body = jwt.decode(token, OLD.secret, algorithms=["HS512"], options={"verify_exp": False})
    assert body["sub"] == USER and body["role"] == "admin"
    # iat to the millisecond (tells a session issued just after its user's sessions were
    # ended from one issued just before), exp to the second.
    assert body["iat"] == round(clock.now.timestamp(), 3)
    assert body["exp"] - int(body["iat"]) == 7200
    assert body["jti"] == claims.token_id and len(claims.token_id) >= 22
    assert codec(OLD, clock=clock).issue(USER, "admin")[1].token_id != claims.token_id
    verified = codec(OLD, clock=clock).verify(token)
    assert verified == claims
    assert verified.issued_at == clock.now.replace(microsecond=123000)


def test_a_token_without_a_token_id_is_refused() -> None:
    now = datetime.now(UTC)
    body = {"sub": USER, "role": "user", "iat": now, "exp": now + timedelta(hours=1)}
    token = jwt.encode(body, OLD.secret, "HS512", headers={"kid": OLD.kid})
    with pytest.raises(InvalidSession):
        codec(OLD).verify(token)


def test_an_expired_token_is_refused() -> None:
    clock = Clock()
    clock.now = datetime.now(UTC) - timedelta(hours=2, seconds=5)
    token, _ = codec(OLD, clock=clock).issue(USER, "user")
    with pytest.raises(InvalidSession, match="expired"):
        codec(OLD).verify(token)


def test_a_tampered_token_is_refused() -> None:
    token, _ = codec(OLD).issue(USER, "user")
    header, payload, signature = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=="))
    body["role"] = "admin"
    forged = ".".join([header, b64(body), signature])
    with pytest.raises(InvalidSession):
        codec(OLD).verify(forged)


def test_a_token_signed_with_another_secret_under_a_known_kid_is_refused() -> None:
    impostor = SessionKey("k-old", b"x" * 64, KeyStatus.SIGNING)
    token, _ = codec(impostor).issue(USER, "admin")
    with pytest.raises(InvalidSession):
        codec(OLD).verify(token)


@pytest.mark.parametrize("alg", ["none", "None", "RS256", "ES256", "HS384"])
def test_other_algorithms_and_alg_none_are_refused(alg: str) -> None:
    now = int(datetime.now(UTC).timestamp())
    body = {"sub": USER, "role": "admin", "iat": now, "exp": now + 600}
    token = f"{b64({'alg': alg, 'typ': 'JWT', 'kid': 'k-old'})}.{b64(body)}."
    with pytest.raises(InvalidSession, match="algorithm"):
        codec(OLD).verify(token)


def test_hs256_tokens_of_the_keyring_are_accepted() -> None:
    now = datetime.now(UTC)
    body = {"sub": USER, "role": "user", "iat": now, "exp": now + timedelta(minutes=5)}
    body["jti"] = "an-hs256-token-id-0001"
    token = jwt.encode(body, OLD.secret, "HS256", headers={"kid": "k-old"})
    assert codec(OLD).verify(token).subject == USER


@pytest.mark.parametrize(
    "token", ["", "garbage", "a.b.c", "Bearer x", "eyJhbGciOiJIUzUxMiJ9.e30.", "...."]
)
def test_garbage_is_refused(token: str) -> None:
    with pytest.raises(InvalidSession):
        codec(OLD).verify(token)


def test_missing_claims_unknown_roles_and_unknown_kids_are_refused() -> None:
    now = datetime.now(UTC)
    later = now + timedelta(minutes=5)
    cases = [
        ({"role": "user", "iat": now, "exp": later}, "k-old"),
        ({"sub": USER, "role": "root", "iat": now, "exp": later}, "k-old"),
        ({"sub": USER, "role": "user", "iat": now}, "k-old"),
        ({"sub": USER, "role": "user", "iat": now, "exp": later}, "k-gone"),
    ]
    for body, kid in cases:
        token = jwt.encode(body, OLD.secret, "HS512", headers={"kid": kid})
        with pytest.raises(InvalidSession):
            codec(OLD).verify(token)
    no_kid = jwt.encode(
        {"sub": USER, "role": "user", "iat": now, "exp": later}, OLD.secret, "HS512"
    )
    with pytest.raises(InvalidSession, match="unknown key"):
        codec(OLD).verify(no_kid)


def test_rotation_keeps_old_sessions_during_the_overlap_and_ends_them_at_retirement() -> None:
    old_token, _ = codec(OLD).issue(USER, "user")
    # Step 1: the new key is added as verify-only; the old one still signs.
    step1 = codec(OLD, SessionKey(NEW.kid, NEW.secret, KeyStatus.VERIFY))
    assert step1.verify(old_token).kid == "k-old"
    assert jwt.get_unverified_header(step1.issue(USER, "user")[0])["kid"] == "k-old"
    # Step 2: the new key is promoted; the old one only verifies.
    step2 = codec(SessionKey(OLD.kid, OLD.secret, KeyStatus.VERIFY), NEW)
    new_token, _ = step2.issue(USER, "user")
    assert jwt.get_unverified_header(new_token)["kid"] == "k-new"
    assert step2.verify(old_token).subject == USER
    assert step1.verify(new_token).kid == "k-new"  # processes still on step 1 accept it
    # Step 3: the old key is retired: its tokens end, the new ones live on.
    step3 = codec(NEW)
    assert step3.verify(new_token).subject == USER
    with pytest.raises(InvalidSession, match="unknown key"):
        step3.verify(old_token)


def test_a_keyring_has_exactly_one_signer_and_unique_ids() -> None:
    verify = SessionKey("k-v", b"v" * 64, KeyStatus.VERIFY)
    with pytest.raises(ValueError, match="exactly one signing"):
        Keyring((verify,))
    with pytest.raises(ValueError, match="exactly one signing"):
        Keyring((OLD, NEW))
    with pytest.raises(ValueError, match="twice"):
        Keyring((OLD, SessionKey("k-old", b"z" * 64)))
    ring = Keyring((OLD, verify))
    assert ring.signer is OLD and ring.find("k-v") is verify and ring.find("nope") is None
    lines = ring.describe()
    assert lines[0].startswith("k-old signing sha256:")
    assert "o" * 16 not in repr(OLD) and "o" * 16 not in " ".join(lines)


def test_tokens_are_found_in_bearer_headers_cookies_and_subprotocol_offers() -> None:
    assert bearer_token({"authorization": "Bearer abc.def.ghi"}) == "abc.def.ghi"
    assert bearer_token({"authorization": "bearer  tok "}) == "tok"
    assert bearer_token({"authorization": "Basic dXNlcjpwdw=="}) is None
    assert bearer_token({"authorization": "Bearer "}) is None
    assert request_token({}, {"session": "c"}) == "c"
    assert request_token({"authorization": "Bearer h"}, {"session": "c"}) == "h"
    assert request_token({}, {}) is None
    assert subprotocol_token(["wildside.v1", "bearer.x.y.z"]) == "x.y.z"
    assert subprotocol_token(["wildside.v1", "bearer."]) is None
