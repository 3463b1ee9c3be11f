"""An import keeps the numbers of the system it comes from: ``number`` on a create, for admins
on the ``import`` channel only, and never a number in use."""

import uuid
from datetime import UTC, datetime

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


async def test_an_import_keeps_the_number_and_later_numbers_pass_it(
    api: httpx.AsyncClient, services: ServiceSet
) -> None:
    admin = await register(api)
    who = _as(admin, Role.ADMIN)
    year = datetime.now(UTC).year
    kept = f"eq-{year}-000500"
    made = await _create(services, who, "import", number=kept, serial=f"S-{uuid.uuid4().hex}")
    assert made.outcome == contract.MatchOutcome.CREATED
    assert made.equipment is not None
    assert made.equipment.number == kept.upper()
    assert made.equipment.source == contract.Source.IMPORT
    old = await _create(services, who, "import", number="EQ-2019-000042", model="M-1")
    assert old.equipment is not None
    assert old.equipment.number == "EQ-2019-000042"

    # the next number of the year is past the kept one
    after = await api.post(
        "/api/equipment", json={"manufacturer": "ABB", "model": "ACS580"}, headers=admin.headers
    )
    assert after.status_code == 201, after.text
    assert after.json()["equipment"]["number"] == f"EQ-{year}-000501"

    # one asset per number: the same number again is a conflict, naming the asset
    with pytest.raises(ServiceError) as taken:
        await _create(services, who, "import", number=kept, model="Other")
    assert taken.value.code is ErrorCode.CONFLICT
    assert taken.value.info.details == {"id": str(made.equipment.id), "number": kept.upper()}

    # the asset is found by its kept number
    got = await api.get(f"/api/equipment/{kept}", headers=admin.headers)
    assert got.status_code == 200, got.text
    assert got.json()["id"] == str(made.equipment.id)


async def test_only_an_admin_importing_may_keep_a_number(
    api: httpx.AsyncClient, services: ServiceSet
) -> None:
    admin = await register(api)
    technician = await invite_member(api, admin, "technician")
    refusals = [
        (_as(technician, Role.TECHNICIAN), "import"),
        (_as(admin, Role.ADMIN), "api"),
        (_as(admin, Role.ADMIN), "telegram"),
    ]
    for who, channel in refusals:
        with pytest.raises(ServiceError) as refused:
            await _create(services, who, channel, number="EQ-2020-000001")
        assert refused.value.code is ErrorCode.FORBIDDEN, (who.role, channel)

    # over HTTP the field is not in the schema, and sent anyway it is refused
    schema = (await api.get("/openapi.json")).json()["components"]["schemas"]
    assert "number" not in schema["CreateEquipment"]["properties"]
    body = {"manufacturer": "Baldor", "number": "EQ-2020-000001"}
    sent = await api.post("/api/equipment", json=body, headers=admin.headers)
    assert sent.status_code == 403, sent.text
    assert sent.json()["error"]["code"] == "forbidden"
    bad = await api.post("/api/equipment", json=body | {"number": "EQ-20-1"}, headers=admin.headers)
    assert bad.status_code == 422, bad.text

    # nothing was created by the refused requests
    listed = await api.get("/api/equipment", headers=admin.headers)
    assert listed.json()["total"] == 0, listed.text

    with pytest.raises(ServiceError) as both:
        await _create(
            services, _as(admin, Role.ADMIN), "import", number="EQ-2020-000002",
            merge_into=str(uuid.uuid4()),
        )  # fmt: skip
    assert both.value.code is ErrorCode.VALIDATION
