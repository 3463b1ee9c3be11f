"""Meters and readings through the API: defining meters (admins) and recording readings
(technicians). The asset is asked of the assets service before the unit of work."""

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from rivet_contracts import maintenance as contract
from rivet_runtime import RequestContext

from ..common import peers
from ..common.errors import invalid, not_found, refused
from ..metrics import READINGS, REFUSED
from ..occurrences.views import occurrence_view
from ..plans.views import decimal
from ..schedule.conditions import Limits
from ..schedule.errors import ScheduleError
from ..state import MaintenanceState
from ..vocabulary import MeterKind
from . import readings
from . import repository as repo
from .repository import MeterRecord, NewMeter
from .views import meter_view, reading_view

Ctx = RequestContext[MaintenanceState]
LIMIT_FIELDS = ("low_limit", "high_limit", "deadband")


def _optional(value: float | None) -> Decimal | None:
    return decimal(value) if value is not None else None


def _check_limits(
    kind: MeterKind, low: Decimal | None, high: Decimal | None, band: Decimal
) -> None:
    if kind is MeterKind.COUNTER:
        if low is not None or high is not None or band:
            raise invalid("low_limit", "limits and a deadband are for gauges only")
        return
    if low is None and high is None:
        return
    try:
        Limits(low, high, band)
    except ScheduleError as exc:
        raise refused(exc, "low_limit") from None


async def create(ctx: Ctx, req: contract.CreateMeter) -> contract.MeterView:
    asset = await peers.asset(ctx, req.equipment_id)
    low, high, band = _optional(req.low_limit), _optional(req.high_limit), decimal(req.deadband)
    _check_limits(req.kind, low, high, band)
    new = NewMeter(
        uuid4(), ctx.caller.org_id, asset.id, req.name, req.kind, req.unit, low, high, band
    )
    async with ctx.transaction() as conn:
        return meter_view(await repo.insert_meter(conn, new))


async def update(ctx: Ctx, req: contract.UpdateMeter) -> contract.MeterView:
    given = req.changes.model_fields_set
    changes: dict[str, Any] = {}
    for name in ("name", "unit", "deadband"):
        if name in given and getattr(req.changes, name) is None:
            raise invalid(["changes", name], f"`{name}` cannot be cleared")
    meter = await _meter(ctx, req.meter_id, lock=True)
    for name in given:
        value = getattr(req.changes, name)
        changes[name] = decimal(value) if isinstance(value, float) else value
    low = changes.get("low_limit", meter.low_limit)
    high = changes.get("high_limit", meter.high_limit)
    _check_limits(meter.kind, low, high, changes.get("deadband", meter.deadband))
    if not changes:
        return meter_view(meter)
    return meter_view(await repo.update_meter(ctx.conn, meter.id, changes, ctx.state.clock.now()))


async def get(ctx: Ctx, req: contract.GetMeter) -> contract.MeterView:
    return meter_view(await _meter(ctx, req.meter_id))


async def list_page(ctx: Ctx, req: contract.ListMeters) -> contract.MeterPage:
    org_id = ctx.caller.org_id
    after: tuple[datetime, UUID] | None = None
    if req.after is not None:
        last = await repo.get_meter(ctx.conn, org_id, req.after)
        if last is None:
            raise invalid("after", "not a meter of your organization")
        after = (last.created_at, last.id)
    found = await repo.list_meters(
        ctx.conn, org_id, equipment_id=req.equipment_id, after=after, limit=req.limit + 1
    )
    items = found[: req.limit]
    more = len(found) > req.limit
    return contract.MeterPage(
        items=[meter_view(m) for m in items], next_after=items[-1].id if more else None
    )


async def record(ctx: Ctx, req: contract.RecordReading) -> contract.ReadingResult:
    caller, now = ctx.caller, ctx.state.clock.now()
    source = ctx.channel
    new = readings.Reading(
        caller.org_id, req.meter_id, decimal(req.value), req.read_at or now, source, caller.user_id
    )
    try:
        done = await readings.record(ctx, new, now)
    except ScheduleError as exc:
        READINGS.labels(source, "refused").inc()
        REFUSED.labels(exc.reason).inc()
        if exc.reason == "unknown_meter":
            raise not_found(f"meter {req.meter_id}") from None
        raise refused(exc, "read_at" if exc.reason == "in_the_future" else "value") from None
    ctx.after_commit.append(READINGS.labels(source, "recorded").inc)
    return contract.ReadingResult(
        reading=reading_view(done.reading),
        meter=meter_view(done.meter),
        excursion_started=done.excursion.index if done.excursion is not None else None,
        occurrences=[occurrence_view(o) for o in done.occurrences],
    )


async def list_readings(ctx: Ctx, req: contract.ListReadings) -> contract.ReadingPage:
    await _meter(ctx, req.meter_id)
    found = await repo.list_readings(
        ctx.conn, ctx.caller.org_id, req.meter_id, before=req.before, limit=req.limit
    )
    return contract.ReadingPage(items=[reading_view(r) for r in found])


async def _meter(ctx: Ctx, meter_id: UUID, *, lock: bool = False) -> MeterRecord:
    meter = await repo.get_meter(ctx.conn, ctx.caller.org_id, meter_id, lock=lock)
    if meter is None:
        raise not_found(f"meter {meter_id}")
    return meter
