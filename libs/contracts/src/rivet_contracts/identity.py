"""Who is acting: travels with every request from the gateway or the Telegram bot."""

from enum import StrEnum
from uuid import UUID

from pydantic import Field

from .base import View


class Role(StrEnum):
    """A user's role in their organization. Each role includes the rights of the ones below."""

    VIEWER = "viewer"
    TECHNICIAN = "technician"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def at_least(self, other: "Role") -> bool:
        """True when this role has every right of ``other``."""
        return self.rank >= other.rank


_RANKS = {Role.VIEWER: 0, Role.TECHNICIAN: 1, Role.ADMIN: 2}


class ActorKind(StrEnum):
    USER = "user"
    SYSTEM = "system"
    API_KEY = "api_key"
    """A machine client with an organization's API key (``user_id`` is the key's id)."""


class Identity(View):
    """The authenticated caller, as verified by the gateway from an access token or an API
    key."""

    user_id: UUID = Field(description="The calling user's id (an API key's id for a key).")
    org_id: UUID = Field(description="The organization every read and write is scoped to.")
    role: Role = Field(description="The caller's role in that organization.")
    kind: ActorKind = Field(
        default=ActorKind.USER, description="A person (`user`) or an API key (`api_key`)."
    )

    @property
    def is_person(self) -> bool:
        return self.kind is ActorKind.USER


class Actor(View):
    """Who caused an event: a user, the system itself (an import job, a scan), or a machine
    client with an API key."""

    kind: ActorKind = Field(default=ActorKind.USER, description="A user, the system or an API key.")
    user_id: UUID | None = Field(
        default=None,
        description="The user, when kind is `user`; the API key's id, when kind is `api_key`.",
    )
    channel: str | None = Field(
        default=None, description="Where the change came from: `api`, `telegram`, `import`, ..."
    )
