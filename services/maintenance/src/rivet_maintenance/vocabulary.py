"""The words the schema stores: plan, trigger, meter and occurrence kinds and states.

They are the contract's (``rivet_contracts.maintenance``), so the tables' check constraints,
the code that writes the rows and the views other services read use the same values.
"""

from rivet_contracts.maintenance import (
    MeterKind,
    OccurrenceStatus,
    PlanStatus,
    TriggerKind,
)

ACTIVE_OCCURRENCES = (OccurrenceStatus.OPENING, OccurrenceStatus.OPEN)

__all__ = ["ACTIVE_OCCURRENCES", "MeterKind", "OccurrenceStatus", "PlanStatus", "TriggerKind"]
