"""How Rivet Pro's rows become Rivet's requests: pure rules, no I/O
(docs/migrating-from-rivet-pro.md lists them for operators)."""

import re
from dataclasses import dataclass, field
from typing import Final

from pydantic import ValidationError

from rivet_contracts import Role
from rivet_contracts.assets import CreateEquipment, Criticality
from rivet_contracts.auth import InviteUser
from rivet_contracts.workorders import CreateWorkOrder, Priority, WorkOrderStatus

from .source import ProEquipment, ProUser, ProWorkOrder

STATUSES: Final[dict[str, WorkOrderStatus]] = {
    "open": WorkOrderStatus.OPEN,
    "in_progress": WorkOrderStatus.IN_PROGRESS,
    "completed": WorkOrderStatus.COMPLETED,
    "cancelled": WorkOrderStatus.CANCELLED,
}
"""Rivet Pro's ``work_order_status`` labels; anything else is skipped (``unknown status``)."""

PATHS: Final[dict[WorkOrderStatus, tuple[WorkOrderStatus, ...]]] = {
    WorkOrderStatus.OPEN: (),
    WorkOrderStatus.IN_PROGRESS: (WorkOrderStatus.IN_PROGRESS,),
    WorkOrderStatus.COMPLETED: (WorkOrderStatus.IN_PROGRESS, WorkOrderStatus.COMPLETED),
    WorkOrderStatus.CANCELLED: (WorkOrderStatus.CANCELLED,),
}
"""The status changes that bring a new (open) order to its Rivet Pro status, in Rivet's
lifecycle (completed goes through in progress)."""

CANCEL_REASON: Final = "Cancelled in Rivet Pro before the import"

PRIORITIES: Final[dict[str, Priority]] = {p.value: p for p in Priority}
"""``low``, ``medium``, ``high``, ``critical``: the same four in both; none means medium."""

CRITICALITIES: Final[dict[str, Criticality]] = {c.value: c for c in Criticality}

ROLES: Final[dict[str, Role]] = {"admin": Role.ADMIN}
"""Rivet Pro's ``users.role``: ``admin`` stays admin; ``user``, ``moderator`` and anything else
become technicians (they reported and worked orders)."""

UNKNOWN_MANUFACTURER: Final = "Unknown"
NUMBER = {
    "EQ": re.compile(r"^EQ-[0-9]{4}-[0-9]{6}$"),
    "WO": re.compile(r"^WO-[0-9]{4}-[0-9]{6}$"),
}
_NOT_ALNUM = re.compile(r"[^A-Z0-9]")


@dataclass
class Plan:
    """What one source row becomes: the request, or why there is none, and what was changed
    on the way (``notes``: a cut field, a default filled in)."""

    notes: list[str] = field(default_factory=list)
    skip: str | None = None


def keeps_number(prefix: str, number: str | None) -> bool:
    return number is not None and NUMBER[prefix].match(number.strip().upper()) is not None


def serial_key(serial: str | None) -> str | None:
    """A serial as the registry compares it: upper case, letters and digits only."""
    if serial is None:
        return None
    return _NOT_ALNUM.sub("", serial.upper()) or None


def _cut(value: str | None, limit: int, name: str, plan: Plan) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split()) if limit <= 200 else value.strip()
    if not value:
        return None
    if len(value) > limit:
        plan.notes.append(f"{name} cut to {limit} characters")
        return value[:limit].rstrip()
    return value


# --- users -------------------------------------------------------------------------------


@dataclass
class UserPlan(Plan):
    role: Role = Role.TECHNICIAN
    email: str | None = None
    name: str = ""
    telegram_id: int | None = None


def plan_user(user: ProUser) -> UserPlan:
    plan = UserPlan(role=ROLES.get((user.role or "").strip().lower(), Role.TECHNICIAN))
    email = (user.email or "").strip().lower() or None
    if email is not None:
        try:
            email = InviteUser(email=email).email
        except ValidationError:
            if user.telegram_id is None:
                plan.skip = f"invalid e-mail address {user.email!r}"
                return plan
            plan.notes.append(f"invalid e-mail address {user.email!r} left out")
            email = None
    plan.email = email
    plan.telegram_id = user.telegram_id
    if email is None and user.telegram_id is None:
        plan.skip = (
            "no e-mail address and no Telegram account (WhatsApp only): Rivet cannot reach "
            "this person"
        )
        return plan
    name = _cut(user.full_name, 200, "name", plan)
    if name is None:
        name = email.split("@")[0] if email else f"Telegram user {user.telegram_id}"
        plan.notes.append("no name: named after the account")
    plan.name = name
    return plan


# --- equipment ---------------------------------------------------------------------------


@dataclass
class EquipmentPlan(Plan):
    request: CreateEquipment | None = None
    keeps_number: bool = True


def plan_equipment(row: ProEquipment) -> EquipmentPlan:
    plan = EquipmentPlan()
    manufacturer = _cut(row.manufacturer, 100, "manufacturer", plan)
    if manufacturer is None:
        manufacturer = UNKNOWN_MANUFACTURER
        plan.notes.append(f"no manufacturer: {UNKNOWN_MANUFACTURER}")
    criticality = CRITICALITIES.get((row.criticality or "medium").lower(), Criticality.MEDIUM)
    if row.criticality and row.criticality.lower() not in CRITICALITIES:
        plan.notes.append(f"unknown criticality {row.criticality!r}: medium")
    number = row.number.strip().upper() if keeps_number("EQ", row.number) else None
    if number is None:
        plan.keeps_number = False
        plan.notes.append(f"number {row.number!r} is not EQ-<year>-<6 digits>: a new number")
    plan.request = CreateEquipment(
        manufacturer=manufacturer,
        model=_cut(row.model, 100, "model", plan),
        serial=_cut(row.serial, 100, "serial", plan),
        name=_cut(row.nickname, 200, "name", plan),
        equipment_type=_cut(row.equipment_type, 100, "equipment_type", plan),
        location=_cut(row.location, 200, "location", plan),
        department=_cut(row.department, 100, "department", plan),
        criticality=criticality,
        installed_on=row.installed_on,
        create_anyway=True,  # distinct rows of the source stay distinct assets
        number=number,
    )
    return plan


# --- work orders -------------------------------------------------------------------------


@dataclass
class WorkOrderPlan(Plan):
    request: CreateWorkOrder | None = None
    status: WorkOrderStatus = WorkOrderStatus.OPEN


def work_order_key(row: ProWorkOrder) -> str:
    """The order's idempotency key in Rivet: kept with the order for good."""
    return f"rivet-pro:work-order:{row.id}"


def plan_work_order(row: ProWorkOrder, equipment_ref: str) -> WorkOrderPlan:
    """``equipment_ref``: the Rivet number of the order's asset (decided by the caller)."""
    plan = WorkOrderPlan()
    status = STATUSES.get((row.status or "").strip().lower())
    if status is None:
        plan.skip = f"unknown status {row.status!r}"
        return plan
    plan.status = status
    priority = PRIORITIES.get((row.priority or "medium").strip().lower())
    if priority is None:
        plan.notes.append(f"unknown priority {row.priority!r}: medium")
        priority = Priority.MEDIUM
    title = _cut(row.title, 200, "title", plan)
    if title is None:
        title = _cut((row.description or "").split("\n")[0], 200, "title", plan) or "(no title)"
        plan.notes.append("no title: the description's first line")
    codes = [c.strip()[:40] for c in row.fault_codes if c and c.strip()]
    symptoms = [s.strip()[:200] for s in row.symptoms if s and s.strip()]
    if len(codes) > 20 or len(symptoms) > 20:
        plan.notes.append("more than 20 fault codes or symptoms: the first 20 kept")
    number = row.number.strip().upper() if keeps_number("WO", row.number) else None
    if number is None:
        plan.notes.append(f"number {row.number!r} is not WO-<year>-<6 digits>: a new number")
    plan.request = CreateWorkOrder(
        equipment_id=equipment_ref,
        title=title,
        description=_description(row, plan),
        fault_codes=codes[:20],
        symptoms=symptoms[:20],
        priority=priority,
        number=number,
        idempotency_key=work_order_key(row),
    )
    return plan


def _description(row: ProWorkOrder, plan: Plan) -> str:
    """The description, followed by what Rivet has no field for: who reported it, when, from
    where, and when it was completed."""
    facts = []
    who = row.reporter or (f"@{row.telegram_username}" if row.telegram_username else None)
    if who:
        facts.append(f"reported by {who}")
    if row.created_at is not None:
        facts.append(f"on {row.created_at:%Y-%m-%d %H:%M %Z}".rstrip())
    if row.source:
        facts.append(f"via {row.source}")
    if row.completed_at is not None:
        facts.append(f"completed {row.completed_at:%Y-%m-%d %H:%M %Z}".rstrip())
    footer = (
        f"[Rivet Pro {row.number}: {', '.join(facts)}]" if facts else f"[Rivet Pro {row.number}]"
    )
    body = (row.description or "").strip()
    room = 10_000 - len(footer) - 2
    if len(body) > room:
        plan.notes.append(f"description cut to {room} characters")
        body = body[:room].rstrip()
    return f"{body}\n\n{footer}" if body else footer
