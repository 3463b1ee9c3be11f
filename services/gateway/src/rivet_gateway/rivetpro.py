"""Rivet Pro's API shapes and their translation to and from Rivet's contracts (ADR 0021).

Rivet Pro clients reach the gateway under ``PREFIX`` (their base URL plus ``/pro``): the same
paths, bodies and answers they had, served by Rivet's services. This module only translates:
every rule (roles, organization scope, create-or-match, status transitions, passwords) stays
with the service that owns it. The request models are strict like every Rivet request (an
unknown field is a 422): Rivet Pro's clients never sent any.
"""

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, EmailStr, Field, StringConstraints

from rivet_contracts import assets, auth, workorders
from rivet_contracts import ocr as nameplates
from rivet_contracts.base import Request, View

PREFIX = "/pro"
"""Where Rivet Pro's API is served: a Rivet Pro client's base URL gets this suffix."""
SERVICE = "Rivet API"

Text100 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=10_000)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5_000)]
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Symptom = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Ref = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


# --- requests (rivet_pro/adapters/web/routers/*.py) -------------------------------------------


class ProRegister(Request):
    """``RegisterRequest`` of Rivet Pro's auth router."""

    email: EmailStr = Field(description="Login e-mail.")
    password: str = Field(max_length=128, description="Rivet's password rules apply.")
    full_name: Text200 | None = Field(
        default=None, description="Defaults to the part of the address before the @."
    )


class ProLinkTelegram(Request):
    """``LinkTelegramRequest`` of Rivet Pro's auth router."""

    telegram_user_id: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)
    ] = Field(description="The Telegram account (only proven by the bot: see the answer).")


class ProEquipmentCreate(Request):
    """``EquipmentCreate`` of Rivet Pro's equipment router."""

    manufacturer: Text100
    model_number: Text100 | None = None
    serial_number: Text100 | None = None
    equipment_type: Text100 | None = None
    location: Text200 | None = None


class ProEquipmentUpdate(Request):
    """``EquipmentUpdate`` of Rivet Pro's equipment router: only the fields sent change."""

    location: Text200 | None = None
    status: assets.EquipmentStatus | None = Field(
        default=None, description="in_service or out_of_service (retiring has its own route)."
    )


class ProWorkOrderCreate(Request):
    """``WorkOrderCreate`` of Rivet Pro's work-order router: the asset as ``equipment_id`` or
    flat (``manufacturer`` at least), matched or registered by the assets service."""

    title: Title
    description: LongText
    equipment_id: Ref | None = Field(default=None, description="Asset id or equipment number.")
    manufacturer: Text100 | None = None
    model_number: Text100 | None = None
    serial_number: Text100 | None = None
    equipment_type: Text100 | None = None
    location: Text200 | None = None
    fault_codes: list[Code] | None = Field(default=None, max_length=20)
    symptoms: list[Symptom] | None = Field(default=None, max_length=20)
    priority: workorders.Priority = workorders.Priority.MEDIUM


class ProWorkOrderUpdate(Request):
    """``WorkOrderUpdate`` of Rivet Pro's work-order router."""

    status: workorders.WorkOrderStatus | None = None
    notes: Note | None = Field(
        default=None, description="A note on the timeline; the reason when cancelling or reopening."
    )


# --- answers ------------------------------------------------------------------------------------


class ProUser(View):
    id: str
    email: str
    full_name: str | None
    role: str
    telegram_user_id: str | None = Field(
        description="Always null: Rivet does not show Telegram ids; see telegram_linked."
    )
    telegram_linked: bool


class ProMe(ProUser):
    created_at: str | None


class ProToken(View):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type
    user: ProUser
    refresh_token: str = Field(description="Rivet's refresh token (POST /api/auth/refresh).")
    expires_in: int


class ProLinkAnswer(View):
    success: bool = Field(description="false: linking finishes in Telegram, with the code.")
    message: str
    telegram_user_id: str
    code: str
    link: str | None
    expires_at: datetime


class ProEquipment(View):
    """A row of Rivet Pro's ``cmms_equipment`` (migration 003), from Rivet's asset."""

    id: str
    equipment_number: str
    manufacturer: str
    model_number: str | None
    serial_number: str | None
    equipment_type: str | None
    location: str | None
    department: str | None
    criticality: str
    status: str
    description: str | None = Field(description="Rivet's short name of the asset.")
    installation_date: str | None
    work_order_count: int
    last_reported_fault: str | None
    last_work_order_at: str | None
    owned_by_user_id: str | None
    first_reported_by: str | None
    created_at: str
    updated_at: str


class ProEquipmentCreated(View):
    equipment: ProEquipment
    is_new: bool


class ProWorkOrder(View):
    """A row of Rivet Pro's ``work_orders`` (migration 004), from Rivet's work order."""

    id: str
    work_order_number: str
    user_id: str | None
    source: str
    equipment_id: str
    equipment_number: str
    manufacturer: str
    model_number: str | None
    serial_number: str | None
    location: str | None
    title: str
    description: str
    fault_codes: list[str]
    symptoms: list[str]
    status: str
    priority: str
    created_at: str
    updated_at: str
    completed_at: str | None


class ProManufacturerCount(View):
    manufacturer: str
    equipment_count: int


class ProFaultCount(View):
    fault_code: str
    occurrence_count: int


class ProOverview(View):
    equipment_count: int
    work_orders_open: int
    work_orders_in_progress: int
    work_orders_completed: int
    top_manufacturers: list[ProManufacturerCount]
    top_faults: list[ProFaultCount]


class ProHealthItem(View):
    id: str
    equipment_number: str
    manufacturer: str
    model_number: str | None
    work_order_count: int
    last_reported_fault: str | None
    health_score: float = Field(description="Rivet's health score (0-100, worst first).")


class ProTrend(View):
    date: str
    created_count: int
    completed_count: int


class ProSummaryUser(View):
    id: str
    email: str
    full_name: str | None


class ProSummaryStats(View):
    equipment: int
    work_orders_active: int
    work_orders_completed: int


class ProSummary(View):
    user: ProSummaryUser
    stats: ProSummaryStats


class ProOcr(View):
    manufacturer: str | None
    model_number: str | None
    serial_number: str | None
    component_type: str | None
    confidence: float
    provider_used: str | None


class ProUpload(View):
    ocr: ProOcr
    equipment: ProEquipment | None = None
    is_new_equipment: bool = False
    scan_id: str = Field(description="Rivet's scan (GET /api/scans/{id}).")
    status: nameplates.ScanStatus = Field(description="Rivet's scan status.")


class ProRoot(View):
    service: str
    version: str
    docs: str
    health: str


class ProDatabase(View):
    healthy: bool


class ProHealth(View):
    status: str = Field(description="healthy or unhealthy (then with status 503).")
    service: str
    version: str
    environment: str
    database: ProDatabase


# --- translation --------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    return None if value is None else value.isoformat() if hasattr(value, "isoformat") else value


def equipment_request(body: ProEquipmentCreate) -> assets.CreateEquipment:
    return assets.CreateEquipment(**_equipment_fields(body.model_dump(exclude_none=True)))


def _equipment_fields(fields: dict[str, Any]) -> dict[str, Any]:
    renamed = {"model_number": "model", "serial_number": "serial"}
    return {renamed.get(name, name): value for name, value in fields.items()}


def equipment_patch(body: ProEquipmentUpdate) -> assets.EquipmentPatch:
    return assets.EquipmentPatch(**body.model_dump(exclude_none=True))


def work_order_request(body: ProWorkOrderCreate) -> workorders.CreateWorkOrder:
    """Rivet Pro used ``equipment_id`` when given and the flat asset fields otherwise."""
    flat = body.model_dump(
        include={"manufacturer", "model_number", "serial_number", "equipment_type", "location"},
        exclude_none=True,
    )
    equipment = None
    if body.equipment_id is None and body.manufacturer is not None:
        equipment = assets.CreateEquipment(**_equipment_fields(flat))
    return workorders.CreateWorkOrder(
        equipment_id=body.equipment_id,
        equipment=equipment,
        title=body.title,
        description=body.description or None,
        fault_codes=body.fault_codes or [],
        symptoms=body.symptoms or [],
        priority=body.priority,
    )


def work_order_changes(body: ProWorkOrderUpdate) -> workorders.WorkOrderChanges:
    """``notes`` is the reason of a cancellation or a reopening (Rivet asks one) and a note on
    the timeline otherwise."""
    fields: dict[str, Any] = {}
    if body.status is not None:
        fields["status"] = body.status
    if body.notes is not None:
        why = body.status in (workorders.WorkOrderStatus.CANCELLED, workorders.WorkOrderStatus.OPEN)
        fields["reason" if why and len(body.notes) >= 3 else "note"] = body.notes
    return workorders.WorkOrderChanges(**fields)


def user(view: auth.UserView) -> ProUser:
    return ProUser(
        id=str(view.id),
        email=view.email,
        full_name=view.full_name,
        role=view.role.value,
        telegram_user_id=None,
        telegram_linked=view.telegram_linked,
    )


def me(view: auth.UserView) -> ProMe:
    return ProMe(**user(view).model_dump(), created_at=view.created_at.isoformat())


def equipment(view: assets.EquipmentView, facts: "OrderFacts | None" = None) -> ProEquipment:
    facts = facts or OrderFacts()
    creator = str(view.created_by) if view.created_by else None
    return ProEquipment(
        id=str(view.id),
        equipment_number=view.number,
        manufacturer=view.manufacturer,
        model_number=view.model,
        serial_number=view.serial,
        equipment_type=view.equipment_type,
        location=view.location,
        department=view.department,
        criticality=view.criticality.value,
        status=view.status.value,
        description=view.name,
        installation_date=_text(view.installed_on),
        work_order_count=facts.count,
        last_reported_fault=facts.last_fault,
        last_work_order_at=_text(facts.last_at),
        owned_by_user_id=creator,
        first_reported_by=creator,
        created_at=view.created_at.isoformat(),
        updated_at=view.updated_at.isoformat(),
    )


def work_order(view: workorders.WorkOrderView) -> ProWorkOrder:
    return ProWorkOrder(
        id=str(view.id),
        work_order_number=view.number,
        user_id=str(view.requester_id) if view.requester_id else None,
        source=view.source,
        equipment_id=str(view.equipment.id),
        equipment_number=view.equipment.number,
        manufacturer=view.equipment.manufacturer,
        model_number=view.equipment.model,
        serial_number=view.equipment.serial,
        location=view.equipment.location,
        title=view.title,
        description=view.description or "",
        fault_codes=view.fault_codes,
        symptoms=view.symptoms,
        status=view.status.value,
        priority=view.priority.value,
        created_at=view.created_at.isoformat(),
        updated_at=view.updated_at.isoformat(),
        completed_at=_text(view.completed_at),
    )


class OrderFacts(BaseModel):
    """What Rivet Pro kept on each asset row and Rivet derives from its work orders."""

    count: int = 0
    last_fault: str | None = None
    last_at: datetime | None = None

    def add(self, page: list[workorders.WorkOrderView]) -> None:
        """One page of the asset's orders, newest first (pages in order)."""
        for order in page:
            if self.last_at is None:
                self.last_at = order.created_at
            if self.last_fault is None and order.fault_codes:
                self.last_fault = order.fault_codes[0]
        self.count += len(page)


def overview(view: workorders.Overview) -> ProOverview:
    by_status = view.work_orders.by_status
    return ProOverview(
        equipment_count=view.equipment.total,
        work_orders_open=by_status.get(workorders.WorkOrderStatus.OPEN, 0),
        work_orders_in_progress=by_status.get(workorders.WorkOrderStatus.IN_PROGRESS, 0),
        work_orders_completed=by_status.get(workorders.WorkOrderStatus.COMPLETED, 0),
        top_manufacturers=[
            ProManufacturerCount(manufacturer=c.name, equipment_count=c.count)
            for c in view.top_manufacturers[:5]
        ],
        top_faults=[
            ProFaultCount(fault_code=c.name, occurrence_count=c.count)
            for c in view.top_fault_codes[:10]
        ],
    )


def health_item(item: workorders.EquipmentHealth, facts: OrderFacts) -> ProHealthItem:
    return ProHealthItem(
        id=str(item.equipment_id),
        equipment_number=item.number,
        manufacturer=item.manufacturer,
        model_number=item.model,
        work_order_count=facts.count,
        last_reported_fault=facts.last_fault,
        health_score=float(item.score),
    )


def trends(view: workorders.Trends) -> list[ProTrend]:
    return [
        ProTrend(date=day.day.isoformat(), created_count=day.created, completed_count=day.completed)
        for day in view.items
    ]


def summary(person: auth.UserView, view: workorders.Overview) -> ProSummary:
    return ProSummary(
        user=ProSummaryUser(id=str(person.id), email=person.email, full_name=person.full_name),
        stats=ProSummaryStats(
            equipment=view.equipment.total,
            work_orders_active=view.work_orders.open,
            work_orders_completed=view.work_orders.by_status.get(
                workorders.WorkOrderStatus.COMPLETED, 0
            ),
        ),
    )


def scan_reading(scan: nameplates.ScanView) -> ProOcr:
    fields = scan.fields
    core = [f for f in (fields.manufacturer, fields.model, fields.serial) if f is not None]
    return ProOcr(
        manufacturer=fields.manufacturer.value if fields.manufacturer else None,
        model_number=fields.model.value if fields.model else None,
        serial_number=fields.serial.value if fields.serial else None,
        component_type=None,
        confidence=round(sum(f.confidence for f in core) / len(core), 4) if core else 0.0,
        provider_used=None,
    )
