"""The pure rules of checklists and idempotent creation."""

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import uuid4

import pytest
from pydantic import ValidationError

from rivet_contracts import ErrorCode, Role, ServiceError
from rivet_contracts.workorders import (
    ChecklistItem,
    ChecklistKind,
    ChecklistResult,
    CreateWorkOrder,
    PassFail,
    WorkOrderStatus,
)
from rivet_workorders.orders import checklist, idempotency

K = ChecklistKind


@pytest.mark.parametrize(
    ("kind", "body", "expected"),
    [
        (K.CHECK, {}, (True, None, None)),
        (K.CHECK, {"done": False}, (False, None, None)),
        (K.PASS_FAIL, {"result": "pass"}, (True, "pass", None)),
        (K.PASS_FAIL, {"result": "fail"}, (True, "fail", None)),
        (K.NUMBER, {"result": 3}, (True, None, 3.0)),
        (K.NUMBER, {"result": -0.25}, (True, None, -0.25)),
        (K.NUMBER, {"done": False}, (False, None, None)),
    ],
)
def test_results_that_fit(kind: K, body: dict[str, Any], expected: tuple[Any, ...]) -> None:
    values = checklist.result_values(kind, ChecklistResult.model_validate(body))
    assert (values["done"], values["verdict"], values["reading"]) == expected
    assert isinstance(values["reading"], float | None)


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        (K.CHECK, {"result": "pass"}),
        (K.CHECK, {"result": 1}),
        (K.PASS_FAIL, {}),
        (K.PASS_FAIL, {"result": 0}),
        (K.NUMBER, {}),
        (K.NUMBER, {"result": "fail"}),
        (K.NUMBER, {"done": False, "result": 2}),
    ],
)
def test_results_that_do_not_fit(kind: K, body: dict[str, Any]) -> None:
    with pytest.raises(ServiceError) as refused:
        checklist.result_values(kind, ChecklistResult.model_validate(body))
    assert refused.value.code is ErrorCode.VALIDATION


@pytest.mark.parametrize("result", ["12", True, "PASS ", float("nan"), float("inf"), 1e13])
def test_the_contract_refuses_what_is_no_result(result: Any) -> None:
    with pytest.raises(ValidationError):
        ChecklistResult.model_validate({"result": result})


def test_readings_out_of_limits() -> None:
    assert not checklist.out_of_limits(0, 4.5, 4.5)
    assert not checklist.out_of_limits(0, 4.5, 0)
    assert checklist.out_of_limits(0, 4.5, 4.51)
    assert checklist.out_of_limits(0, 4.5, -0.01)
    assert checklist.out_of_limits(None, 4.5, 9)
    assert not checklist.out_of_limits(None, 4.5, -9)
    assert checklist.out_of_limits(1, None, 0)
    assert not checklist.out_of_limits(None, None, 1e9)
    assert not checklist.out_of_limits(0, 1, None)


def test_item_references() -> None:
    item_id = uuid4()
    assert checklist.parse_item_ref("3") == 3
    assert checklist.parse_item_ref("007") == 7
    assert checklist.parse_item_ref(str(item_id)) == item_id
    for bad in ("first", "1.5", "-1", "²", "1" * 7, "3 4"):
        with pytest.raises(ServiceError) as refused:
            checklist.parse_item_ref(bad)
        assert refused.value.code is ErrorCode.VALIDATION, bad
    items = [{"id": uuid4(), "position": n} for n in (1, 2)]
    assert checklist.pick(items, 2) is items[1]
    assert checklist.pick(items, items[0]["id"]) is items[0]
    assert checklist.pick(items, 3) is None
    assert checklist.pick(items, uuid4()) is None


def test_new_items_are_numbered_from_one() -> None:
    given = [ChecklistItem(text="a"), ChecklistItem(text="b", kind=K.NUMBER, low=1, unit="bar")]
    rows = checklist.new_items(given)
    assert [(r["position"], r["text"], r["kind"]) for r in rows] == [
        (1, "a", "check"),
        (2, "b", "number"),
    ]
    assert (rows[1]["low"], rows[1]["high"], rows[1]["unit"]) == (1, None, "bar")


@pytest.mark.parametrize(
    "item",
    [
        {"text": "a", "low": 1},
        {"text": "a", "kind": "pass_fail", "unit": "bar"},
        {"text": "a", "kind": "number", "low": 2, "high": 1},
        {"text": " "},
        {"text": "a", "kind": "number", "low": float("nan")},
    ],
)
def test_items_the_contract_refuses(item: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ChecklistItem.model_validate(item)


def test_completion_with_required_items_open() -> None:
    assert checklist.check_completion([], None) is False
    assert checklist.check_completion([], "an override") is False
    open_items = [{"id": uuid4(), "position": n, "text": f"step {n}"} for n in range(1, 8)]
    assert checklist.check_completion(open_items, "parts on order") is True
    with pytest.raises(ServiceError) as refused:
        checklist.check_completion(open_items, None)
    assert refused.value.code is ErrorCode.CONFLICT
    message = refused.value.info.message
    assert message.startswith("7 required checklist items are not done: 1 (step 1); 2 (step 2)")
    assert "5 (step 5); and 2 more" in message
    details = refused.value.info.details
    assert isinstance(details, dict)
    assert [i["position"] for i in details["open_required"]] == list(range(1, 8))
    checklist.check_override_allowed(Role.ADMIN)
    for role in (Role.TECHNICIAN, Role.VIEWER):
        with pytest.raises(ServiceError) as forbidden:
            checklist.check_override_allowed(role)
        assert forbidden.value.code is ErrorCode.FORBIDDEN


def test_closed_orders_keep_their_record() -> None:
    for status in (WorkOrderStatus.OPEN, WorkOrderStatus.IN_PROGRESS, WorkOrderStatus.ON_HOLD):
        checklist.check_recordable(status, "WO-2026-000001")
    for status in (WorkOrderStatus.COMPLETED, WorkOrderStatus.CANCELLED):
        with pytest.raises(ServiceError) as refused:
            checklist.check_recordable(status, "WO-2026-000001")
        assert refused.value.code is ErrorCode.CONFLICT


def _create(**fields: Any) -> CreateWorkOrder:
    return CreateWorkOrder.model_validate({"equipment_id": "EQ-2026-000001", "title": "t"} | fields)


def test_the_same_request_under_a_key() -> None:
    due = datetime(2030, 1, 1, 12, tzinfo=UTC)
    base = _create(due_at=due, checklist=[{"text": "a"}], idempotency_key="k1")
    same = [
        _create(due_at=due, checklist=[{"text": "a"}]),
        _create(due_at=due.astimezone(timezone(timedelta(hours=-3))), checklist=[{"text": "a "}]),
        _create(
            due_at=due,
            checklist=[{"text": "a", "kind": "check", "required": False}],
            priority="medium",
            work_type="corrective",
            idempotency_key="another",
        ),
    ]
    for request in same:
        assert idempotency.request_hash(request) == idempotency.request_hash(base)
    different = [
        _create(due_at=due),
        _create(due_at=due + timedelta(seconds=1), checklist=[{"text": "a"}]),
        _create(due_at=due, checklist=[{"text": "a", "required": True}]),
        _create(due_at=due, checklist=[{"text": "a"}], plan_id=str(uuid4())),
        _create(due_at=due, checklist=[{"text": "a"}], title="u"),
    ]
    hashes = {idempotency.request_hash(r) for r in different}
    assert len(hashes) == len(different)
    assert idempotency.request_hash(base) not in hashes
    order_id = uuid4()
    idempotency.check_same_request(same[0], idempotency.request_hash(base), order_id, "WO-1")
    with pytest.raises(ServiceError) as refused:
        idempotency.check_same_request(different[0], idempotency.request_hash(base), order_id, "N")
    assert refused.value.code is ErrorCode.IDEMPOTENCY_KEY_REUSED
    assert refused.value.info.details == {"work_order_id": str(order_id), "number": "N"}
    equipment = _create(equipment_id=None, equipment={"manufacturer": "ABB", "serial": "S1"})
    assert len(idempotency.request_hash(equipment)) == 64


def test_pass_fail_values() -> None:
    assert {v.value for v in PassFail} == {"pass", "fail"}
