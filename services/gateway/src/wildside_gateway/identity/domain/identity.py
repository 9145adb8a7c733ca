"""Users as the gateway sees them: login credentials, profiles, listings, themes."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wildside_common.errors import InvalidInput
from wildside_gateway.shared.domain.principal import Role

MAX_USERNAME = 64
MAX_PASSWORD = 1024


@dataclass(frozen=True, slots=True)
class Credentials:
    username: str
    password: str

    def __post_init__(self) -> None:
        if not self.username.strip():
            raise InvalidInput.field("username", "must not be blank")
        if len(self.username) > MAX_USERNAME:
            raise InvalidInput.field("username", f"must be at most {MAX_USERNAME} characters")
        if any(unicodedata.category(char) == "Cc" for char in self.username):
            raise InvalidInput.field("username", "must not contain control characters")
        if not self.password.strip():
            raise InvalidInput.field("password", "must not be blank")
        if len(self.password) > MAX_PASSWORD:
            raise InvalidInput.field("password", f"must be at most {MAX_PASSWORD} characters")

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r})"

    @classmethod
    def parse(cls, body: Any) -> Credentials:
        """Credentials from a login body; 400 naming the field that is wrong."""
        if not isinstance(body, dict):
            raise InvalidInput("the body must be a JSON object")
        for name in body:
            if name not in ("username", "password"):
                raise InvalidInput.field(str(name), "is not a known field")
        for name in ("username", "password"):
            value = body.get(name)
            if value is None:
                raise InvalidInput.field(name, "is required")
            if not isinstance(value, str):
                raise InvalidInput.field(name, "must be a string")
        return cls(body["username"], body["password"])


@dataclass(frozen=True, slots=True)
class StoredCredentials:
    """What the user store holds for a login check (trusted: comes from the database)."""

    user_id: str
    role: Role
    password_hash: str


@dataclass(frozen=True, slots=True)
class UserSummary:
    """One row of the admin user listing."""

    id: str
    username: str
    display_name: str
    role: Role
    created_at: datetime

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "username": self.username,
            "display_name": self.display_name,
            "role": str(self.role),
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class UserProfile:
    """`GET /api/v1/users/me`: who I am and what interests me (revision 0: never set)."""

    user: UserSummary
    interest_theme_ids: tuple[str, ...]
    revision: int

    def view(self) -> dict[str, Any]:
        return {
            **self.user.view(),
            "interest_theme_ids": list(self.interest_theme_ids),
            "revision": self.revision,
        }


@dataclass(frozen=True, slots=True)
class InterestTheme:
    id: str
    name: str
    description: str

    def view(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "description": self.description}
