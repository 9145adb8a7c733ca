"""Who is asking: the authenticated principal of a request or socket."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from wildside_common.errors import Forbidden, InvalidInput


class Role(StrEnum):
    USER = "user"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: str
    role: Role = Role.USER

    def __post_init__(self) -> None:
        try:
            uuid.UUID(self.user_id)
        except ValueError:
            raise InvalidInput.field("user_id", "must be a UUID") from None

    def require_admin(self) -> None:
        if self.role is not Role.ADMIN:
            raise Forbidden("this endpoint needs an administrator session")
