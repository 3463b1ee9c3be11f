"""Vocabulary defined once: references, the backlog's statuses, brand names."""

import uuid

import pytest

from rivet_contracts import brands
from rivet_contracts.refs import EQUIPMENT_PREFIX, WORK_ORDER_PREFIX, format_number, parse_ref
from rivet_contracts.workorders import OPEN_STATUS_VALUES, OPEN_STATUSES, WorkOrderStatus


def test_a_ref_is_an_id_or_a_number_in_any_case() -> None:
    some_id = uuid.uuid4()
    assert parse_ref(str(some_id), EQUIPMENT_PREFIX) == some_id
    assert parse_ref(str(some_id).upper(), WORK_ORDER_PREFIX) == some_id
    assert parse_ref("eq-2026-000123", EQUIPMENT_PREFIX) == "EQ-2026-000123"
    assert parse_ref("WO-2026-000001", WORK_ORDER_PREFIX) == "WO-2026-000001"
    # a number is recognised by its prefix alone; the lookup decides whether it exists
    assert parse_ref("EQ-anything", EQUIPMENT_PREFIX) == "EQ-ANYTHING"
    for wrong in ("WO-2026-000001", "2026-000123", "pump", ""):
        with pytest.raises(ValueError, match="UUID"):
            parse_ref(wrong, EQUIPMENT_PREFIX)


def test_numbers() -> None:
    assert format_number(EQUIPMENT_PREFIX, 2026, 123) == "EQ-2026-000123"
    assert format_number(WORK_ORDER_PREFIX, 2027, 1) == "WO-2027-000001"
    number = format_number(EQUIPMENT_PREFIX, 2026, 5)
    assert parse_ref(number.lower(), EQUIPMENT_PREFIX) == number


def test_open_statuses_in_a_stable_order() -> None:
    assert set(OPEN_STATUS_VALUES) == {s.value for s in OPEN_STATUSES}
    assert tuple(s.value for s in WorkOrderStatus if s in OPEN_STATUSES) == OPEN_STATUS_VALUES
    assert OPEN_STATUS_VALUES == ("open", "in_progress", "on_hold")


@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("A-B", "Allen-Bradley"),
        ("AB", "Allen-Bradley"),  # the compact form of an alias with spaces
        ("Allen Bradley", "Allen-Bradley"),
        ("u.s. motors", "Nidec"),
        ("Unknown Pumps", None),
    ],
)
def test_brand_aliases(alias: str, name: str | None) -> None:
    assert brands.canonical(alias) == name
