"""Membership rules, without I/O: an organization always keeps an active admin."""

from uuid import UUID

from rivet_contracts import ErrorCode, Role, ServiceError

LAST_ADMIN = "an organization needs an active admin: make another member admin first"


def require_another_admin(admins: list[UUID], member: UUID, *, new_role: Role | None) -> None:
    """Refuse (409) a change that would leave no active admin: demoting or deactivating
    (``new_role`` None) the only one."""
    if member not in admins or new_role is Role.ADMIN:
        return
    if len(admins) <= 1:
        raise ServiceError(ErrorCode.CONFLICT, LAST_ADMIN)
