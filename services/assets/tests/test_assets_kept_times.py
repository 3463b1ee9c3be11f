"""An import keeps when the system it comes from registered an asset: ``created_at`` on a
create, for admins on the ``import`` channel only, never in the future."""

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from rivet_contracts import ErrorCode, Identity, Role, ServiceError
from rivet_contracts import assets as contract
from rivet_devstack.testing.helpers import Session, invite_member, register
from rivet_devstack.testing.services import ServiceSet
from rivet_runtime.client import CallMeta


def _as(who: Session, role: Role) -> Identity:
    return Identity(
        user_id=uuid.UUID(who.user["id"]), org_id=uuid.UUID(who.user["org_id"]), role=role
    )


async def _create(
    services: ServiceSet, who: Identity, channel: str, **fields: object
) -> contract.CreateOrMatchResult:
    request = contract.CreateEquipment.model_validate({"manufacturer": "Baldor"} | fields)
    meta = CallMeta(who, f"test-{uuid.uuid4().hex[:8]}", channel)
    client = services.runtimes["gateway"].client
    return await client.call(contract.CREATE, request, meta, timeout=10)


async def test_an_import_keeps_when_the_asset_was_registered(
    api: httpx.AsyncClient, services: ServiceSet
) -> None:
    admin = await register(api)
    who = _as(admin, Role.ADMIN)
    registered = datetime(2019, 3, 4, 5, 6, 7, tzinfo=UTC)
    serial = f"S-{uuid.uuid4().hex}"
    made = await _create(services, who, "import", serial=serial, created_at=registered)
    assert made.outcome == contract.MatchOutcome.CREATED
    assert made.equipment is not None
    assert made.equipment.created_at == registered
    assert made.equipment.updated_at > datetime.now(UTC) - timedelta(minutes=5)
    got = await api.get(f"/api/equipment/{made.equipment.id}", headers=admin.headers)
    assert got.json()["created_at"] == "2019-03-04T05:06:07Z"
    # the oldest first: the kept time orders the register
    await _create(services, who, "import", serial=f"S-{uuid.uuid4().hex}")
    listed = await api.get("/api/equipment", params={"sort": "created_at"}, headers=admin.headers)
    assert listed.json()["items"][0]["id"] == str(made.equipment.id)

    # a matched asset keeps its own time
    again = await _create(services, who, "import", serial=serial, created_at=datetime.now(UTC))
    assert again.outcome == contract.MatchOutcome.MATCHED
    assert again.equipment is not None
    assert again.equipment.created_at == registered

    with pytest.raises(ServiceError) as future:
        await _create(
            services, who, "import", model="M-9", created_at=datetime.now(UTC) + timedelta(hours=1)
        )
    assert future.value.code is ErrorCode.VALIDATION
    assert future.value.info.details[0]["loc"] == ["created_at"]


async def test_only_an_admin_importing_may_keep_the_time(
    api: httpx.AsyncClient, services: ServiceSet
) -> None:
    admin = await register(api)
    technician = await invite_member(api, admin, "technician")
    earlier = datetime(2020, 1, 1, tzinfo=UTC)
    refusals = [
        (_as(technician, Role.TECHNICIAN), "import"),
        (_as(admin, Role.ADMIN), "api"),
        (_as(admin, Role.ADMIN), "telegram"),
    ]
    for who, channel in refusals:
        with pytest.raises(ServiceError) as refused:
            await _create(services, who, channel, created_at=earlier)
        assert refused.value.code is ErrorCode.FORBIDDEN, (who.role, channel)

    schema = (await api.get("/openapi.json")).json()["components"]["schemas"]
    assert "created_at" not in schema["CreateEquipment"]["properties"]
    body = {"manufacturer": "Baldor", "created_at": earlier.isoformat()}
    sent = await api.post("/api/equipment", json=body, headers=admin.headers)
    assert sent.status_code == 403, sent.text
    listed = await api.get("/api/equipment", headers=admin.headers)
    assert listed.json()["total"] == 0, listed.text
