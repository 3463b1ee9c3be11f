"""A plan's trigger as stored (the JSON of ``plans.trigger``) and as the schedule rules use it.

- calendar: ``{"every": 3, "unit": "months", "mode": "fixed", "anchor": "2026-01-31",
  "at": "06:00", "lead_seconds": 259200}``;
- meter: ``{"every": "500", "lead": "50"}``: decimals as strings, so ``0.1`` stays exact
  through JSON;
- condition: ``{}``: the limits are the gauge's (``meters``), so one gauge watched by several
  plans has one set of limits and one excursion count.

The meter a meter or condition plan watches is the plan's ``meter_id`` column, not part of the
JSON. A stored trigger that does not parse is refused with a ``ScheduleError`` (``trigger``).
"""

from dataclasses import dataclass
from datetime import date, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from ..schedule.calendar import CalendarTrigger, Mode, Unit
from ..schedule.errors import ScheduleError
from ..schedule.meters import MeterTrigger
from ..vocabulary import TriggerKind


@dataclass(frozen=True)
class ConditionTrigger:
    """Opens an order when the plan's gauge goes out of its limits."""


Trigger = CalendarTrigger | MeterTrigger | ConditionTrigger


def kind_of(trigger: Trigger) -> TriggerKind:
    if isinstance(trigger, CalendarTrigger):
        return TriggerKind.CALENDAR
    if isinstance(trigger, MeterTrigger):
        return TriggerKind.METER
    return TriggerKind.CONDITION


def dump(trigger: Trigger) -> dict[str, Any]:
    """The JSON stored for ``trigger``."""
    if isinstance(trigger, CalendarTrigger):
        return {
            "every": trigger.every,
            "unit": trigger.unit.value,
            "mode": trigger.mode.value,
            "anchor": trigger.anchor.isoformat(),
            "at": trigger.at.isoformat(timespec="minutes"),
            "lead_seconds": int(trigger.lead.total_seconds()),
        }
    if isinstance(trigger, MeterTrigger):
        return {"every": str(trigger.every), "lead": str(trigger.lead)}
    return {}


def load(kind: TriggerKind, data: dict[str, Any]) -> Trigger:
    """The trigger stored as ``data`` for a plan of ``kind``."""
    try:
        match kind:
            case TriggerKind.CALENDAR:
                return CalendarTrigger(
                    every=int(data["every"]),
                    unit=Unit(data["unit"]),
                    anchor=date.fromisoformat(data["anchor"]),
                    mode=Mode(data["mode"]),
                    at=time.fromisoformat(data["at"]),
                    lead=timedelta(seconds=int(data.get("lead_seconds", 0))),
                )
            case TriggerKind.METER:
                return MeterTrigger(Decimal(data["every"]), Decimal(data.get("lead", "0")))
            case TriggerKind.CONDITION:
                return ConditionTrigger()
    except ScheduleError:
        raise
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        raise ScheduleError("trigger", f"a stored {kind} trigger does not parse: {exc}") from exc
