"""A Rivet Pro database for the import test and bench: the schema of its migrations 001-008
(``rivet_pro_schema.sql``) with generated users, equipment and work orders, including the rows
that break Rivet's rules (a WhatsApp-only user, an invalid address, duplicate serials, a blank
manufacturer, over-long titles)."""

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

SCHEMA = Path(__file__).with_name("rivet_pro_schema.sql")
MANUFACTURERS = ["Siemens", "Allen-Bradley", "ABB", "Baldor", "Grundfos", "WEG", "SEW", "Fanuc"]
TYPES = ["motor", "pump", "VFD", "PLC", "compressor", "conveyor", "gearbox"]
SOURCES = ["telegram_text", "telegram_voice", "telegram_photo", "whatsapp_text"]
STATUSES = ["open"] * 3 + ["in_progress"] * 2 + ["completed"] * 4 + ["cancelled"]
PRIORITIES = ["low", "medium", "medium", "high", "critical"]


@dataclass
class Generated:
    """What was written, for the test's expectations."""

    admin_email: str
    admin_telegram_id: int = 0
    """The admin used Rivet Pro in Telegram too: the import links that account to them."""
    web: list[str] = field(default_factory=list)
    """Addresses of web users (besides the admin)."""
    telegram_only: list[int] = field(default_factory=list)
    telegram_with_email: list[tuple[int, str]] = field(default_factory=list)
    unreachable: int = 0
    """Users with neither address nor Telegram account (WhatsApp only) or a broken address."""
    equipment: dict[str, str] = field(default_factory=dict)
    """Equipment number -> serial key of every asset."""
    duplicates: dict[str, str] = field(default_factory=dict)
    """Equipment number of a row whose serial repeats an earlier one -> that earlier number."""
    work_orders: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Work order number -> (status, equipment number)."""


def _key(serial: str) -> str:
    return "".join(c for c in serial.upper() if c.isalnum())


async def build(
    url: str, *, assets: int, orders: int, admin_email: str, seed: int = 7
) -> Generated:
    rng = random.Random(seed)
    out = Generated(admin_email=admin_email)
    conn: Any = await asyncpg.connect(url)
    try:
        await conn.execute(SCHEMA.read_text())
        team = await conn.fetchval(
            "INSERT INTO teams (name, subscription_tier) VALUES ('Plant', 'team') RETURNING id"
        )
        users: list[tuple[Any, ...]] = []

        def user(**values: Any) -> uuid.UUID:
            uid = uuid.uuid4()
            users.append(
                (uid, values.get("telegram_id"), values.get("whatsapp_id"), values.get("full_name"),
                 values.get("email"), values.get("role", "user"), team)
            )  # fmt: skip
            return uid

        out.admin_telegram_id = rng.randrange(10**8, 10**10)
        admin = user(
            email=admin_email,
            full_name="Pro Admin",
            role="admin",
            telegram_id=out.admin_telegram_id,
        )
        for i in range(6):
            email = f"tech{i}-{uuid.uuid4().hex[:6]}@example.com"
            out.web.append(email)
            user(email=email, full_name=f"Tech {i}")
        for i in range(4):
            tid = rng.randrange(10**8, 10**10)
            out.telegram_only.append(tid)
            user(telegram_id=tid, full_name=f"Chat User {i}" if i else None)
        tid = rng.randrange(10**8, 10**10)
        email = f"both-{uuid.uuid4().hex[:6]}@example.com"
        out.telegram_with_email.append((tid, email))
        user(telegram_id=tid, email=email, full_name="Both Ways")
        user(whatsapp_id="+15550100", full_name="WhatsApp Only")
        user(email="not-an-address", full_name="Broken Address")
        out.unreachable = 2
        await conn.executemany(
            "INSERT INTO users (id, telegram_id, whatsapp_id, full_name, email, role, team_id)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7)",
            users,
        )
        reporters = [u[0] for u in users]
        machine = await conn.fetchval(
            "INSERT INTO user_machines (user_id, nickname) VALUES ($1, 'Main drive') RETURNING id",
            admin,
        )

        rows: list[tuple[Any, ...]] = []
        last_year = datetime.now(UTC).year - 1
        serials: list[str] = []
        for i in range(assets):
            number = f"EQ-{last_year}-{i + 1:06d}" if i < assets // 3 else None
            if serials and rng.random() < 0.01:  # the same plate typed another way
                serial = serials[rng.randrange(len(serials))].lower().replace("-", " ")
            else:
                serial = f"SN-{i:05d}-{rng.randrange(10**6):06d}"
                serials.append(serial)
            manufacturer = "" if i % 500 == 7 else rng.choice(MANUFACTURERS)
            rows.append(
                (uuid.uuid4(), number, manufacturer, f"M{rng.randrange(1000)}", serial,
                 rng.choice(TYPES), f"Plant 1 / Line {rng.randrange(12)}",
                 rng.choice(["low", "medium", "high", "critical"]),
                 machine if i == 0 else None)
            )  # fmt: skip
        await conn.executemany(
            "INSERT INTO cmms_equipment (id, equipment_number, manufacturer, model_number,"
            " serial_number, equipment_type, location, criticality, machine_id)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8::criticality_level, $9)",
            rows,
        )
        first_by_key: dict[str, str] = {}
        ids: list[tuple[uuid.UUID, str]] = []
        for r in await conn.fetch(
            "SELECT id, equipment_number, serial_number FROM cmms_equipment"
            " ORDER BY created_at, equipment_number"
        ):
            key = _key(r["serial_number"])
            out.equipment[r["equipment_number"]] = key
            if key in first_by_key:
                out.duplicates[r["equipment_number"]] = first_by_key[key]
            else:
                first_by_key[key] = r["equipment_number"]
            ids.append((r["id"], r["equipment_number"]))

        now = datetime.now(UTC)
        wo_rows: list[tuple[Any, ...]] = []
        for i in range(orders):
            equipment_id, _ = ids[rng.randrange(len(ids))]
            status = rng.choice(STATUSES)
            created = now - timedelta(days=rng.randrange(1, 300), minutes=rng.randrange(1440))
            title = f"Fault on line {i % 12}: " + (
                "bearing noise " * 30 if i % 250 == 3 else "trip"
            )
            wo_rows.append(
                (equipment_id, rng.choice(reporters), rng.choice(SOURCES), title,
                 f"Reported problem {i}", [f"F{rng.randrange(100):04d}"], ["noise"], status,
                 rng.choice(PRIORITIES), created,
                 created + timedelta(hours=5) if status == "completed" else None,
                 f"tg_user{i % 9}")
            )  # fmt: skip
        await conn.executemany(
            "INSERT INTO work_orders (equipment_id, user_id, source, title, description,"
            " fault_codes, symptoms, status, priority, created_at, completed_at,"
            " telegram_username) VALUES ($1, $2, $3::source_type, $4, $5, $6, $7,"
            " $8::work_order_status, $9::priority_level, $10, $11, $12)",
            wo_rows,
        )
        for r in await conn.fetch(
            "SELECT w.work_order_number, w.status::text, e.equipment_number"
            " FROM work_orders w JOIN cmms_equipment e ON e.id = w.equipment_id"
        ):
            out.work_orders[r["work_order_number"]] = (r["status"], r["equipment_number"])
    finally:
        await conn.close()
    return out
