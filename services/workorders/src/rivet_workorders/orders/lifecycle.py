"""The work order state machine, due-date defaults and who may change what.

Pure rules with no I/O, so they can be read (and tested) on their own; ``service`` applies them.

    open -> in_progress <-> on_hold -> completed      (in_progress -> completed too)
    open | in_progress | on_hold -> cancelled          (reason required)
    completed | cancelled -> open                      (reopen; reason required)
"""

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from rivet_contracts import ErrorCode, Role, ServiceError
from rivet_contracts.workorders import Priority
from rivet_contracts.workorders import WorkOrderStatus as S

TRANSITIONS: dict[S, tuple[S, ...]] = {
    S.OPEN: (S.IN_PROGRESS, S.CANCELLED),
    S.IN_PROGRESS: (S.ON_HOLD, S.COMPLETED, S.CANCELLED),
    S.ON_HOLD: (S.IN_PROGRESS, S.COMPLETED, S.CANCELLED),
    S.COMPLETED: (S.OPEN,),
    S.CANCELLED: (S.OPEN,),
}

DUE_OFFSETS: dict[Priority, timedelta] = {
    Priority.CRITICAL: timedelta(hours=4),
    Priority.HIGH: timedelta(days=1),
    Priority.MEDIUM: timedelta(days=7),
    Priority.LOW: timedelta(days=30),
}
"""Default due date = creation time + this offset (docs/workorders.md)."""

PLANNING_FIELDS = frozenset({"priority", "due_at", "title", "description", "work_type"})
"""Fields only admins change after creation: they are the plan others work to."""


def default_due(priority: Priority, created_at: datetime) -> datetime:
    return created_at + DUE_OFFSETS[priority]


def allowed(status: S) -> list[S]:
    return list(TRANSITIONS[status])


def needs_reason(current: S, target: S) -> bool:
    """Cancelling and reopening must say why: both undo someone else's work or request."""
    return target is S.CANCELLED or (target is S.OPEN and current in (S.COMPLETED, S.CANCELLED))


def check_transition(current: S, target: S, reason: str | None) -> None:
    if target not in TRANSITIONS[current]:
        names = ", ".join(s.value for s in TRANSITIONS[current])
        raise ServiceError(
            ErrorCode.INVALID_TRANSITION,
            f"a work order cannot go from {current.value} to {target.value}; "
            f"from {current.value} it can go to: {names}",
            details={
                "from": current.value,
                "to": target.value,
                "allowed": [s.value for s in TRANSITIONS[current]],
            },
        )
    if needs_reason(current, target) and not reason:
        verb = "cancel" if target is S.CANCELLED else "reopen"
        raise ServiceError(
            ErrorCode.VALIDATION,
            f"a reason is required to {verb} a work order",
            details=[{"loc": ["reason"], "msg": "required for this transition", "type": "missing"}],
        )


def transition_stamps(
    current: S, target: S, now: datetime, row: dict[str, Any] | Any
) -> dict[str, Any]:
    """Columns a transition sets: status, when, and the per-status timestamps.

    ``acknowledged_at`` is the first start of work and never moves; a completion closes open
    downtime (the equipment is back up when the work is done) unless it was recorded already.
    """
    values: dict[str, Any] = {"status": target.value, "status_changed_at": now}
    if target is S.IN_PROGRESS:
        values["started_at"] = now
        if row["acknowledged_at"] is None:
            values["acknowledged_at"] = now
    elif target is S.ON_HOLD:
        values["on_hold_at"] = now
    elif target is S.COMPLETED:
        values["completed_at"] = now
        if row["downtime_start"] is not None and row["downtime_end"] is None:
            values["downtime_end"] = max(now, row["downtime_start"])
    elif target is S.CANCELLED:
        values["cancelled_at"] = now
    elif target is S.OPEN:
        values.update(reopened_at=now, completed_at=None, cancelled_at=None)
    return values


def check_assignment(role: Role, caller: UUID, current: UUID | None, new: UUID | None) -> None:
    """Technicians take orders for themselves or give them back; admins assign anyone."""
    if role is Role.ADMIN or current == new:
        return
    takes_it = new == caller and current is None
    gives_back = new is None and current == caller
    hands_over_own = new == caller and current is not None and current != caller
    if takes_it or gives_back:
        return
    who = "reassign orders assigned to others" if hands_over_own else "assign orders to others"
    raise ServiceError(ErrorCode.FORBIDDEN, f"only admins may {who}; you may assign yourself")


def check_planning(role: Role, fields: set[str]) -> None:
    planning = sorted(fields & PLANNING_FIELDS)
    if planning and role is not Role.ADMIN:
        raise ServiceError(
            ErrorCode.FORBIDDEN,
            f"only admins may change {', '.join(planning)} after a work order is created",
        )
