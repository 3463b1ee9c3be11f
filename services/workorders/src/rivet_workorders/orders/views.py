"""Rows to contract models: views for callers, snapshots for events."""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.engine import RowMapping

from rivet_contracts.workorders import (
    OPEN_STATUSES,
    ChecklistItemView,
    ChecklistKind,
    EquipmentBrief,
    TimelineEntry,
    WorkOrderStatus,
    WorkOrderView,
)

from . import checklist as rules
from . import lifecycle


def hours(minutes: int | None) -> float | None:
    return None if minutes is None else round(minutes / 60, 4)


def minutes(hours: float | None) -> int | None:
    return None if hours is None else round(hours * 60)


def to_view(
    row: RowMapping,
    now: datetime,
    timeline: Sequence[Mapping[Any, Any]] | None = None,
    checklist: Sequence[Mapping[Any, Any]] = (),
) -> WorkOrderView:
    """``row`` has the columns of ``repository.VIEW_COLUMNS``; ``checklist`` the order's
    checklist items in position order."""
    status = WorkOrderStatus(row["status"])
    down_start, down_end = row["downtime_start"], row["downtime_end"]
    downtime = None
    if down_start is not None:
        downtime = round(
            ((down_end or max(now, down_start)) - down_start).total_seconds() / 3600, 4
        )
    return WorkOrderView(
        id=row["id"],
        number=row["number"],
        equipment=EquipmentBrief(
            id=row["equipment_id"],
            number=row["equipment_number"],
            name=row["equipment_name"],
            manufacturer=row["equipment_manufacturer"],
            model=row["equipment_model"],
            serial=row["equipment_serial"],
            location=row["equipment_location"],
            criticality=row["equipment_criticality"],
        ),
        title=row["title"],
        description=row["description"],
        fault_codes=list(row["fault_codes"]),
        symptoms=list(row["symptoms"]),
        priority=row["priority"],
        status=status,
        work_type=row["work_type"],
        source=row["source"],
        due_at=row["due_at"],
        overdue=status in OPEN_STATUSES and row["due_at"] < now,
        assignee_id=row["assignee_id"],
        assignee_name=row["assignee_name"],
        requester_id=row["requester_id"],
        requester_name=row["requester_name"],
        estimated_hours=hours(row["estimated_minutes"]),
        labour_hours=hours(row["labour_minutes"]),
        downtime_start=down_start,
        downtime_end=down_end,
        downtime_hours=downtime,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        acknowledged_at=row["acknowledged_at"],
        started_at=row["started_at"],
        on_hold_at=row["on_hold_at"],
        completed_at=row["completed_at"],
        cancelled_at=row["cancelled_at"],
        reopened_at=row["reopened_at"],
        status_changed_at=row["status_changed_at"],
        allowed_transitions=lifecycle.allowed(status),
        version=row["version"],
        plan_id=row["plan_id"],
        attachment_count=row["attachment_count"],
        checklist=[to_item(item) for item in checklist],
        timeline=None if timeline is None else [to_entry(t) for t in timeline],
    )


def item_result(row: Mapping[Any, Any]) -> str | float | None:
    """What an item recorded: the verdict of a pass/fail item, the reading of a number item."""
    kind = ChecklistKind(row["kind"])
    if kind is ChecklistKind.PASS_FAIL:
        verdict: str | None = row["verdict"]
        return verdict
    if kind is ChecklistKind.NUMBER:
        reading: float | None = row["reading"]
        return reading
    return None


def to_item(row: Mapping[Any, Any]) -> ChecklistItemView:
    return ChecklistItemView(
        id=row["id"],
        position=row["position"],
        text=row["text"],
        required=row["required"],
        kind=row["kind"],
        low=row["low"],
        high=row["high"],
        unit=row["unit"],
        done=row["done"],
        result=item_result(row),
        out_of_limits=rules.out_of_limits(row["low"], row["high"], row["reading"]),
        done_by=row["done_by"],
        done_at=row["done_at"],
        note=row["note"],
    )


def to_entry(row: Mapping[Any, Any]) -> TimelineEntry:
    return TimelineEntry(
        id=row["entry_id"],
        at=row["at"],
        kind=row["kind"],
        author_id=row["author_id"],
        author_name=row.get("author_name"),
        channel=row["channel"],
        from_status=row["from_status"],
        to_status=row["to_status"],
        body=row["body"],
        changes=row["changes"] or {},
    )


def snapshot_fields(row: RowMapping) -> dict[str, Any]:
    """The fields of ``WorkOrderSnapshot`` (the part every ``wo.*`` event carries)."""
    return {
        "work_order_id": row["id"],
        "number": row["number"],
        "title": row["title"],
        "status": row["status"],
        "priority": row["priority"],
        "work_type": row["work_type"],
        "equipment_id": row["equipment_id"],
        "equipment_number": row["equipment_number"],
        "equipment_name": row["equipment_name"],
        "assignee_id": row["assignee_id"],
        "requester_id": row["requester_id"],
        "source": row["source"],
        "fault_codes": list(row["fault_codes"]),
        "due_at": row["due_at"],
        "created_at": row["created_at"],
        "acknowledged_at": row["acknowledged_at"],
        "completed_at": row["completed_at"],
        "estimated_hours": hours(row["estimated_minutes"]),
        "downtime_start": row["downtime_start"],
        "downtime_end": row["downtime_end"],
        "plan_id": row["plan_id"],
        "version": row["version"],
    }
