"""Recording a reading: the one step the API and the machines' subject share.

In the caller's transaction, with the meter's row locked so that readings of one meter are
applied one after the other:

1. refused with a ``ScheduleError`` and its reason, nothing stored: an unknown meter (or
   another organization's: ``unknown_meter``), a time more than five minutes in the future
   (``in_the_future``), a counter going back, a negative counter, a value that is not finite
   (``schedule.meters``);
2. stored; the newest reading becomes the meter's latest, and for a gauge with limits it moves
   the excursion state (``schedule.conditions``). A reading older than the newest (a device
   resending, a late delivery) is kept in the history and changes nothing else; a counter's
   must still fit between its neighbours;
3. ``meter.reading_recorded``; a gauge's new excursion is ``meter.limit_exceeded`` and records
   an occurrence of each active condition plan of the gauge; a counter's reading records the
   occurrence of each active meter plan whose threshold (minus its lead) it reached.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from rivet_contracts import EventEnvelope, Events
from rivet_contracts.maintenance import LimitSide, MeterLimitExceeded, MeterReadingRecorded
from rivet_runtime import UnitOfWork

from ..occurrences import service as occurrences
from ..occurrences.repository import NewOccurrence, OccurrenceRecord
from ..plans import repository as plans
from ..plans.repository import PlanRecord
from ..plans.triggers import load
from ..schedule.conditions import Excursion, Side, evaluate
from ..schedule.errors import ScheduleError
from ..schedule.keys import condition_key, meter_key
from ..schedule.meters import MeterTrigger, check_counter, check_value, meter_due
from ..vocabulary import MeterKind, TriggerKind
from . import repository as repo
from .repository import MeterRecord, NewReading, ReadingRecord

CLOCK_SKEW = timedelta(minutes=5)
"""How far in the future a reading's time may be: clocks of devices and phones drift."""


@dataclass(frozen=True)
class Reading:
    """A reading to record."""

    org_id: UUID
    meter_id: UUID
    value: Decimal
    read_at: datetime
    source: str
    author_id: UUID | None = None


@dataclass
class Recorded:
    reading: ReadingRecord
    meter: MeterRecord
    excursion: Excursion | None = None
    occurrences: list[OccurrenceRecord] = field(default_factory=list)


async def record(ctx: UnitOfWork[Any], new: Reading, now: datetime) -> Recorded:
    """Record ``new`` in the open transaction (see the module's docstring)."""
    (recorded,) = await record_many(ctx, [new], now)
    return recorded


async def record_many(
    ctx: UnitOfWork[Any],
    batch: Sequence[Reading],
    now: datetime,
    causes: Sequence[EventEnvelope[Any] | None] | None = None,
) -> list[Recorded]:
    """Record ``batch`` in the open transaction, one after the other as if each had its own
    transaction, with a few statements for all of them (the machines' readings come in
    batches: ``EventRouter.on_many``): the meters locked in one statement (in id order, so two
    batches never wait on each other crosswise), the readings inserted in one, the meters'
    newest readings stored in one, ``meter.reading_recorded`` written in one. The first
    reading refused raises its ``ScheduleError`` (the caller rolls the batch back and applies
    it reading by reading). ``causes``: the envelope each reading came in, if any (its actor
    and correlation id go on to the events)."""
    conn = ctx.conn
    locked = await repo.lock_meters(conn, sorted({new.meter_id for new in batch}))
    meters: dict[UUID, MeterRecord] = {locked_meter.id: locked_meter for locked_meter in locked}
    watching: dict[UUID, list[PlanRecord]] | None = None
    pending: dict[UUID, list[tuple[datetime, Decimal]]] = {}
    """Readings of this batch per meter (read_at, value), for older readings' neighbours."""
    rows: list[NewReading] = []
    steps: list[tuple[MeterRecord, MeterRecord, Excursion | None, bool]] = []
    """Per reading: the meter before and after it, the excursion it started, whether newest."""
    for new in batch:
        found = meters.get(new.meter_id)
        if found is None or found.org_id != new.org_id:
            raise ScheduleError("unknown_meter", f"meter {new.meter_id} not found")
        meter = found
        if new.read_at > now + CLOCK_SKEW:
            raise ScheduleError("in_the_future", "the reading's time is in the future")
        check_value(new.value)
        newest = meter.last_read_at is None or new.read_at > meter.last_read_at
        if meter.kind is MeterKind.COUNTER:
            await _check_counter(ctx, meter, new, newest, pending.get(meter.id, []))
        rows.append(
            NewReading(meter.id, new.org_id, new.value, new.read_at, new.source, new.author_id)
        )
        pending.setdefault(meter.id, []).append((new.read_at, new.value))
        after, excursion = meter, None
        if newest:
            condition = meter.condition
            limits = meter.limits if meter.kind is MeterKind.GAUGE else None
            if limits is not None:
                condition, excursion = evaluate(limits, meter.condition, new.value, new.read_at)
            after = replace(
                meter,
                last_value=new.value,
                last_read_at=new.read_at,
                condition=replace(condition, last_at=new.read_at),
            )
            meters[meter.id] = after
        steps.append((meter, after, excursion, newest))
    stored = await repo.add_readings(conn, rows)
    latest = {meter.id: meter for _, meter, _, newest in steps if newest}
    await repo.store_latest_many(conn, list(latest.values()))
    await ctx.emit_many(
        Events.METER_READING_RECORDED,
        [
            (
                MeterReadingRecorded(
                    reading_id=reading.id,
                    meter_id=meter.id,
                    equipment_id=meter.equipment_id,
                    kind=meter.kind,
                    unit=meter.unit,
                    value=float(new.value),
                    read_at=new.read_at,
                    source=new.source,
                    author_id=new.author_id,
                ),
                new.org_id,
            )
            for new, reading, (meter, _, _, _) in zip(batch, stored, steps, strict=True)
        ],
        causes=causes,
    )
    results: list[Recorded] = []
    for new, reading, (meter, after, excursion, newest) in zip(batch, stored, steps, strict=True):
        result = Recorded(reading, after, excursion)
        if excursion is not None:
            await _limit_exceeded(ctx, meter, excursion)
        if newest and (excursion is not None or meter.kind is MeterKind.COUNTER):
            if watching is None:
                watching = await plans.active_plans_of_meters(conn, list(meters))
            for plan in watching.get(meter.id, []):
                made = await _due(ctx, plan, meter, new, excursion, now)
                if made is not None:
                    result.occurrences.append(made)
        results.append(result)
    return results


async def _check_counter(
    ctx: UnitOfWork[Any],
    meter: MeterRecord,
    new: Reading,
    newest: bool,
    pending: list[tuple[datetime, Decimal]],
) -> None:
    """A counter's reading fits: not below the one before it, and (an older one) not above
    the newest. ``pending``: this batch's earlier readings of the meter, not stored yet."""
    if newest:
        check_counter(meter.last_value, new.value)
        return
    before = await repo.reading_at(ctx.conn, meter.id, new.read_at)
    candidates = [(r.read_at, r.value) for r in (before,) if r is not None]
    candidates += [(at, value) for at, value in pending if at <= new.read_at]
    # the newest at or before read_at; of two at the same time, the one stored last
    previous = None
    if candidates:
        previous = max(enumerate(candidates), key=lambda c: (c[1][0], c[0]))[1][1]
    check_counter(previous, new.value)
    if meter.last_value is not None and new.value > meter.last_value:
        raise ScheduleError(
            "counter_went_back",
            f"the counter read {meter.last_value} later than {new.read_at}; "
            f"{new.value} then is not possible",
        )


async def _limit_exceeded(ctx: UnitOfWork[Any], meter: MeterRecord, excursion: Excursion) -> None:
    limit = meter.high_limit if excursion.side is Side.HIGH else meter.low_limit
    assert limit is not None
    await ctx.emit(
        Events.METER_LIMIT_EXCEEDED,
        MeterLimitExceeded(
            meter_id=meter.id,
            equipment_id=meter.equipment_id,
            side=LimitSide(excursion.side.value),
            value=float(excursion.value),
            limit=float(limit),
            read_at=excursion.at,
            excursion=excursion.index,
        ),
        org_id=meter.org_id,
    )


async def _due(
    ctx: UnitOfWork[Any],
    plan: PlanRecord,
    meter: MeterRecord,
    new: Reading,
    excursion: Excursion | None,
    now: datetime,
) -> OccurrenceRecord | None:
    """The occurrence of ``plan`` the reading makes due, recorded; None if it makes none."""
    unit = meter.unit
    if plan.trigger_kind is TriggerKind.CONDITION and excursion is not None:
        limit = meter.high_limit if excursion.side is Side.HIGH else meter.low_limit
        note = (
            f"{meter.name} read {_show(excursion.value)} {unit} at {excursion.at.isoformat()}: "
            f"beyond its {excursion.side.value} limit of {_show(limit)} {unit}."
        )
        key = condition_key(plan.id, excursion.index)
        occurrence = NewOccurrence(plan.org_id, plan.id, key, excursion=excursion.index)
        return await occurrences.record(ctx, plan, occurrence, now, note=note)
    if plan.trigger_kind is not TriggerKind.METER or meter.kind is not MeterKind.COUNTER:
        return None
    trigger = load(plan.trigger_kind, plan.trigger)
    assert isinstance(trigger, MeterTrigger)
    base = plan.schedule.meter_base if plan.schedule.meter_base is not None else Decimal(0)
    if new.value < base:
        return None
    due = meter_due(trigger, base, new.value)
    if due is None:
        return None
    note = (
        f"Due at {_show(due.threshold)} {unit} of {meter.name} (every {_show(trigger.every)} "
        f"{unit}); read {_show(new.value)} {unit} at {new.read_at.isoformat()}."
    )
    occurrence = NewOccurrence(
        plan.org_id, plan.id, meter_key(plan.id, due.threshold), threshold=due.threshold
    )
    return await occurrences.record(ctx, plan, occurrence, now, note=note)


def _show(value: Decimal | None) -> str:
    """A value as people write it: 1500, 0.25 (never 1.5E+3 or 1500.0)."""
    if value is None:
        return "?"
    return format(value.normalize(), "f")
