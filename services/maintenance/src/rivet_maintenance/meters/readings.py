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
3. ``meter.reading_recorded`` for each reading, or for a machine's batch of readings
   (``record_batches``) one ``meter.readings_recorded`` carrying the batch's recorded ones,
   its refused ones left out with their reasons; a gauge's new excursion is
   ``meter.limit_exceeded`` and records an occurrence of each active condition plan of the
   gauge; a counter's reading records the occurrence of each active meter plan whose
   threshold (minus its lead) it reached.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from rivet_contracts import EventEnvelope, Events
from rivet_contracts.maintenance import (
    LimitSide,
    MeterLimitExceeded,
    MeterReadingRecorded,
    MeterReadingsRecorded,
    RecordedReading,
)
from rivet_runtime import UnitOfWork

from ..occurrences import service as occurrences
from ..occurrences.repository import NewOccurrence, OccurrenceRecord
from ..plans import repository as plans
from ..plans.repository import MeterWatch, PlanRecord
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


@dataclass(frozen=True)
class Batch:
    """The readings of one machine message (``reading.batch_submitted``), recorded or refused
    each on its own and announced together in one ``meter.readings_recorded``."""

    readings: Sequence[Reading]
    cause: EventEnvelope[Any] | None = None
    """The envelope the batch came in (its actor and correlation id go on to the event)."""
    device: str | None = None
    unreadable: int = 0
    """Readings of the message refused before this (they do not parse): counted as refused."""


@dataclass(frozen=True)
class _Step:
    """A reading found acceptable: the meter before and after it, the excursion it started,
    whether it is the meter's newest."""

    new: Reading
    before: MeterRecord
    after: MeterRecord
    excursion: Excursion | None
    newest: bool


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
    checked = await _check(ctx, batch, now, each=False)
    steps = [step for step in checked if isinstance(step, _Step)]
    stored = await _store(ctx, steps)
    await ctx.emit_many(
        Events.METER_READING_RECORDED,
        [
            (_recorded_event(step, reading), step.new.org_id)
            for step, reading in zip(steps, stored, strict=True)
        ],
        causes=causes,
    )
    return await _follow_up(ctx, steps, stored, now)


async def record_batches(
    ctx: UnitOfWork[Any], batches: Sequence[Batch], now: datetime
) -> list[list[Recorded | ScheduleError]]:
    """Record the readings of ``batches`` in the open transaction, in order, each as if alone,
    as ``record_many`` does; but a reading refused is left out with its ``ScheduleError`` and
    the others are recorded. One ``meter.readings_recorded`` per batch with a reading
    recorded. Per batch, per reading: what it recorded or why it was refused."""
    flat = [new for batch in batches for new in batch.readings]
    checked = await _check(ctx, flat, now, each=True)
    steps = [step for step in checked if isinstance(step, _Step)]
    stored = await _store(ctx, steps)
    by_step = dict(zip(map(id, steps), stored, strict=True))
    events: list[tuple[MeterReadingsRecorded, UUID]] = []
    causes: list[EventEnvelope[Any] | None] = []
    at = 0
    for batch in batches:
        mine = checked[at : at + len(batch.readings)]
        at += len(batch.readings)
        recorded = [(step, by_step[id(step)]) for step in mine if isinstance(step, _Step)]
        if not recorded:
            continue
        first = recorded[0][0].new
        event = MeterReadingsRecorded(
            source=first.source,
            device=batch.device,
            readings=[
                RecordedReading(
                    reading_id=reading.id,
                    meter_id=step.before.id,
                    equipment_id=step.before.equipment_id,
                    kind=step.before.kind,
                    unit=step.before.unit,
                    value=float(step.new.value),
                    read_at=step.new.read_at,
                )
                for step, reading in recorded
            ],
            refused=len(mine) - len(recorded) + batch.unreadable,
        )
        events.append((event, first.org_id))
        causes.append(batch.cause)
    await ctx.emit_many(Events.METER_READINGS_RECORDED, events, causes=causes)
    done = iter(await _follow_up(ctx, steps, stored, now))
    results: list[list[Recorded | ScheduleError]] = []
    at = 0
    for batch in batches:
        mine = checked[at : at + len(batch.readings)]
        at += len(batch.readings)
        results.append([next(done) if isinstance(step, _Step) else step for step in mine])
    return results


async def _check(
    ctx: UnitOfWork[Any], batch: Sequence[Reading], now: datetime, *, each: bool
) -> list[_Step | ScheduleError]:
    """Whether each reading of ``batch`` can be recorded, in order, each after the ones before
    it were applied; the meters locked. ``each``: a refused reading is left out with its
    error and the next ones go on; otherwise the first refused raises."""
    locked = await repo.lock_meters(ctx.conn, sorted({new.meter_id for new in batch}))
    meters: dict[UUID, MeterRecord] = {locked_meter.id: locked_meter for locked_meter in locked}
    pending: dict[UUID, list[tuple[datetime, Decimal]]] = {}
    """Readings of this batch per meter (read_at, value), for older readings' neighbours."""
    checked: list[_Step | ScheduleError] = []
    for new in batch:
        try:
            step = await _step(ctx, meters, pending, new, now)
        except ScheduleError as exc:
            if not each:
                raise
            checked.append(exc)
            continue
        pending.setdefault(step.before.id, []).append((new.read_at, new.value))
        meters[step.before.id] = step.after
        checked.append(step)
    return checked


async def _step(
    ctx: UnitOfWork[Any],
    meters: dict[UUID, MeterRecord],
    pending: dict[UUID, list[tuple[datetime, Decimal]]],
    new: Reading,
    now: datetime,
) -> _Step:
    found = meters.get(new.meter_id)
    if found is None or found.org_id != new.org_id:
        raise ScheduleError("unknown_meter", f"meter {new.meter_id} not found")
    meter = found
    if new.read_at > now + CLOCK_SKEW:
        raise ScheduleError("in_the_future", "the reading's time is in the future")
    check_value(new.value)
    newest = meter.last_read_at is None or new.read_at > meter.last_read_at
    if meter.kind is MeterKind.COUNTER:
        if newest:  # the usual case, without a coroutine per reading
            check_counter(meter.last_value, new.value)
        else:
            await _check_counter(ctx, meter, new, newest, pending.get(meter.id, []))
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
    return _Step(new, meter, after, excursion, newest)


async def _store(ctx: UnitOfWork[Any], steps: Sequence[_Step]) -> list[ReadingRecord]:
    """The readings inserted in one statement and the meters' newest stored in one."""
    rows = [
        NewReading(s.before.id, s.new.org_id, s.new.value, s.new.read_at, s.new.source,
                   s.new.author_id)
        for s in steps
    ]  # fmt: skip
    stored = await repo.add_readings(ctx.conn, rows)
    latest = {step.after.id: step.after for step in steps if step.newest}
    await repo.store_latest_many(ctx.conn, list(latest.values()))
    return stored


def _recorded_event(step: _Step, reading: ReadingRecord) -> MeterReadingRecorded:
    meter, new = step.before, step.new
    return MeterReadingRecorded(
        reading_id=reading.id,
        meter_id=meter.id,
        equipment_id=meter.equipment_id,
        kind=meter.kind,
        unit=meter.unit,
        value=float(new.value),
        read_at=new.read_at,
        source=new.source,
        author_id=new.author_id,
    )


async def _follow_up(
    ctx: UnitOfWork[Any], steps: Sequence[_Step], stored: Sequence[ReadingRecord], now: datetime
) -> list[Recorded]:
    """What the stored readings start: a gauge's excursion announced, the plans they make due
    recorded. The plans watching the meters are looked up once, if a reading needs them, with
    only their triggers; a plan is loaded whole for a reading that makes it due."""
    watching: dict[UUID, list[MeterWatch]] | None = None
    triggers: dict[UUID, MeterTrigger] = {}
    loaded: dict[UUID, PlanRecord | None] = {}
    results: list[Recorded] = []
    for step, reading in zip(steps, stored, strict=True):
        meter, excursion = step.before, step.excursion
        result = Recorded(reading, step.after, excursion)
        if excursion is not None:
            await _limit_exceeded(ctx, meter, excursion)
        if step.newest and (excursion is not None or meter.kind is MeterKind.COUNTER):
            if watching is None:
                meter_ids = sorted({s.before.id for s in steps})
                watching = await plans.plans_watching_meters(ctx.conn, meter_ids)
            for watch in watching.get(meter.id, []):
                if not _may_be_due(watch, meter, step.new, excursion, triggers):
                    continue
                if watch.id not in loaded:
                    loaded[watch.id] = await plans.get_plan(ctx.conn, watch.org_id, watch.id)
                plan = loaded[watch.id]
                made = None
                if plan is not None:
                    made = await _due(ctx, plan, meter, step.new, excursion, now)
                if made is not None:
                    result.occurrences.append(made)
        results.append(result)
    return results


def _may_be_due(
    watch: MeterWatch,
    meter: MeterRecord,
    new: Reading,
    excursion: Excursion | None,
    triggers: dict[UUID, MeterTrigger],
) -> bool:
    """Whether ``_due`` could record an occurrence of the plan for this reading (the same
    rules, from the plan's trigger and meter base only)."""
    if watch.trigger_kind is TriggerKind.CONDITION:
        return excursion is not None
    if watch.trigger_kind is not TriggerKind.METER or meter.kind is not MeterKind.COUNTER:
        return False
    trigger = triggers.get(watch.id)
    if trigger is None:
        loaded = load(watch.trigger_kind, watch.trigger)
        assert isinstance(loaded, MeterTrigger)
        trigger = triggers[watch.id] = loaded
    base = watch.meter_base if watch.meter_base is not None else Decimal(0)
    return new.value >= base and meter_due(trigger, base, new.value) is not None


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
