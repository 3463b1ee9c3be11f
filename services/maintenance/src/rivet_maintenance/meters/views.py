"""Meters and readings as the contract shows them."""

from decimal import Decimal

from rivet_contracts import maintenance as contract

from .repository import MeterRecord, ReadingRecord


def _float(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


def meter_view(record: MeterRecord) -> contract.MeterView:
    side = record.condition.side
    return contract.MeterView(
        id=record.id,
        org_id=record.org_id,
        equipment_id=record.equipment_id,
        name=record.name,
        kind=record.kind,
        unit=record.unit,
        low_limit=_float(record.low_limit),
        high_limit=_float(record.high_limit),
        deadband=float(record.deadband),
        last_value=_float(record.last_value),
        last_read_at=record.last_read_at,
        excursion_side=contract.LimitSide(side.value) if side is not None else None,
        excursion_since=record.condition.since,
        excursions=record.condition.excursions,
        created_at=record.created_at,
        updated_at=record.updated_at,
    )


def reading_view(record: ReadingRecord) -> contract.ReadingView:
    return contract.ReadingView(
        id=record.id,
        meter_id=record.meter_id,
        value=float(record.value),
        read_at=record.read_at,
        source=record.source,
        author_id=record.author_id,
        recorded_at=record.recorded_at,
    )
