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

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from rivet_contracts import Events
from rivet_contracts.maintenance import LimitSide, MeterLimitExceeded, MeterReadingRecorded
from rivet_runtime import UnitOfWork

from ..occurrences import service as occurrences
from ..occurrences.repository import NewOccurrence, OccurrenceRecord
from ..plans import repository as plans
from ..plans.repository import PlanRecord
from ..plans.triggers import load
from ..schedule.conditions import ConditionState, Excursion, Side, evaluate
from ..schedule.errors import ScheduleError
from ..schedule.keys import condition_key, meter_key
from ..schedule.meters import MeterTrigger, check_counter, check_value, meter_due
from ..vocabulary import MeterKind, PlanStatus, TriggerKind
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
    conn = ctx.conn
    meter = await repo.get_meter(conn, new.org_id, new.meter_id, lock=True)
    if meter is None:
        raise ScheduleError("unknown_meter", f"meter {new.meter_id} not found")
    if new.read_at > now + CLOCK_SKEW:
        raise ScheduleError("in_the_future", "the reading's time is in the future")
    check_value(new.value)
    newest = meter.last_read_at is None or new.read_at > meter.last_read_at
    if meter.kind is MeterKind.COUNTER:
        await _check_counter(ctx, meter, new, newest)
    reading = await repo.add_reading(
        conn,
        NewReading(meter.id, new.org_id, new.value, new.read_at, new.source, new.author_id),
    )
    condition: ConditionState | None = None
    excursion: Excursion | None = None
    if newest:
        limits = meter.limits if meter.kind is MeterKind.GAUGE else None
        if limits is not None:
            condition, excursion = evaluate(limits, meter.condition, new.value, new.read_at)
        await repo.store_latest(conn, meter.id, new.value, new.read_at, condition)
    after = await repo.get_meter(conn, new.org_id, meter.id)
    assert after is not None
    await ctx.emit(
        Events.METER_READING_RECORDED,
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
        org_id=new.org_id,
    )
    result = Recorded(reading, after, excursion)
    if excursion is not None:
        await _limit_exceeded(ctx, meter, excursion)
    if newest and (excursion is not None or meter.kind is MeterKind.COUNTER):
        for plan in await plans.plans_of_meter(conn, meter.id, status=PlanStatus.ACTIVE):
            made = await _due(ctx, plan, meter, new, excursion, now)
            if made is not None:
                result.occurrences.append(made)
    return result


async def _check_counter(
    ctx: UnitOfWork[Any], meter: MeterRecord, new: Reading, newest: bool
) -> None:
    """A counter's reading fits: not below the one before it, and (an older one) not above
    the newest."""
    if newest:
        check_counter(meter.last_value, new.value)
        return
    before = await repo.reading_at(ctx.conn, meter.id, new.read_at)
    check_counter(before.value if before is not None else None, new.value)
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
