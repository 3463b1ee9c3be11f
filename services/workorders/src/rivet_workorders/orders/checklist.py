"""Checklist rules: which item a reference names, what result each kind of item takes, when a
reading is out of limits, and when an order may be completed with required items open.

Pure rules with no I/O, so they can be read (and tested) on their own; ``service`` applies them.
"""

import re
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from rivet_contracts import ErrorCode, Role, ServiceError
from rivet_contracts.workorders import (
    OPEN_STATUSES,
    ChecklistItem,
    ChecklistKind,
    ChecklistResult,
    PassFail,
    WorkOrderStatus,
)

_POSITION = re.compile(r"[0-9]{1,6}")
SHOWN_IN_MESSAGE = 5
"""Open required items named in a refusal's message (``details`` lists them all)."""


def _invalid(field: str, message: str) -> ServiceError:
    return ServiceError(
        ErrorCode.VALIDATION,
        message,
        details=[{"loc": [field], "msg": message, "type": "value_error"}],
    )


def parse_item_ref(ref: str) -> int | UUID:
    """An item's position (1 = the first) or its id."""
    if _POSITION.fullmatch(ref):
        return int(ref)
    try:
        return UUID(ref)
    except ValueError:
        raise _invalid(
            "item", "give a checklist item's position (1 = the first) or its id"
        ) from None


def pick(items: Sequence[Mapping[Any, Any]], ref: int | UUID) -> Mapping[Any, Any] | None:
    """The item ``ref`` names among an order's items, if any."""
    key = "position" if isinstance(ref, int) else "id"
    return next((item for item in items if item[key] == ref), None)


def new_items(checklist: Sequence[ChecklistItem]) -> list[dict[str, Any]]:
    """Column values of an order's new checklist, in order (positions from 1)."""
    return [
        {
            "position": position,
            "text": item.text,
            "required": item.required,
            "kind": item.kind.value,
            "low": item.low,
            "high": item.high,
            "unit": item.unit,
        }
        for position, item in enumerate(checklist, start=1)
    ]


def check_recordable(status: WorkOrderStatus, number: str) -> None:
    """Results are recorded while the work is open; a closed order's record stays as it was."""
    if status not in OPEN_STATUSES:
        raise ServiceError(
            ErrorCode.CONFLICT,
            f"work order {number} is {status.value}; reopen it to change its checklist",
            details={"status": status.value},
        )


def result_values(kind: ChecklistKind, req: ChecklistResult) -> dict[str, Any]:
    """The item's ``done``, ``verdict``, ``reading`` and ``note`` after ``req``; refuses a
    result that does not fit the item's kind."""
    result = req.result
    values: dict[str, Any] = {"done": req.done, "verdict": None, "reading": None, "note": req.note}
    if not req.done:
        if result is not None:
            raise _invalid(
                "result", "a result goes with `done: true`; send no result to take one back"
            )
        return values
    if kind is ChecklistKind.CHECK:
        if result is not None:
            raise _invalid("result", "a `check` item takes no result: send `done` (and a note)")
    elif kind is ChecklistKind.PASS_FAIL:
        if not isinstance(result, PassFail):
            raise _invalid("result", "a `pass_fail` item takes `pass` or `fail` as its result")
        values["verdict"] = result.value
    else:
        if result is None or isinstance(result, PassFail | bool):
            raise _invalid("result", "a `number` item takes the reading, a number, as its result")
        values["reading"] = float(result)
    return values


def out_of_limits(low: float | None, high: float | None, reading: float | None) -> bool:
    """A reading below ``low`` or above ``high`` (limits that are not set never are)."""
    if reading is None:
        return False
    return (low is not None and reading < low) or (high is not None and reading > high)


def check_override_allowed(role: Role) -> None:
    if role is not Role.ADMIN:
        raise ServiceError(
            ErrorCode.FORBIDDEN,
            "only admins may complete a work order whose required checklist items are open "
            "(`override_reason`)",
        )


def check_completion(
    open_required: Sequence[Mapping[Any, Any]], override_reason: str | None
) -> bool:
    """May the order be completed with these required items not done? True when it is by an
    override (the caller's right to one is checked before: ``check_override_allowed``)."""
    if not open_required:
        return False
    if override_reason is not None:
        return True
    count = len(open_required)
    named = "; ".join(f"{i['position']} ({i['text']})" for i in open_required[:SHOWN_IN_MESSAGE])
    more = f"; and {count - SHOWN_IN_MESSAGE} more" if count > SHOWN_IN_MESSAGE else ""
    items = "item is" if count == 1 else "items are"
    raise ServiceError(
        ErrorCode.CONFLICT,
        f"{count} required checklist {items} not done: {named}{more}. Record them first, or "
        "(admins) complete with an `override_reason`",
        details={
            "open_required": [
                {"id": str(i["id"]), "position": i["position"], "text": i["text"]}
                for i in open_required
            ]
        },
    )
