"""Reading a Rivet Pro database (its migrations 001-008: ``users``, ``cmms_equipment``,
``user_machines``, ``work_orders``). Read only: one snapshot transaction, nothing written."""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg


@dataclass(frozen=True)
class ProUser:
    id: UUID
    email: str | None
    full_name: str | None
    role: str | None
    telegram_id: int | None
    whatsapp_id: str | None


@dataclass(frozen=True)
class ProEquipment:
    id: UUID
    number: str
    manufacturer: str | None
    model: str | None
    serial: str | None
    equipment_type: str | None
    location: str | None
    department: str | None
    criticality: str | None
    installed_on: date | None
    nickname: str | None
    """The owner's name for the machine (``user_machines.nickname``), when linked."""


@dataclass(frozen=True)
class ProWorkOrder:
    id: UUID
    number: str
    equipment_id: UUID | None
    title: str | None
    description: str | None
    fault_codes: list[str]
    symptoms: list[str]
    status: str | None
    priority: str | None
    source: str | None
    created_at: datetime | None
    completed_at: datetime | None
    reporter: str | None
    telegram_username: str | None


@dataclass(frozen=True)
class Snapshot:
    users: list[ProUser]
    equipment: list[ProEquipment]
    work_orders: list[ProWorkOrder]


# Text casts: enums (status, priority, criticality, source) are read as their labels, so a
# database whose types were widened later (or a label this importer does not know) still reads.
_USERS = """
SELECT id, email, full_name, role, telegram_id, whatsapp_id
FROM users ORDER BY created_at NULLS LAST, id
"""
_EQUIPMENT = """
SELECT e.id, e.equipment_number, e.manufacturer, e.model_number, e.serial_number,
       e.equipment_type, e.location, e.department, e.criticality::text AS criticality,
       e.installation_date, m.nickname
FROM cmms_equipment e LEFT JOIN user_machines m ON m.id = e.machine_id
ORDER BY e.created_at, e.equipment_number
"""
_WORK_ORDERS = """
SELECT w.id, w.work_order_number, w.equipment_id, w.title, w.description, w.fault_codes,
       w.symptoms, w.status::text AS status, w.priority::text AS priority,
       w.source::text AS source, w.created_at, w.completed_at,
       COALESCE(u.full_name, u.email) AS reporter, w.telegram_username
FROM work_orders w LEFT JOIN users u ON u.id = w.user_id
ORDER BY w.created_at, w.work_order_number
"""


async def read(url: str) -> Snapshot:
    """Everything the importer carries over, read in one repeatable-read transaction."""
    conn: Any = await asyncpg.connect(url)
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            users = [
                ProUser(
                    r["id"],
                    r["email"],
                    r["full_name"],
                    r["role"],
                    r["telegram_id"],
                    r["whatsapp_id"],
                )
                for r in await conn.fetch(_USERS)
            ]
            equipment = [
                ProEquipment(
                    r["id"],
                    r["equipment_number"],
                    r["manufacturer"],
                    r["model_number"],
                    r["serial_number"],
                    r["equipment_type"],
                    r["location"],
                    r["department"],
                    r["criticality"],
                    r["installation_date"],
                    r["nickname"],
                )
                for r in await conn.fetch(_EQUIPMENT)
            ]
            orders = [
                ProWorkOrder(
                    r["id"],
                    r["work_order_number"],
                    r["equipment_id"],
                    r["title"],
                    r["description"],
                    list(r["fault_codes"] or []),
                    list(r["symptoms"] or []),
                    r["status"],
                    r["priority"],
                    r["source"],
                    r["created_at"],
                    r["completed_at"],
                    r["reporter"],
                    r["telegram_username"],
                )
                for r in await conn.fetch(_WORK_ORDERS)
            ]
    finally:
        await conn.close()
    return Snapshot(users, equipment, orders)
