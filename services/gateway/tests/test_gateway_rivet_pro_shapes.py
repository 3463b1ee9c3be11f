"""Rivet Pro's request shapes become Rivet's requests with Rivet Pro's meaning (no services
needed: the translation is pure)."""

import httpx
import pytest
from pydantic import ValidationError

from rivet_devstack.keys import generate
from rivet_gateway import rivetpro as pro
from rivet_gateway.app import create_app
from rivet_gateway.settings import GatewaySettings
from rivet_runtime.service import ServiceRuntime


def test_a_flat_asset_becomes_the_nested_one_and_an_id_wins_over_it() -> None:
    body = pro.ProWorkOrderCreate(
        title="Trips",
        description="",
        manufacturer="Siemens",
        model_number="G120C",
        serial_number="SN-1",
        location="Hall 2",
    )
    request = pro.work_order_request(body)
    assert request.equipment_id is None
    assert request.equipment is not None
    assert (request.equipment.model, request.equipment.serial) == ("G120C", "SN-1")
    assert request.equipment.location == "Hall 2"
    assert request.description is None
    assert (request.fault_codes, request.symptoms) == ([], [])
    with_id = pro.ProWorkOrderCreate(
        title="Trips", description="d", equipment_id="EQ-2026-000001", manufacturer="ABB"
    )
    chosen = pro.work_order_request(with_id)
    assert (chosen.equipment_id, chosen.equipment) == ("EQ-2026-000001", None)


@pytest.mark.parametrize(
    ("status", "notes", "expected"),
    [
        ("in_progress", "On site", {"status": "in_progress", "note": "On site"}),
        ("cancelled", "Duplicate report", {"status": "cancelled", "reason": "Duplicate report"}),
        ("open", "Came back", {"status": "open", "reason": "Came back"}),
        ("cancelled", "no", {"status": "cancelled", "note": "no"}),  # too short for a reason
        (None, "Heard it again", {"note": "Heard it again"}),
        ("completed", None, {"status": "completed"}),
    ],
)
def test_notes_are_the_reason_where_rivet_asks_one(
    status: str | None, notes: str | None, expected: dict[str, str]
) -> None:
    body = pro.ProWorkOrderUpdate(status=status, notes=notes)  # type: ignore[arg-type]
    changes = pro.work_order_changes(body)
    assert changes.model_dump(exclude_unset=True, mode="json") == expected


def test_an_equipment_put_changes_only_what_was_sent() -> None:
    patch = pro.equipment_patch(pro.ProEquipmentUpdate(location="Bay 4"))
    assert patch.model_dump(exclude_unset=True) == {"location": "Bay 4"}
    assert pro.equipment_patch(pro.ProEquipmentUpdate()).model_fields_set == set()


def test_rivet_pro_bodies_refuse_fields_rivet_pro_never_had() -> None:
    with pytest.raises(ValidationError):
        pro.ProEquipmentCreate(manufacturer="ABB", owned_by_user_id="x")  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        pro.ProEquipmentUpdate(manufacturer="ABB")  # type: ignore[call-arg]


async def test_health_is_unhealthy_with_503_while_nats_is_not_reached() -> None:
    """A monitor looking for Rivet Pro's `"status": "healthy"` is not fooled by a gateway that
    cannot reach the services (Rivet Pro answered 200 either way)."""
    settings = GatewaySettings.model_validate({"jwt_public_key": generate()[1]})
    app = create_app(ServiceRuntime(settings, None))  # never started: no NATS
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://rivet.test") as client:
        answer = await client.get(f"{pro.PREFIX}/health")
    assert answer.status_code == 503
    assert answer.json()["status"] == "unhealthy"
    assert answer.json()["database"] == {"healthy": False}
