"""An import keeps the times of an order's history: ``reported_at`` on a create and
``changed_at`` on a status change, for admins on the ``import`` channel only, not in the
future and in order; the stats and KPIs count the order on those days."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rivet_contracts import ErrorCode, Identity, Role, ServiceError
from rivet_contracts import workorders as contract
from rivet_devstack.testing.helpers import Session, invite_member
from rivet_runtime.client import CallMeta

from .conftest import WorkOrders


def _as(who: Session, role: Role) -> Identity:
    return Identity(
        user_id=uuid.UUID(who.user["id"]), org_id=uuid.UUID(who.user["org_id"]), role=role
    )


def _meta(who: Identity, channel: str) -> CallMeta:
    return CallMeta(who, f"test-{uuid.uuid4().hex[:8]}", channel)


async def _create(
    wo: WorkOrders, who: Identity, channel: str, **fields: object
) -> contract.WorkOrderView:
    request = contract.CreateWorkOrder.model_validate({"title": "Imported"} | fields)
    client = wo.services.runtimes["gateway"].client
    return await client.call(contract.CREATE, request, _meta(who, channel), timeout=10)


async def _move(
    wo: WorkOrders, who: Identity, channel: str, ref: object, **changes: Any
) -> contract.WorkOrderView:
    request = contract.UpdateWorkOrder(
        ref=str(ref), changes=contract.WorkOrderChanges.model_validate(changes)
    )
    client = wo.services.runtimes["gateway"].client
    return await client.call(contract.UPDATE, request, _meta(who, channel), timeout=10)


async def test_an_imported_history_counts_on_its_own_days(wo: WorkOrders) -> None:
    team = await wo.team()
    asset = await wo.asset(team.admin)
    who = _as(team.admin, Role.ADMIN)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    reported = today - timedelta(days=10) + timedelta(hours=8)
    started, completed = reported + timedelta(hours=2), reported + timedelta(hours=6)
    made = await _create(
        wo,
        who,
        "import",
        equipment_id=asset["id"],
        reported_at=reported,
        downtime_start=reported + timedelta(minutes=30),
        priority="high",
    )
    assert made.created_at == reported
    assert made.due_at == reported + timedelta(days=1)  # the priority's offset from the report
    assert made.timeline[0].at == reported
    await _move(wo, who, "import", made.id, status="in_progress", changed_at=started)
    done = await _move(wo, who, "import", made.id, status="completed", changed_at=completed)
    assert (done.acknowledged_at, done.started_at, done.completed_at) == (
        started,
        started,
        completed,
    )
    assert done.downtime_end == completed  # the completion closed the downtime, then
    assert done.updated_at > completed  # the record changed now
    moves = [e for e in done.timeline if e.kind is contract.TimelineKind.STATUS_CHANGED]
    assert [e.at for e in moves] == [started, completed]

    # a second order reported and cancelled long ago
    old = today - timedelta(days=40)
    other = await _create(wo, who, "import", equipment_id=asset["id"], reported_at=old)
    await _move(
        wo, who, "import", other.id, status="cancelled", reason="Duplicate report",
        changed_at=old + timedelta(days=1),
    )  # fmt: skip

    # the trend counts each on the day it happened, not today
    async def trended() -> bool:
        trend = await wo.get(team.admin, "/api/stats/work-order-trends", days=60)
        days = {d["day"]: d for d in trend["items"]}
        day = days[reported.date().isoformat()]
        cancelled = days[(old + timedelta(days=1)).date().isoformat()]
        return (
            (day["created"], day["completed"]) == (1, 1)
            and days[old.date().isoformat()]["created"] == 1
            and cancelled["cancelled"] == 1
            and days[today.date().isoformat()]["created"] == 0
        )

    await wo.until(trended, what="the trend of the imported days")
    # MTTA: started 2 h after the report; MTTR: down from 08:30 until the completion at 14:00
    kpis = await wo.get(team.admin, "/api/stats/kpis", days=30)
    assert kpis["mtta"]["inputs"]["acknowledged_orders"] == 1
    assert kpis["mtta"]["value"] == pytest.approx(2.0)
    assert kpis["mttr"]["inputs"]["repaired_orders"] == 1
    assert kpis["mttr"]["value"] == pytest.approx(5.5)
    assert kpis["mtbf"]["inputs"]["failures"] == 1
    # a window that ends before the report does not see it
    recent = await wo.get(team.admin, "/api/stats/kpis", days=5)
    assert recent["mtta"]["inputs"]["acknowledged_orders"] == 0


async def test_kept_times_are_checked(wo: WorkOrders) -> None:
    team = await wo.team()
    asset = await wo.asset(team.admin)
    who = _as(team.admin, Role.ADMIN)
    now = datetime.now(UTC)
    with pytest.raises(ServiceError) as future:
        await _create(
            wo, who, "import", equipment_id=asset["id"], reported_at=now + timedelta(hours=1)
        )
    assert future.value.code is ErrorCode.VALIDATION
    assert future.value.info.details[0]["loc"] == ["reported_at"]

    made = await _create(
        wo, who, "import", equipment_id=asset["id"], reported_at=now - timedelta(days=3)
    )
    refusals: list[tuple[dict[str, Any], str]] = [
        ({"status": "in_progress", "changed_at": now - timedelta(days=4)}, "before"),
        ({"status": "in_progress", "changed_at": now + timedelta(hours=1)}, "future"),
        ({"changed_at": now - timedelta(days=1), "note": "x"}, "status"),
    ]
    for changes, why in refusals:
        with pytest.raises(ServiceError) as refused:
            await _move(wo, who, "import", made.id, **changes)
        assert refused.value.code is ErrorCode.VALIDATION, why
        assert refused.value.info.details[0]["loc"] == ["changed_at"], why
    started = await _move(
        wo, who, "import", made.id, status="in_progress", changed_at=now - timedelta(days=2)
    )
    # in order: a change cannot come before the one before it
    with pytest.raises(ServiceError) as early:
        await _move(
            wo, who, "import", made.id, status="completed", changed_at=now - timedelta(days=2.5)
        )
    assert early.value.code is ErrorCode.VALIDATION
    after = await wo.get(team.admin, f"/api/work-orders/{made.id}")
    assert (after["status"], after["version"]) == ("in_progress", started.version)
    # without a kept time, a change happens now (after the kept ones)
    done = await _move(wo, who, "import", made.id, status="completed")
    assert done.completed_at is not None
    assert done.completed_at > now


async def test_only_an_admin_importing_may_keep_times(wo: WorkOrders) -> None:
    team = await wo.team()
    asset = await wo.asset(team.admin)
    technician = await invite_member(wo.api, team.admin, "technician")
    earlier = datetime.now(UTC) - timedelta(days=2)
    made = await wo.create(team.admin, asset["id"])
    refusals = [
        (_as(technician, Role.TECHNICIAN), "import"),
        (_as(team.admin, Role.ADMIN), "api"),
        (_as(team.admin, Role.ADMIN), "telegram"),
    ]
    for who, channel in refusals:
        with pytest.raises(ServiceError) as refused:
            await _create(wo, who, channel, equipment_id=asset["id"], reported_at=earlier)
        assert refused.value.code is ErrorCode.FORBIDDEN, (who.role, channel)
        with pytest.raises(ServiceError) as moved:
            await _move(wo, who, channel, made["id"], status="in_progress", changed_at=earlier)
        assert moved.value.code is ErrorCode.FORBIDDEN, (who.role, channel)

    # not in the HTTP API's schema, and refused when sent there anyway
    schema = (await wo.api.get("/openapi.json")).json()["components"]["schemas"]
    assert "reported_at" not in schema["CreateWorkOrder"]["properties"]
    assert "changed_at" not in schema["WorkOrderChanges"]["properties"]
    body = {"equipment_id": asset["id"], "title": "x", "reported_at": earlier.isoformat()}
    sent = await wo.api.post("/api/work-orders", json=body, headers=team.admin.headers)
    assert sent.status_code == 403, sent.text
    patched = await wo.patch(
        team.admin, made["id"], status="in_progress", changed_at=earlier.isoformat()
    )
    assert patched.status_code == 403, patched.text
    after = await wo.get(team.admin, f"/api/work-orders/{made['id']}")
    assert (after["status"], after["version"]) == ("open", 1)
    listed = await wo.get(team.admin, "/api/work-orders")
    assert [o["id"] for o in listed["items"]] == [made["id"]]
