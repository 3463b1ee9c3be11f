"""Who may move an asset between lifecycle states, and how. Pure rules, no I/O.

Retirement takes an asset out of service for good, so retiring it and returning it to service
are an admin's decisions, made with a reason that the history keeps: they have their own
requests (retire, reinstate). Ordinary edits (create, PATCH, PUT, a CSV row, a scan's
corrections) move an asset only between in service and out of service, whichever route they
come through.
"""

from rivet_contracts import ErrorCode, ServiceError
from rivet_contracts.assets import EquipmentStatus
from rivet_contracts.identity import Role

RETIRED = EquipmentStatus.RETIRED


def check_new(status: EquipmentStatus, role: Role, reason: str | None) -> None:
    """A new asset starts in or out of service. Only an admin bringing over a register in
    which it is already retired (a CSV import, whose row is the ``reason``) may register it
    retired."""
    if status != RETIRED:
        return
    if not role.at_least(Role.ADMIN):
        raise ServiceError(ErrorCode.FORBIDDEN, "only admins may register retired assets")
    if reason is None:
        raise ServiceError(
            ErrorCode.VALIDATION,
            "a new asset cannot start retired: register it, then retire it with a reason",
            details=[{"loc": ["status"]}],
        )


def check_edit(old: EquipmentStatus, new: EquipmentStatus, role: Role) -> None:
    """An edit may not retire an asset or bring a retired one back: the dedicated requests do
    that. A technician is told it is not theirs to do (403); an admin where to do it (422)."""
    if old == new or RETIRED not in (old, new):
        return
    retiring = new == RETIRED
    if not role.at_least(Role.ADMIN):
        what = "retire assets" if retiring else "return retired assets to service"
        raise ServiceError(ErrorCode.FORBIDDEN, f"only admins may {what}")
    route = "retire" if retiring else "reinstate"
    raise ServiceError(
        ErrorCode.VALIDATION,
        f"{'retiring' if retiring else 'reinstating'} an asset needs a reason: "
        f"POST /api/equipment/{{ref}}/{route} with one",
        details=[{"loc": ["status"]}],
    )


def check_reinstate(status: EquipmentStatus, number: str) -> None:
    if status != RETIRED:
        raise ServiceError(ErrorCode.CONFLICT, f"{number} is not retired")


def check_retire(status: EquipmentStatus, number: str) -> None:
    if status == RETIRED:
        raise ServiceError(ErrorCode.CONFLICT, f"{number} is already retired")
