"""The consumer of this service's own ``wo.*`` events that keeps the stats rollups.

Counting happens here, after the business transaction committed, instead of in it (or in a
trigger): writes never queue on a shared counter row, and the stats are at most a relay pass
behind (see docs/adr/0008-workorder-rollups.md). The inbox applies each event once; the
version in ``rollup_state`` makes a late event for an order a no-op for its contribution.
Events are counted in batches (``EventRouter.on_many``): under load, the events that queue up
while one transaction runs are counted together in the next, with one write per table.
"""

import logging
from collections import defaultdict
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from rivet_contracts import EventEnvelope, Events
from rivet_contracts.workorders import WorkOrderSnapshot
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
    Events.WO_UPDATED: "workorders-rollups-updated",
}


async def count_events(
    events: Sequence[EventEnvelope[Any]], ctx: EventContext[WorkordersState]
) -> None:
    """Count a batch of events in one transaction (the runtime's group commit): one write per
    rollup table, one rescore of the assets concerned, whatever the batch size."""
    counted: list[EventEnvelope[Any]] = []
    facts: list[Facts] = []
    for event in events:
        if event.org_id is None:
            log.warning("%s %s has no organization; not counted", event.type, event.event_id)
            continue
        counted.append(event)
        facts.append(Facts.of(event.org_id, event.data))
    if not counted:
        return
    snapshots: list[WorkOrderSnapshot] = [e.data for e in counted]
    changes = await repository.swap_facts(
        ctx.conn, facts, [data.work_order_id for data in snapshots]
    )
    deltas: defaultdict[UUID, Deltas] = defaultdict(Deltas)
    for previous, newer in changes:
        deltas[newer.org_id].add(previous, -1)
        deltas[newer.org_id].add(newer, +1)
    for event, fact, data in zip(counted, facts, snapshots, strict=True):
        deltas[fact.org_id].flow(event.type, data)
    decay: defaultdict[UUID, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for org_deltas in deltas.values():
        for equipment_id, (corrective, downtime) in org_deltas.decay.items():
            decay[equipment_id][0] += corrective
            decay[equipment_id][1] += downtime
    health = scoring.new_deltas()
    assets = {fact.equipment_id for fact in facts} | set(decay)
    await scoring.rescore(ctx.conn, sorted(assets), ctx.state.clock.now(), health, decay)
    await repository.apply(ctx.conn, deltas)
    await scoring.apply_org_health(ctx.conn, health)


for _subject, _consumer in CONSUMERS.items():
    router.on_many(_subject, consumer=_consumer)(count_events)
