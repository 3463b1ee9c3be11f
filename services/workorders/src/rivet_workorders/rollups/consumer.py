"""The consumer of this service's own ``wo.*`` events that keeps the stats rollups.

Counting happens here, after the business transaction committed, instead of in it (or in a
trigger): writes never queue on a shared counter row, and the stats are at most a relay pass
behind (see docs/adr/0008-workorder-rollups.md). The inbox applies each event once; the
version in ``rollup_state`` makes a late event for an order a no-op for its contribution.
"""

import logging
from typing import Any

from rivet_contracts import EventEnvelope, Events
from rivet_contracts.workorders import WO_UPDATED, WorkOrderSnapshot
from rivet_runtime import EventContext, EventRouter

from ..state import WorkordersState
from . import repository, scoring
from .facts import Deltas, Facts

log = logging.getLogger(__name__)

router: EventRouter[WorkordersState] = EventRouter()

CONSUMERS = {
    Events.WO_CREATED: "workorders-rollups-created",
    Events.WO_STATUS_CHANGED: "workorders-rollups-status",
    Events.WO_ASSIGNED: "workorders-rollups-assigned",
    Events.WO_COMMENTED: "workorders-rollups-commented",
    WO_UPDATED: "workorders-rollups-updated",
}


async def count_event(event: EventEnvelope[Any], ctx: EventContext[WorkordersState]) -> None:
    data: WorkOrderSnapshot = event.data
    if event.org_id is None:
        log.warning("%s %s has no organization; not counted", event.type, event.event_id)
        return
    facts = Facts.of(event.org_id, data)
    deltas = Deltas()
    newer, previous = await repository.swap_facts(ctx.conn, data.work_order_id, facts)
    if newer:
        deltas.add(previous, -1)
        deltas.add(facts, +1)
    deltas.flow(event.type, data)
    health = scoring.new_deltas()
    now = ctx.state.clock.now()
    await scoring.rescore(ctx.conn, [facts.equipment_id], now, health, deltas.decay)
    await repository.apply(ctx.conn, event.org_id, deltas)
    await scoring.apply_org_health(ctx.conn, health)


for _subject, _consumer in CONSUMERS.items():
    router.on(_subject, consumer=_consumer)(count_event)
