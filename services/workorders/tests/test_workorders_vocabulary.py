"""The backlog's statuses and the reference parsing come from the contracts, not from copies."""

from pathlib import Path
from uuid import uuid4

import pytest
from sqlalchemy import CheckConstraint
from sqlalchemy.dialects import postgresql

import rivet_workorders
from rivet_contracts import ErrorCode, ServiceError
from rivet_contracts.workorders import OPEN_STATUS_VALUES, OPEN_STATUSES, WorkOrderStatus
from rivet_workorders import tables
from rivet_workorders.orders import repository
from rivet_workorders.rollups import scoring
from rivet_workorders.stats import jobs as gauges
from rivet_workorders.stats import repository as stats

SOURCE = Path(rivet_workorders.__file__).parent


def test_sql_lists_the_open_statuses_of_the_enum() -> None:
    assert tuple(s.value for s in WorkOrderStatus if s in OPEN_STATUSES) == OPEN_STATUS_VALUES
    assert tables.OPEN_STATUS_SQL == "'open', 'in_progress', 'on_hold'"
    assert tables.OPEN.text == f"status IN ({tables.OPEN_STATUS_SQL})"
    rendered = str(tables.OPEN_ORDERS.compile(dialect=postgresql.dialect()))
    assert rendered.endswith(f"status IN ({tables.OPEN_STATUS_SQL})")
    (check,) = [
        c
        for c in tables.work_orders.constraints
        if isinstance(c, CheckConstraint) and c.name == "work_orders_status_check"
    ]
    assert str(check.sqltext) == f"status IN ({tables.sql_literals(WorkOrderStatus)})"
    assert str(check.sqltext) == (
        "status IN ('open', 'in_progress', 'on_hold', 'completed', 'cancelled')"
    )
    for statement in (stats._OVERDUE_TODAY, gauges._OPEN, gauges._OVERDUE_TODAY, scoring._LIVE):
        assert f"status IN ({tables.OPEN_STATUS_SQL})" in statement.text


def test_no_module_writes_the_status_list_by_hand() -> None:
    """Migrations keep what they created then; everything else renders the list."""
    for path in SOURCE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        text = path.read_text()
        for value in ("'in_progress'", "'on_hold'"):
            assert value not in text, f"{path.relative_to(SOURCE)} spells {value} by hand"


def test_sql_literals_quote() -> None:
    assert tables.sql_literals(["a", "it's"]) == "'a', 'it''s'"


def test_work_order_refs() -> None:
    compiled = repository.parse_ref("wo-2026-000001").compile()
    assert compiled.params == {"number_1": "WO-2026-000001"}
    order_id = uuid4()
    assert repository.parse_ref(str(order_id)).compile().params == {"id_1": order_id}
    with pytest.raises(ServiceError) as caught:
        repository.parse_ref("EQ-2026-000001")
    assert caught.value.code is ErrorCode.VALIDATION
