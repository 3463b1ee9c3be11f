"""The equipment replica: duplicate and out-of-order events change nothing."""

from typing import Any
from uuid import UUID, uuid4

import nats
from sqlalchemy import text

from rivet_contracts import EventEnvelope, Events
from rivet_contracts.assets import (
    Criticality,
    EquipmentCreated,
    EquipmentMatched,
    EquipmentUpdated,
    Source,
)
from rivet_devstack.testing.env import TestEnv


async def test_equipment_created_delivered_twice_changes_nothing(
    wo: Any, test_env: TestEnv
) -> None:
    team = await wo.team()
    org = UUID(team.org_id)
    asset = uuid4()
    snapshot = {
        "equipment_id": asset,
        "number": "EQ-2026-900001",
        "manufacturer": "ABB",
        "model": "M3BP 160",
        "serial": "3GBP161410",
        "name": "Exhaust fan",
        "criticality": Criticality.HIGH,
        "version": 1,
    }
    created = EventEnvelope(
        type=Events.EQUIPMENT_CREATED,
        org_id=org,
        data=EquipmentCreated(**snapshot, source=Source.API),
    )
    nc = await nats.connect(test_env.nats_url)
    js = nc.jetstream()
    settings = wo.services.runtimes["workorders"].settings

    async def publish(envelope: EventEnvelope[Any], msg_id: str | None = None) -> None:
        await js.publish(
            settings.subject(envelope.type),
            envelope.model_dump_json().encode(),
            headers={"Nats-Msg-Id": msg_id or str(envelope.event_id)},
        )

    async def applied(envelope: EventEnvelope[Any], consumer: str) -> None:
        async def check() -> bool:
            return await _in_inbox(wo, consumer, envelope.event_id)

        await wo.until(check, what=f"{consumer} to handle {envelope.event_id}")

    try:
        await publish(created)
        await applied(created, "workorders-equipment-created")
        before = await _state(wo, team)
        assert before["overview"]["equipment"] == {"total": 1, "by_status": {"in_service": 1}}
        assert before["health"]["summary"]["assets"] == 1

        # The same event again, under another message id so that JetStream's own duplicate
        # window cannot drop it: the inbox does.
        duplicates = await _duplicates(wo)
        await publish(created, msg_id=f"again-{uuid4()}")
        await wo.until(lambda: _more(wo, duplicates), what="the duplicate to be seen")
        assert await _state(wo, team) == before

        # The same snapshot as a new event (a new id, the same version): the version check holds.
        renamed = EventEnvelope(
            type=Events.EQUIPMENT_CREATED,
            org_id=org,
            data=EquipmentCreated(**snapshot | {"name": "Renamed"}, source=Source.API),
        )
        await publish(renamed)
        await applied(renamed, "workorders-equipment-created")
        assert await _state(wo, team) == before

        # A newer update applies; an older event arriving after it does not undo it.
        newer = EventEnvelope(
            type=Events.EQUIPMENT_UPDATED,
            org_id=org,
            data=EquipmentUpdated(
                **snapshot
                | {"name": "Exhaust fan 2", "criticality": Criticality.LOW, "version": 3},
                changed=["name", "criticality"],
            ),
        )
        older = EventEnvelope(
            type=Events.EQUIPMENT_MATCHED,
            org_id=org,
            data=EquipmentMatched(**snapshot | {"name": "Old name", "version": 2}, score=100),
        )
        await publish(newer)
        await applied(newer, "workorders-equipment-updated")
        await publish(older)
        await applied(older, "workorders-equipment-matched")
    finally:
        await nc.close()
    order = await wo.create(team.admin, str(asset))
    assert order["equipment"]["name"] == "Exhaust fan 2"
    assert order["equipment"]["criticality"] == "low"
    after = await _state(wo, team)
    assert after["overview"]["equipment"] == before["overview"]["equipment"]
    assert after["health"]["summary"]["assets"] == 1


async def _state(wo: Any, team: Any) -> dict[str, Any]:
    overview = await wo.get(team.admin, "/api/stats/overview")
    overview.pop("as_of")
    health = await wo.get(team.admin, "/api/stats/equipment-health")
    return {"overview": overview, "health": health}


async def _in_inbox(wo: Any, consumer: str, event_id: UUID) -> bool:
    """Whether ``consumer`` has handled ``event_id`` (the service's own inbox table)."""
    db = wo.services.runtimes["workorders"].db
    async with db.transaction() as conn:
        found = await conn.scalar(
            text("SELECT 1 FROM inbox WHERE consumer = :c AND event_id = :e"),
            {"c": consumer, "e": event_id},
        )
    return found is not None


async def _duplicates(wo: Any) -> float:
    from rivet_runtime.metrics import EVENTS_CONSUMED

    counter = EVENTS_CONSUMED.labels(
        "workorders", "workorders-equipment-created", Events.EQUIPMENT_CREATED, "duplicate"
    )
    return float(counter._value.get())


async def _more(wo: Any, before: float) -> bool:
    return await _duplicates(wo) > before
