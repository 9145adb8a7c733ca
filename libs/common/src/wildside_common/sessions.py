"""Signed session tokens (pyjwt) and the keyring that signs and verifies them.

Shared by the gateway (which issues tokens at login and checks them on every request)
and tiles-auth (which checks them for every `/tiles/*` request), so both accept exactly
the same tokens.

A token is an HMAC-signed JWT (HS512 by default; HS256 is accepted) with the claims
`sub` (user id), `role`, `iat` (to the millisecond), `exp`, `jti` (a random token id, 128
bits) and the header `kid` naming the key that signed it. The `jti` and `iat` are what a
revocation names (`wildside_common.revocations`): one session, or every session of a user
issued before a moment. A token without a `jti` (issued before revocation existed) is
refused: it could not be revoked.

Dual validation: a `Keyring` holds several keys, each with an id and a status. The one
`signing` key signs new tokens; every key in the ring (`signing` or `verify`) verifies.
Rotating therefore never logs anyone out: add the new key as `verify`, roll out, promote
it to `signing` (the old one becomes `verify`), roll out, and retire the old key once
the session lifetime has passed. See docs/runbooks/session-key-rotation.md.

Every way a token can be wrong (garbage, tampered, unknown `kid`, `alg: none`, a
non-HMAC algorithm, expired, missing claims) raises `InvalidSession`, an `Unauthorized`.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import jwt

from wildside_common.errors import Unauthorized

ALGORITHMS = ("HS512", "HS256")
DEFAULT_ALGORITHM = "HS512"
MIN_KEY_BYTES = 64
SESSION_LIFETIME = timedelta(hours=2)
ROLES = frozenset({"user", "admin"})


class InvalidSession(Unauthorized):
    """The token is missing, malformed, wrongly signed, expired or names an unknown key."""


class KeyStatus(StrEnum):
    SIGNING = "signing"
    VERIFY = "verify"


def fingerprint(secret: bytes) -> str:
    """A public, stable short name for a key's material (never the material itself)."""
    return "sha256:" + hashlib.sha256(secret).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class SessionKey:
    kid: str
    secret: bytes
    status: KeyStatus = KeyStatus.VERIFY

    def __post_init__(self) -> None:
        if not self.kid or len(self.kid) > 64 or not self.kid.isascii():
            raise ValueError(f"key id {self.kid!r}: must be 1-64 ASCII characters")
        if not self.secret:
            raise ValueError(f"key {self.kid}: the key material is empty")

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.secret)

    def __repr__(self) -> str:  # the secret must never reach a log line
        return f"SessionKey(kid={self.kid!r}, status={self.status}, {self.fingerprint})"


@dataclass(frozen=True, slots=True)
class Keyring:
    """Keys by id: exactly one signs, all verify."""

    keys: tuple[SessionKey, ...]

    def __post_init__(self) -> None:
        kids = [key.kid for key in self.keys]
        if len(set(kids)) != len(kids):
            raise ValueError("the keyring lists a key id twice")
        signers = [key for key in self.keys if key.status is KeyStatus.SIGNING]
        if len(signers) != 1:
            raise ValueError(f"the keyring needs exactly one signing key, found {len(signers)}")

    @property
    def signer(self) -> SessionKey:
        return next(key for key in self.keys if key.status is KeyStatus.SIGNING)

    def find(self, kid: str) -> SessionKey | None:
        return next((key for key in self.keys if key.kid == kid), None)

    def short_keys(self, minimum: int = MIN_KEY_BYTES) -> list[str]:
        """Ids of keys shorter than `minimum` bytes."""
        return [key.kid for key in self.keys if len(key.secret) < minimum]

    def describe(self) -> list[str]:
        """One line per key: id, status, fingerprint (safe to print or log)."""
        return [f"{key.kid} {key.status} {key.fingerprint}" for key in self.keys]


def generate_secret(size: int = MIN_KEY_BYTES) -> bytes:
    return secrets.token_bytes(size)


def new_key_id(now: datetime | None = None) -> str:
    """A sortable, unique key id such as `k20261122-3f9a1c`."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d")
    return f"k{stamp}-{secrets.token_hex(3)}"


def new_token_id() -> str:
    """A session's `jti`: 128 random bits, url-safe (OWASP: at least 64 bits of entropy)."""
    return secrets.token_urlsafe(16)


def encode_secret(secret: bytes) -> str:
    return base64.b64encode(secret).decode("ascii")


@dataclass(frozen=True, slots=True)
class SessionClaims:
    subject: str
    role: str
    issued_at: datetime
    expires_at: datetime
    kid: str
    token_id: str


def _utc_now() -> datetime:
    return datetime.now(UTC)


VERIFIED_CACHE_SIZE = 10_000


class SessionCodec:
    """Issues and verifies session tokens against a keyring."""

    def __init__(
        self,
        keyring: Keyring,
        lifetime: timedelta = SESSION_LIFETIME,
        algorithm: str = DEFAULT_ALGORITHM,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        if algorithm not in ALGORITHMS:
            raise ValueError(f"unsupported algorithm {algorithm!r}")
        self.keyring = keyring
        self.lifetime = lifetime
        self.algorithm = algorithm
        self.clock = clock
        self._verified: OrderedDict[str, SessionClaims] = OrderedDict()

    def issue(self, subject: str, role: str) -> tuple[str, SessionClaims]:
        """A new token for `subject`, signed by the keyring's signing key."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        key = self.keyring.signer
        now = self.clock()
        # Milliseconds, so a session issued just after a user's sessions were ended (same
        # second) is told apart from one issued just before.
        issued = now.replace(microsecond=now.microsecond // 1000 * 1000)
        expires = (issued + self.lifetime).replace(microsecond=0)
        claims = SessionClaims(subject, role, issued, expires, key.kid, new_token_id())
        payload = {
            "sub": subject,
            "role": role,
            "iat": round(issued.timestamp(), 3),
            "exp": expires,
            "jti": claims.token_id,
        }
        token = jwt.encode(payload, key.secret, self.algorithm, headers={"kid": key.kid})
        return token, claims

    def verify(self, token: str) -> SessionClaims:
        """The token's claims, or `InvalidSession` for any token we did not issue or is stale.

        A token that verified once is remembered (bounded), so a client's every request
        does not pay for HMAC and JSON again; expiry and the key are checked each time.
        """
        known = self._verified.get(token)
        if known is not None:
            if known.expires_at <= self.clock():
                del self._verified[token]
                raise InvalidSession("the session has expired")
            if self.keyring.find(known.kid) is not None:
                return known
        claims = self._verify(token)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.popitem(last=False)
        self._verified[token] = claims
        return claims

    def _verify(self, token: str) -> SessionClaims:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidSession("the session token is malformed") from None
        key = self._key_for(header)
        try:
            payload = jwt.decode(
                token,
                key.secret,
                algorithms=list(ALGORITHMS),
                options={"require": ["sub", "exp", "iat", "jti"]},
                leeway=0,
            )
        except jwt.ExpiredSignatureError:
            raise InvalidSession("the session has expired") from None
        except jwt.PyJWTError:
            raise InvalidSession("the session token is invalid") from None
        return self._claims(payload, key.kid)

    def _key_for(self, header: Mapping[str, Any]) -> SessionKey:
        # Checked before decoding so `alg: none` or RS*/ES* tricks never reach a verifier.
        if header.get("alg") not in ALGORITHMS:
            raise InvalidSession("the session token uses an unsupported algorithm")
        kid = header.get("kid")
        key = self.keyring.find(kid) if isinstance(kid, str) else None
        if key is None:
            raise InvalidSession("the session token was signed by an unknown key")
        return key

    @staticmethod
    def _claims(payload: Mapping[str, Any], kid: str) -> SessionClaims:
        subject, role, token_id = payload.get("sub"), payload.get("role"), payload.get("jti")
        if not isinstance(subject, str) or role not in ROLES:
            raise InvalidSession("the session token is invalid")
        if not isinstance(token_id, str) or not 16 <= len(token_id) <= 64:
            raise InvalidSession("the session token is invalid")
        return SessionClaims(
            subject,
            str(role),
            datetime.fromtimestamp(float(payload["iat"]), UTC),
            datetime.fromtimestamp(int(payload["exp"]), UTC),
            kid,
            token_id,
        )


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, if any."""
    # Not `.get`: on Starlette's Headers a missing header (a cookie-borne request's case)
    # is a KeyError raised and caught inside `Mapping.get`.
    value = headers["authorization"] if "authorization" in headers else ""  # noqa: SIM401
    scheme, _, token = value.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def subprotocol_token(offers: Iterable[str]) -> str | None:
    """The token of a `bearer.<token>` WebSocket subprotocol offer, if any."""
    for offer in offers:
        if offer.startswith("bearer.") and len(offer) > len("bearer."):
            return offer[len("bearer.") :]
    return None


def request_token(
    headers: Mapping[str, str], cookies: Mapping[str, str], cookie_name: str = "session"
) -> str | None:
    """The session token from `Authorization: Bearer`, else the session cookie."""
    return bearer_token(headers) or cookies.get(cookie_name) or None
