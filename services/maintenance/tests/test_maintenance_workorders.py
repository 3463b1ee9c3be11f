"""With the real work-order service (the whole system, in this process): a plan's occurrence
opens a real work order - its checklist, plan, due date, assignee, requested in the author's
name - exactly once, and completing the order through the API completes the occurrence."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import nats
import pytest
from maintenance_support import Stack, until
from sqlalchemy import text

from rivet_contracts import Events, Identity, Role, workorders
from rivet_contracts import maintenance as m
from rivet_contracts.workorders import ChecklistItem, CreateWorkOrder
from rivet_devstack.testing.env import TestEnv
from rivet_devstack.testing.helpers import invite_member, register
from rivet_devstack.testing.services import ServiceSet
from rivet_runtime.client import CallMeta


@pytest.fixture
async def maintenance(services: ServiceSet, test_env: TestEnv) -> AsyncIterator[Stack]:
    """The system's own maintenance service (it runs with the others, on their namespace and
    database), with the events it publishes recorded."""
    runtime = services.runtimes["maintenance"]
    nc = await nats.connect(test_env.nats_url)
    stack = Stack(runtime, nc)
    await stack.bus.listen(nc, runtime.settings.subject)
    try:
        yield stack
    finally:
        await nc.close()
        for name in ("maintenance", "workorders"):
            services.runtimes[name].state.clock.freeze(None)


async def test_a_plan_opens_a_real_work_order_once_and_its_completion_comes_back(
    api: httpx.AsyncClient, services: ServiceSet, maintenance: Stack
) -> None:
    admin = await register(api)
    technician = await invite_member(api, admin, "technician")
    answer = await api.post(
        "/api/equipment",
        json={"manufacturer": "Grundfos", "model": "CR 10", "serial": f"S{uuid4().hex[:10]}"},
        headers=admin.headers,
    )
    assert answer.status_code in (200, 201), answer.text
    asset = answer.json()["equipment"]
    author = Identity(
        user_id=UUID(admin.user["id"]), org_id=UUID(admin.user["org_id"]), role=Role.ADMIN
    )
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    due = now + timedelta(hours=1)
    for clock in (maintenance.state.clock, services.runtimes["workorders"].state.clock):
        clock.freeze(now)
    trigger = m.CalendarTrigger(
        kind="calendar", every=1, unit="months", first_due=due.date(), at=due.time(), lead_hours=2
    )
    plan: m.PlanView = await maintenance.call(
        m.CREATE_PLAN,
        m.CreatePlan(
            equipment_id=asset["number"],
            title="Inspect the pump",
            instructions="Look for leaks.",
            checklist=[ChecklistItem(text="Seal dry", required=False)],
            assignee_id=UUID(technician.user["id"]),
            estimated_hours=1.5,
            trigger=trigger,
        ),
        author,
    )
    assert plan.next_due_at == due
    await maintenance.run("schedule")

    async def opened() -> bool:
        found = await maintenance.call(m.GET_PLAN, m.GetPlan(plan_id=plan.id), author)
        return bool(found.occurrences and found.occurrences[0].work_order_id)

    await until(opened, what="the work order")
    found = await maintenance.call(m.GET_PLAN, m.GetPlan(plan_id=plan.id), author)
    (occurrence,) = found.occurrences
    order_id = str(occurrence.work_order_id)
    response = await api.get(f"/api/work-orders/{order_id}", headers=admin.headers)
    assert response.status_code == 200, response.text
    order: dict[str, Any] = response.json()
    assert (order["title"], order["description"]) == ("Inspect the pump", "Look for leaks.")
    assert (order["work_type"], order["source"]) == ("preventive", "maintenance")
    assert datetime.fromisoformat(order["due_at"]) == due
    assert (order["assignee_id"], order["requester_id"]) == (
        technician.user["id"],
        admin.user["id"],
    )
    assert order["plan_id"] == str(plan.id)
    assert [item["text"] for item in order["checklist"]] == ["Seal dry"]
    assert order["number"] == occurrence.work_order_number

    # the same request again (a retry whose first answer was lost): the same order
    db = maintenance.runtime.db
    assert db is not None
    async with db.transaction() as conn:
        stored = (
            await conn.execute(
                text("SELECT request FROM occurrences WHERE id = :id"), {"id": occurrence.id}
            )
        ).scalar_one()
    again = await maintenance.runtime.client.call(
        workorders.CREATE,
        CreateWorkOrder.model_validate(stored),
        CallMeta(author, "test-retry", "maintenance"),
        timeout=5,
    )
    assert str(again.id) == order_id

    # done through the API: the occurrence is completed, on time
    for status in ("in_progress", "completed"):
        moved = await api.patch(
            f"/api/work-orders/{order_id}", json={"status": status}, headers=technician.headers
        )
        assert moved.status_code == 200, moved.text

    async def completed() -> bool:
        found = await maintenance.call(m.GET_PLAN, m.GetPlan(plan_id=plan.id), author)
        return bool(found.occurrences and found.occurrences[0].status.value == "completed")

    await until(completed, what="the completion to come back")
    found = await maintenance.call(m.GET_PLAN, m.GetPlan(plan_id=plan.id), author)
    assert found.occurrences[0].on_time is True
    assert found.last_completed_at is not None
    await until(
        lambda: bool(maintenance.bus.of(Events.PM_COMPLETED, plan_id=str(plan.id))),
        what="pm.completed",
    )
