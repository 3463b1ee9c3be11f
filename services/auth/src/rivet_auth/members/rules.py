"""Membership rules, without I/O: an organization always keeps an active admin."""

from uuid import UUID

from rivet_contracts import ErrorCode, Identity, Role, ServiceError

LAST_ADMIN = "an organization needs an active admin: make another member admin first"


def require_another_admin(admins: list[UUID], member: UUID, *, new_role: Role | None) -> None:
    """Refuse (409) a change that would leave no active admin: demoting or deactivating
    (``new_role`` None) the only one."""
    if member not in admins or new_role is Role.ADMIN:
        return
    if len(admins) <= 1:
        raise ServiceError(ErrorCode.CONFLICT, LAST_ADMIN)


def require_person(caller: Identity, refusal: str = "this needs a person's sign-in") -> None:
    """Refuse (403) what only a person may do - managing members, invitations, passwords and
    API keys - to a machine client's API key (no key makes or widens keys or accounts)."""
    if not caller.is_person:
        raise ServiceError(ErrorCode.FORBIDDEN, refusal)
