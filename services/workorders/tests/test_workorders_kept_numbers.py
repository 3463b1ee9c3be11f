"""An import keeps the numbers of the system it comes from: ``number`` on a create, for admins
on the ``import`` channel only, and never a number in use."""

import uuid
from datetime import UTC, datetime

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


async def _create(
    wo: WorkOrders, who: Identity, channel: str, **fields: object
) -> contract.WorkOrderView:
    request = contract.CreateWorkOrder.model_validate({"title": "Imported"} | fields)
    meta = CallMeta(who, f"test-{uuid.uuid4().hex[:8]}", channel)
    client = wo.services.runtimes["gateway"].client
    return await client.call(contract.CREATE, request, meta, timeout=10)


async def test_an_import_keeps_the_number_and_later_numbers_pass_it(wo: WorkOrders) -> None:
    team = await wo.team()
    asset = await wo.asset(team.admin)
    who = _as(team.admin, Role.ADMIN)
    year = datetime.now(UTC).year
    kept = f"wo-{year}-000300"
    made = await _create(wo, who, "import", equipment_id=asset["number"], number=kept)
    assert made.number == kept.upper()
    assert made.source == "import"
    old = await _create(wo, who, "import", equipment_id=asset["id"], number="WO-2019-000007")
    assert old.number == "WO-2019-000007"

    later = await wo.create(team.admin, asset["id"])
    assert later["number"] == f"WO-{year}-000301"

    with pytest.raises(ServiceError) as taken:
        await _create(wo, who, "import", equipment_id=asset["id"], number=kept, title="Other")
    assert taken.value.code is ErrorCode.CONFLICT
    assert taken.value.info.details == {"id": str(made.id), "number": kept.upper()}

    # with an idempotency key the same import request answers the order it made
    keyed = {"equipment_id": asset["id"], "number": f"WO-{year}-000400", "idempotency_key": "k1"}
    first = await _create(wo, who, "import", **keyed)
    again = await _create(wo, who, "import", **keyed)
    assert again.id == first.id
    assert again.number == f"WO-{year}-000400"

    found = await wo.get(team.admin, f"/api/work-orders/{kept}")
    assert found["id"] == str(made.id)


async def test_only_an_admin_importing_may_keep_a_number(wo: WorkOrders) -> None:
    team = await wo.team()
    asset = await wo.asset(team.admin)
    technician = await invite_member(wo.api, team.admin, "technician")
    refusals = [
        (_as(technician, Role.TECHNICIAN), "import"),
        (_as(team.admin, Role.ADMIN), "api"),
        (_as(team.admin, Role.ADMIN), "telegram"),
    ]
    for who, channel in refusals:
        with pytest.raises(ServiceError) as refused:
            await _create(wo, who, channel, equipment_id=asset["id"], number="WO-2020-000001")
        assert refused.value.code is ErrorCode.FORBIDDEN, (who.role, channel)

    schema = (await wo.api.get("/openapi.json")).json()["components"]["schemas"]
    assert "number" not in schema["CreateWorkOrder"]["properties"]
    body = {"equipment_id": asset["id"], "title": "x", "number": "WO-2020-000001"}
    sent = await wo.api.post("/api/work-orders", json=body, headers=team.admin.headers)
    assert sent.status_code == 403, sent.text
    bad = await wo.api.post(
        "/api/work-orders", json=body | {"number": "WO-1"}, headers=team.admin.headers
    )
    assert bad.status_code == 422, bad.text
    listed = await wo.get(team.admin, "/api/work-orders")
    assert listed["items"] == [], listed
