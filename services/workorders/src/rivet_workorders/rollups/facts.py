"""What one work order contributes to the rollups, and what one event adds to the daily flows.

The rollups are sums. A work order's *contribution* is a pure function of its current facts
(status, priority, due date, type, timestamps, estimate, downtime, fault codes), so a change
is applied as ``- contribution(before) + contribution(after)``: the same arithmetic whatever
changed, and a late or repeated event cannot double count (the consumer keeps the facts it
last counted, with their version, and only moves forward).

*Flows* are facts about events rather than states: "created on day d", "completed on day d".
They are added once per event (the inbox guarantees once) and feed the per-day trends; the
backlog at the end of a day is the running sum of created + reopened - completed - cancelled.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from rivet_contracts import Events
from rivet_contracts.workorders import (
    OPEN_STATUSES,
    Priority,
    WorkOrderSnapshot,
    WorkOrderStatus,
    WorkOrderStatusChanged,
    WorkType,
)

from . import health


class Facts(BaseModel):
    """The part of a work order the rollups count (stored per order in ``rollup_state``)."""

    model_config = ConfigDict(frozen=True)

    org_id: UUID
    equipment_id: UUID
    status: WorkOrderStatus
    priority: Priority
    work_type: WorkType
    due_at: datetime
    created_at: datetime
    acknowledged_at: datetime | None = None
    completed_at: datetime | None = None
    estimated_minutes: int | None = None
    downtime_start: datetime | None = None
    downtime_end: datetime | None = None
    fault_codes: tuple[str, ...] = ()
    version: int

    @classmethod
    def of(cls, org_id: UUID, snapshot: WorkOrderSnapshot) -> "Facts":
        hours = snapshot.estimated_hours
        return cls(
            org_id=org_id,
            equipment_id=snapshot.equipment_id,
            status=snapshot.status,
            priority=snapshot.priority,
            work_type=snapshot.work_type,
            due_at=snapshot.due_at,
            created_at=snapshot.created_at,
            acknowledged_at=snapshot.acknowledged_at,
            completed_at=snapshot.completed_at,
            estimated_minutes=None if hours is None else round(hours * 60),
            downtime_start=snapshot.downtime_start,
            downtime_end=snapshot.downtime_end,
            fault_codes=tuple(sorted(set(snapshot.fault_codes))),
            version=snapshot.version,
        )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def downtime_seconds(self) -> int | None:
        if self.downtime_start is None or self.downtime_end is None:
            return None
        return seconds(self.downtime_end - self.downtime_start)


def seconds(delta: timedelta) -> int:
    return round(delta.total_seconds())


def day(at: datetime) -> date:
    """The UTC day of ``at`` (all day buckets are UTC days)."""
    return at.astimezone(health.EPOCH.tzinfo).date()


@dataclass
class Deltas:
    """Signed changes to every rollup, keyed like the rollup tables."""

    counts: defaultdict[tuple[str, str], list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0, 0])
    )  # (status, priority) -> [orders, estimated_minutes, unestimated]
    due: Counter[date] = field(default_factory=Counter)  # open orders by UTC due day
    daily: defaultdict[date, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    faults: Counter[str] = field(default_factory=Counter)
    decay: defaultdict[UUID, list[float]] = field(
        default_factory=lambda: defaultdict(lambda: [0.0, 0.0])
    )  # equipment -> [corrective, downtime]

    def add(self, facts: Facts | None, sign: int) -> None:
        """Add ``sign`` x the contribution of a work order with ``facts``."""
        if facts is None:
            return
        estimate = facts.estimated_minutes
        counts = self.counts[(facts.status.value, facts.priority.value)]
        counts[0] += sign
        counts[1] += sign * (estimate or 0)
        counts[2] += sign * (estimate is None)
        if facts.is_open:
            self.due[day(facts.due_at)] += sign
        if facts.status is WorkOrderStatus.CANCELLED:
            return  # a cancelled order was not work done: no failure, KPI or health effect
        created = self.daily[day(facts.created_at)]
        corrective = facts.work_type is WorkType.CORRECTIVE
        created["reactive" if corrective else "planned"] += sign
        if facts.acknowledged_at is not None:
            created["acknowledged"] += sign
            created["ack_seconds"] += sign * seconds(facts.acknowledged_at - facts.created_at)
        for code in facts.fault_codes:
            self.faults[code] += sign
        decay = self.decay[facts.equipment_id]
        if corrective:
            decay[0] += (
                sign * health.PRIORITY_WEIGHTS[facts.priority] * health.growth(facts.created_at)
            )
        down = facts.downtime_seconds
        if down is not None and facts.downtime_start is not None:
            self.daily[day(facts.downtime_start)]["downtime_seconds"] += sign * down
            decay[1] += (
                sign
                * health.DOWNTIME_POINTS_PER_HOUR
                * (down / 3600)
                * health.growth(facts.downtime_start)
            )
            if corrective and facts.status is WorkOrderStatus.COMPLETED and facts.completed_at:
                repaired = self.daily[day(facts.completed_at)]
                repaired["repaired"] += sign
                repaired["repair_seconds"] += sign * down

    def flow(self, subject: str, data: WorkOrderSnapshot) -> None:
        """Add what the event itself says happened (once per event)."""
        if subject == Events.WO_CREATED:
            self.daily[day(data.created_at)]["created"] += 1
        elif subject == Events.WO_STATUS_CHANGED and isinstance(data, WorkOrderStatusChanged):
            flows = self.daily[day(data.changed_at)]
            if data.to_status is WorkOrderStatus.COMPLETED:
                flows["completed"] += 1
            elif data.to_status is WorkOrderStatus.CANCELLED:
                flows["cancelled"] += 1
            elif data.to_status is WorkOrderStatus.OPEN and data.from_status not in OPEN_STATUSES:
                flows["reopened"] += 1
