"""The work-order request of an occurrence. Pure.

It is built once, when the occurrence is recorded, stored with it and sent unchanged until the
order is open: the work-order service answers a repeated ``idempotency_key`` with the order it
created only when the request is the same, so a request rebuilt later (after the plan was
edited, or at another time) could be refused as a different one. Its key is the occurrence's
(``schedule.keys``), its ``plan_id`` the plan's, its checklist a copy of the plan's template.

A calendar occurrence's order is due when the occurrence is; the work-order service refuses a
due date more than a few minutes in the past, so an occurrence recorded late (the scheduler was
stopped) or whose request could not be sent for a while asks for the priority's default due
date instead (``without_due``). Meter and condition orders take the priority's default too; a
condition plan's orders are corrective.
"""

from datetime import datetime, timedelta
from typing import Any

from rivet_contracts import ErrorCode, ServiceError
from rivet_contracts.workorders import ChecklistItem, CreateWorkOrder, WorkType

from ..plans.repository import PlanRecord
from ..vocabulary import TriggerKind

LATE = timedelta(minutes=4)
"""A due date this far in the past is still accepted by the work-order service (it allows 5)."""
MAX_DESCRIPTION = 10_000


def work_order_request(
    plan: PlanRecord,
    key: str,
    *,
    due_at: datetime | None,
    now: datetime,
    note: str | None = None,
) -> dict[str, Any]:
    """The request (as JSON) that opens the order of the plan's occurrence ``key``."""
    parts = [part for part in (plan.instructions, note) if part]
    description = "\n\n".join(parts)[:MAX_DESCRIPTION] or None
    condition = plan.trigger_kind is TriggerKind.CONDITION
    request = CreateWorkOrder(
        equipment_id=str(plan.equipment_id),
        title=plan.title,
        description=description,
        priority=plan.priority,
        work_type=WorkType.CORRECTIVE if condition else plan.work_type,
        due_at=due_at if due_at is not None and due_at >= now - LATE else None,
        assignee_id=plan.assignee_id,
        estimated_hours=float(plan.estimated_hours) if plan.estimated_hours is not None else None,
        checklist=[ChecklistItem.model_validate(item) for item in plan.checklist],
        plan_id=plan.id,
        idempotency_key=key,
    )
    stored: dict[str, Any] = request.model_dump(mode="json", exclude_none=True)
    return stored


def parse(stored: dict[str, Any]) -> CreateWorkOrder:
    """The stored request as the contract's model (only the fields it was built with are set,
    so it is sent as it was stored)."""
    return CreateWorkOrder.model_validate(stored)


def due_refused(exc: ServiceError, stored: dict[str, Any]) -> bool:
    """The work-order service refused the request's due date (it is in the past by now)."""
    if exc.code is not ErrorCode.VALIDATION or "due_at" not in stored:
        return False
    details = exc.info.details if isinstance(exc.info.details, list) else []
    return any(isinstance(d, dict) and d.get("loc") == ["due_at"] for d in details)


def without_due(stored: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in stored.items() if name != "due_at"}
