"""``/api/work-orders``: the work order lifecycle; also ``/api/equipment/{id}/work-orders``."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Response

from rivet_contracts import Rpc
from rivet_contracts import workorders as contract

from ..deps import Caller, Fwd, IdempotencyKey, KeyedCaller
from .docs import errors

router = APIRouter(tags=["work orders"])

Ref = Annotated[str, Path(max_length=64, description="Work order id or number (WO-2026-000123).")]
EquipmentRef = Annotated[
    str, Path(max_length=64, description="Asset id or equipment number (EQ-2026-000123).")
]
Item = Annotated[
    str, Path(max_length=64, description="The item's position (1 = the first) or its id.")
]
ListQuery = Annotated[contract.ListWorkOrders, Query()]
Statuses = Annotated[list[contract.WorkOrderStatus] | None, Query(max_length=5)]
Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=100_000)]


@router.get("/api/work-orders", response_model=contract.WorkOrderPage, responses=errors(401, 422))
async def list_orders(query: ListQuery, fwd: Fwd, meta: Caller) -> Response:
    """Your organization's work orders, newest first: filter by status and priority (repeat
    the parameter for several), assignee, equipment, work type, overdue; `limit` at most 200."""
    return await fwd.call(Rpc.WORKORDERS_LIST, query, meta)


@router.post(
    "/api/work-orders",
    status_code=201,
    response_model=contract.WorkOrderView,
    responses=errors(401, 403, 404, 409, 422),
)
async def create(
    body: contract.CreateWorkOrder, fwd: Fwd, meta: Caller, key: IdempotencyKey = None
) -> Response:
    """Open a work order against an asset: `equipment_id` (id or EQ-number) or `equipment`
    (manufacturer, model, serial, ...; matched or registered by the assets service). 409 with
    `details.candidates` when the described asset may already exist: choose, then send again.
    `checklist`: steps to do or check, in order. With an `Idempotency-Key` header (or
    `idempotency_key`) the create is safe to repeat, for good (not only 24 hours): a key used
    before answers with the order it opened, as it is now; the same key with a different request
    is a 422 `idempotency_key_reused`."""
    return await fwd.call(Rpc.WORKORDERS_CREATE, _with_key(body, key), meta)


def _with_key(body: contract.CreateWorkOrder, key: str | None) -> contract.CreateWorkOrder:
    """The ``Idempotency-Key`` header as the body's ``idempotency_key`` (422 if they differ):
    work orders keep their key for good (ADR 0015)."""
    if key is None:
        return body
    fields = {name: getattr(body, name) for name in body.model_fields_set}
    keyed = contract.CreateWorkOrder.model_validate(fields | {"idempotency_key": key})
    if body.idempotency_key is not None and body.idempotency_key != keyed.idempotency_key:
        raise HTTPException(
            422,
            "the Idempotency-Key header and the body's idempotency_key differ; send the key "
            "once (either is enough) or the same in both",
        )
    return keyed


@router.get(
    "/api/work-orders/equipment/{equipment_id}/work-orders",
    response_model=contract.WorkOrderPage,
    responses=errors(401, 404, 422),
    deprecated=True,
)
async def for_equipment_legacy(
    equipment_id: EquipmentRef,
    fwd: Fwd,
    meta: Caller,
    status: Statuses = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Response:
    """Deprecated: use `GET /api/equipment/{equipment_id}/work-orders`, which answers the same.
    An asset's work orders, newest first (the older API's path, kept for its clients)."""
    return await equipment_orders(equipment_id, fwd, meta, status, limit, offset)


@router.get(
    "/api/equipment/{equipment_id}/work-orders",
    response_model=contract.WorkOrderPage,
    responses=errors(401, 404, 422),
)
async def equipment_orders(
    equipment_id: EquipmentRef,
    fwd: Fwd,
    meta: Caller,
    status: Statuses = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Response:
    """An asset's work orders, newest first."""
    body = contract.ListEquipmentWorkOrders(
        equipment_id=equipment_id, status=status, limit=limit, offset=offset
    )
    return await fwd.call(Rpc.WORKORDERS_FOR_EQUIPMENT, body, meta)


@router.get(
    "/api/work-orders/{ref}", response_model=contract.WorkOrderView, responses=errors(401, 404, 422)
)
async def get(ref: Ref, fwd: Fwd, meta: Caller) -> Response:
    """One work order with its timeline, by id or number."""
    return await fwd.call(Rpc.WORKORDERS_GET, contract.GetWorkOrder(ref=ref), meta)


@router.patch(
    "/api/work-orders/{ref}",
    response_model=contract.WorkOrderView,
    responses=errors(401, 403, 404, 409, 422),
)
async def patch(ref: Ref, body: contract.WorkOrderChanges, fwd: Fwd, meta: Caller) -> Response:
    """Change what the body names: `status` (with `reason` to cancel or reopen; 409 lists the
    allowed transitions), `note`, `assignee_id` (`null` unassigns), hours, downtime, and (admins)
    priority, due date, title, description, work type."""
    request = contract.UpdateWorkOrder(ref=ref, changes=body)
    return await fwd.call(Rpc.WORKORDERS_UPDATE, request, meta)


@router.put(
    "/api/work-orders/{ref}",
    response_model=contract.WorkOrderView,
    responses=errors(401, 403, 404, 409, 422),
    deprecated=True,
)
async def put(ref: Ref, body: contract.WorkOrderChanges, fwd: Fwd, meta: Caller) -> Response:
    """Deprecated: use `PATCH /api/work-orders/{ref}`, which answers the same. Only the fields
    sent change (not a replacement; kept for clients of the older API)."""
    return await patch(ref, body, fwd, meta)


@router.post(
    "/api/work-orders/{ref}/comments",
    status_code=201,
    response_model=contract.TimelineEntry,
    responses=errors(401, 403, 404, 422),
)
async def comment(ref: Ref, body: contract.NewComment, fwd: Fwd, meta: KeyedCaller) -> Response:
    """Add a comment to the timeline."""
    request = contract.CommentOnWorkOrder(ref=ref, body=body.body)
    return await fwd.call(Rpc.WORKORDERS_COMMENT, request, meta)


@router.post(
    "/api/work-orders/{ref}/checklist/{item}",
    response_model=contract.ChecklistItemView,
    responses=errors(401, 403, 404, 409, 422),
)
async def check_item(
    ref: Ref, item: Item, body: contract.ChecklistResult, fwd: Fwd, meta: Caller
) -> Response:
    """Record a checklist item's result (the item by position, 1 = the first, or id):
    `{"done": true}` for a `check` item, `"result": "pass"` or `"fail"` for a `pass_fail` item,
    the reading for a `number` item (`out_of_limits` says whether it is outside the item's
    limits); a `note`. `{"done": false}` takes a result back. 409 on a completed or cancelled
    order."""
    request = contract.CheckChecklistItem(
        ref=ref, item=item, done=body.done, result=body.result, note=body.note
    )
    return await fwd.call(Rpc.WORKORDERS_CHECK_ITEM, request, meta)
