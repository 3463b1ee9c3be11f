"""The organization's time zone, as the schedule rules take it, and what a new one changes.

A calendar plan's next due time is an instant computed in the organization's zone; when the
zone changes, the plans whose next occurrence is not recorded yet are computed again in the
new one (recorded occurrences keep their instants: their orders are open or opening).
"""

import logging
import time
from datetime import datetime
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from ..occurrences import repository as occurrences
from ..plans import repository as plans
from ..plans.repository import ScheduleState
from ..plans.triggers import load
from ..schedule.calendar import CalendarTrigger
from ..schedule.errors import ScheduleError
from ..schedule.localtime import zone
from ..schedule.planning import opening, resumed
from ..vocabulary import ACTIVE_OCCURRENCES, TriggerKind
from . import repository as repo

log = logging.getLogger(__name__)

DEFAULT_ZONE = "UTC"
"""An organization's zone until auth says otherwise (auth's default too)."""


async def zone_of(conn: AsyncConnection, org_id: UUID) -> ZoneInfo:
    """The organization's zone (UTC until an event about it has arrived)."""
    name = await repo.time_zone(conn, org_id) or DEFAULT_ZONE
    try:
        return zone(name)
    except ScheduleError:  # auth checks zones; a name this machine lacks must not stop plans
        log.warning("organization %s: unknown time zone %r; using UTC", org_id, name)
        return zone(DEFAULT_ZONE)


RECENT_ZONE_SECONDS = 10.0
_recent: dict[UUID, tuple[float, ZoneInfo]] = {}


async def recent_zone(conn: AsyncConnection, org_id: UUID) -> ZoneInfo:
    """``zone_of`` as this process read it in the last ``RECENT_ZONE_SECONDS``: for what is
    only shown (a forecast page), which may read a zone changed that long ago on another
    replica (this one forgets the zone it changes). Writes use ``zone_of``."""
    now = time.monotonic()
    known = _recent.get(org_id)
    if known is not None and now - known[0] < RECENT_ZONE_SECONDS:
        return known[1]
    tz = await zone_of(conn, org_id)
    _recent[org_id] = (now, tz)
    return tz


async def zones_of(conn: AsyncConnection, org_ids: list[UUID]) -> dict[UUID, ZoneInfo]:
    """``zone_of`` for several organizations in one statement."""
    names = await repo.time_zones(conn, org_ids)
    found: dict[UUID, ZoneInfo] = {}
    for org_id in org_ids:
        name = names.get(org_id, DEFAULT_ZONE)
        try:
            found[org_id] = zone(name)
        except ScheduleError:
            log.warning("organization %s: unknown time zone %r; using UTC", org_id, name)
            found[org_id] = zone(DEFAULT_ZONE)
    return found


async def store_zone(conn: AsyncConnection, org_id: UUID, name: str, as_of: datetime) -> bool:
    """Keep ``name`` unless a later event was applied; whether the zone changed."""
    before = await repo.time_zone(conn, org_id) or DEFAULT_ZONE
    stored = await repo.store_time_zone(conn, org_id, name, as_of)
    _recent.pop(org_id, None)
    return stored and name != before


async def reschedule(conn: AsyncConnection, org_id: UUID, now: datetime) -> int:
    """Compute again, in the organization's zone, the next occurrence of its calendar plans
    that have one not recorded yet; how many moved."""
    tz = await zone_of(conn, org_id)
    moved = 0
    for plan in await plans.plans_of_kind(conn, org_id, TriggerKind.CALENDAR, lock=True):
        if plan.schedule.next_due_at is None:
            continue
        trigger = load(plan.trigger_kind, plan.trigger)
        assert isinstance(trigger, CalendarTrigger)
        latest = await occurrences.latest_of_plan(conn, plan.id)
        due = resumed(
            trigger,
            latest.due_at if latest is not None else None,
            latest.completed_at if latest is not None else None,
            latest is not None and latest.status in ACTIVE_OCCURRENCES,
            now,
            tz,
        )
        state = ScheduleState(
            due,
            opening(trigger, due, tz),
            plan.schedule.meter_base,
            plan.schedule.last_completed_at,
        )
        if state != plan.schedule:
            await plans.store_schedule(conn, plan.id, state)
            moved += 1
    await plans.refresh_org_cycles(conn, org_id)  # local dates move with the zone
    return moved
