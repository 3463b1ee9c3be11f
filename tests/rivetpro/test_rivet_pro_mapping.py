"""The rules that turn Rivet Pro's rows into Rivet's requests, row by row: statuses,
priorities, roles, numbers, and the rows that break Rivet's rules."""

import uuid
from datetime import UTC, date, datetime

import pytest

from rivet_contracts import Role
from rivet_contracts.assets import Criticality
from rivet_contracts.workorders import Priority, WorkOrderStatus
from rivet_devstack.rivetpro import mapping
from rivet_devstack.rivetpro.source import ProEquipment, ProUser, ProWorkOrder


def _user(**fields: object) -> ProUser:
    values: dict[str, object] = {
        "id": uuid.uuid4(), "email": None, "full_name": "Ana Lima", "role": "user",
        "telegram_id": None, "whatsapp_id": None,
    }  # fmt: skip
    return ProUser(**(values | fields))  # type: ignore[arg-type]


def _asset(**fields: object) -> ProEquipment:
    values: dict[str, object] = {
        "id": uuid.uuid4(), "number": "EQ-2025-000042", "manufacturer": "Siemens",
        "model": "G120C", "serial": "SN-1", "equipment_type": "VFD", "location": "Line 3",
        "department": None, "criticality": "high", "installed_on": date(2020, 5, 1),
        "nickname": "Main drive",
    }  # fmt: skip
    return ProEquipment(**(values | fields))  # type: ignore[arg-type]


def _order(**fields: object) -> ProWorkOrder:
    values: dict[str, object] = {
        "id": uuid.uuid4(), "number": "WO-2025-000007", "equipment_id": uuid.uuid4(),
        "title": "Drive trips", "description": "F0001 on start", "fault_codes": ["F0001"],
        "symptoms": ["trips"], "status": "completed", "priority": "high",
        "source": "telegram_text", "created_at": datetime(2025, 3, 1, 8, 30, tzinfo=UTC),
        "completed_at": datetime(2025, 3, 1, 14, 0, tzinfo=UTC), "reporter": "Tom Berg",
        "telegram_username": "tom",
    }  # fmt: skip
    return ProWorkOrder(**(values | fields))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "rivet", "path"),
    [
        ("open", WorkOrderStatus.OPEN, ()),
        ("in_progress", WorkOrderStatus.IN_PROGRESS, ("in_progress",)),
        ("completed", WorkOrderStatus.COMPLETED, ("in_progress", "completed")),
        ("Cancelled", WorkOrderStatus.CANCELLED, ("cancelled",)),
    ],
)
def test_statuses_map_onto_rivets_lifecycle(
    status: str, rivet: WorkOrderStatus, path: tuple[str, ...]
) -> None:
    plan = mapping.plan_work_order(_order(status=status), "EQ-2025-000042")
    assert plan.skip is None
    assert plan.status is rivet
    assert tuple(s.value for s in mapping.PATHS[plan.status]) == path


def test_an_unknown_status_is_skipped_and_an_unknown_priority_is_medium() -> None:
    unknown = mapping.plan_work_order(_order(status="waiting_parts"), "EQ-2025-000042")
    assert unknown.skip == "unknown status 'waiting_parts'"
    assert unknown.request is None
    odd = mapping.plan_work_order(_order(priority="urgent"), "EQ-2025-000042")
    assert odd.request is not None
    assert odd.request.priority is Priority.MEDIUM
    assert "unknown priority 'urgent': medium" in odd.notes
    for value in ("low", "medium", "high", "critical"):
        plan = mapping.plan_work_order(_order(priority=value), "EQ-2025-000042")
        assert plan.request is not None
        assert plan.request.priority.value == value


def test_a_work_order_keeps_its_number_and_what_rivet_has_no_field_for() -> None:
    row = _order(title="x" * 450, fault_codes=[f"F{i}" for i in range(25)])
    plan = mapping.plan_work_order(row, "EQ-2025-000042")
    request = plan.request
    assert request is not None
    assert request.number == "WO-2025-000007"
    assert request.equipment_id == "EQ-2025-000042"
    assert request.idempotency_key == f"rivet-pro:work-order:{row.id}"
    assert len(request.title) == 200
    assert len(request.fault_codes) == 20
    assert "title cut to 200 characters" in plan.notes
    assert request.description is not None
    assert request.description.startswith("F0001 on start\n\n[Rivet Pro WO-2025-000007: ")
    assert "reported by Tom Berg" in request.description
    assert "on 2025-03-01 08:30 UTC" in request.description
    assert "completed 2025-03-01 14:00 UTC" in request.description

    odd = mapping.plan_work_order(_order(number="WO-17", title=""), "EQ-2025-000042")
    assert odd.request is not None
    assert odd.request.number is None  # a new Rivet number
    assert odd.request.title == "F0001 on start"


def test_equipment_keeps_number_and_fields_within_rivets_limits() -> None:
    plan = mapping.plan_equipment(_asset(location="L" * 300, criticality="critical"))
    request = plan.request
    assert request is not None
    assert request.number == "EQ-2025-000042"
    assert request.create_anyway is True
    assert request.name == "Main drive"
    assert request.criticality is Criticality.CRITICAL
    assert request.location == "L" * 200
    assert request.installed_on == date(2020, 5, 1)
    assert plan.notes == ["location cut to 200 characters"]

    blank = mapping.plan_equipment(_asset(manufacturer="  ", number="PUMP-7"))
    assert blank.request is not None
    assert blank.request.manufacturer == "Unknown"
    assert blank.request.number is None
    assert not blank.keeps_number


def test_serials_compare_as_the_registry_compares_them() -> None:
    assert mapping.serial_key("ab-123 x") == mapping.serial_key("AB123X") == "AB123X"
    assert mapping.serial_key(" - ") is None
    assert mapping.serial_key(None) is None


@pytest.mark.parametrize(
    ("fields", "skip"),
    [
        ({"whatsapp_id": "+15550100"}, "no e-mail address and no Telegram account"),
        ({}, "no e-mail address and no Telegram account"),
        ({"email": "not-an-address"}, "invalid e-mail address 'not-an-address'"),
    ],
)
def test_users_rivet_cannot_reach_are_skipped(fields: dict[str, object], skip: str) -> None:
    plan = mapping.plan_user(_user(**fields))
    assert plan.skip is not None
    assert plan.skip.startswith(skip)


def test_users_roles_and_names() -> None:
    admin = mapping.plan_user(_user(email="Ana@Example.com", role="admin"))
    assert admin.skip is None
    assert admin.role is Role.ADMIN
    assert admin.email == "ana@example.com"
    moderator = mapping.plan_user(_user(email="m@example.com", role="moderator"))
    assert moderator.role is Role.TECHNICIAN
    chat = mapping.plan_user(_user(telegram_id=123456, full_name=None, email="broken"))
    assert chat.skip is None
    assert chat.email is None
    assert chat.name == "Telegram user 123456"
    assert "invalid e-mail address 'broken' left out" in chat.notes
