"""``equipment_figures``: the work-order figures of a list of assets in one request (what the
``/pro`` lists show per asset), scoped to the caller's organization and capped."""

import uuid
from datetime import datetime

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


async def _figures(
    wo: WorkOrders, who: Identity, ids: list[uuid.UUID]
) -> list[contract.EquipmentOrderFigures]:
    client = wo.services.runtimes["gateway"].client
    meta = CallMeta(who, f"test-{uuid.uuid4().hex[:8]}", "api")
    query = contract.EquipmentOrderFiguresQuery.model_construct(equipment_ids=ids)
    reply = await client.call(contract.EQUIPMENT_FIGURES, query, meta, timeout=10)
    return reply.items


async def test_figures_of_a_list_of_assets_in_one_request(wo: WorkOrders) -> None:
    team = await wo.team()
    pump, fan, idle = [await wo.asset(team.admin) for _ in range(3)]
    await wo.create(team.admin, pump["id"], fault_codes=["E7"])
    await wo.create(team.admin, pump["id"], fault_codes=["f0001", "F0002"])
    cancelled = await wo.create(team.admin, fan["id"])
    await wo.move(team.admin, cancelled["id"], "cancelled", reason="Reported twice")
    newest = await wo.create(team.admin, pump["id"])  # no fault code: the one before's counts

    other = await wo.team()  # another organization's asset and order
    theirs = await wo.asset(other.admin)
    await wo.create(other.admin, theirs["id"], fault_codes=["X1"])

    viewer = await invite_member(wo.api, team.admin, "viewer")
    ids = [uuid.UUID(a["id"]) for a in (pump, fan, idle, theirs, pump)]
    ids.append(uuid.uuid4())
    got = await _figures(wo, _as(viewer, Role.VIEWER), ids)
    assert [(f.equipment_id, f.work_orders, f.last_fault_code) for f in got] == [
        (ids[0], 3, "F0001"),  # codes are stored upper case
        (ids[1], 1, None),  # a cancelled order counts: Rivet Pro counted every order
        (ids[2], 0, None),
        (ids[3], 0, None),  # another organization's asset: nothing of it
        (ids[5], 0, None),  # repeats answered once, unknown ids with zero
    ]
    assert got[0].last_reported_at == datetime.fromisoformat(newest["created_at"])
    assert got[1].last_reported_at == datetime.fromisoformat(cancelled["created_at"])
    assert got[2].last_reported_at is None


async def test_figures_are_capped_at_500_assets(wo: WorkOrders) -> None:
    team = await wo.team()
    who = _as(team.admin, Role.ADMIN)
    assert len(await _figures(wo, who, [uuid.uuid4() for _ in range(500)])) == 500
    for ids in ([uuid.uuid4() for _ in range(501)], []):
        with pytest.raises(ServiceError) as refused:
            await _figures(wo, who, ids)
        assert refused.value.code is ErrorCode.VALIDATION, len(ids)
