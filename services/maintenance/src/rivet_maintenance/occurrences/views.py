"""Occurrences as the contract shows them."""

from rivet_contracts import maintenance as contract

from .repository import OccurrenceRecord


def occurrence_view(record: OccurrenceRecord) -> contract.OccurrenceView:
    return contract.OccurrenceView(
        id=record.id,
        plan_id=record.plan_id,
        key=record.key,
        status=record.status,
        due_at=record.due_at,
        opens_at=record.opens_at,
        deadline_at=record.deadline_at,
        threshold=float(record.threshold) if record.threshold is not None else None,
        excursion=record.excursion,
        work_order_id=record.work_order_id,
        work_order_number=record.work_order_number,
        created_at=record.created_at,
        opened_at=record.opened_at,
        completed_at=record.completed_at,
        on_time=record.on_time,
        last_error=record.last_error,
    )
