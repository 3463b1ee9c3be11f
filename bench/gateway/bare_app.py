"""The baseline: one FastAPI + asyncpg process doing the benchmarked routes' work directly.

    DATABASE_URL=... JWT_PUBLIC_KEY_FILE=... HTTP_PORT=... python bench/gateway/bare_app.py

A hand-written app, self-contained as a baseline should be: it imports no service code. It runs,
on the same database and rows, the same SQL statements as the services run for these requests
(one transaction per request, as the runtime opens one) and answers the same bytes: rows become
the same contract models (``EquipmentView``, ``WorkOrderView``, ...; ``rivet_contracts``) shaped
as the services shape them, and the search is its own copy of the assets service's algorithm
and SQL (``bare_search.py``). What it leaves out is exactly what the benchmark prices: the
gateway hop, NATS, the service runtime (request re-validation, role check from headers, reply
headers) and SQLAlchemy Core (here: asyncpg directly). Access tokens are verified as the gateway
verifies them (EdDSA with PyJWT, a verified token remembered until it expires), so JWT cost is
on both sides. Before measuring, the benchmark compares the first answers of both sides field
by field (``same_answers``), which is what keeps this copy honest.

Served by uvicorn with the options of ``rivet_runtime.cli.run_service`` (one process, the same
event loop and HTTP parser as the services get).

It implements only the requests the benchmark sends: no list filters or other sorts, work
orders only for an existing ``equipment_id``, no assignee. The work-order create writes its
outbox row to ``bench_bare.outbox`` (a copy of ``workorders.outbox`` that no relay reads):
the database work of the transaction is the same, the asynchronous publication is not done.
"""

import json
import os
import re
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID, uuid4

import asyncpg
import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from fastapi import Depends, FastAPI, Header, Query, Request, Response

from rivet_contracts import Actor, EventEnvelope, Events, Identity, Role
from rivet_contracts import assets as assets_contract
from rivet_contracts import workorders as wo_contract
from rivet_contracts.refs import EQUIPMENT_PREFIX, WORK_ORDER_PREFIX, format_number, parse_ref
from rivet_contracts.workorders import (
    OPEN_STATUS_VALUES,
    OPEN_STATUSES,
    Priority,
    TimelineKind,
    WorkOrderStatus,
)
from rivet_runtime.keys import key_id

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bare_search

JSON = "application/json"
OPEN_STATUS_SQL = ", ".join(f"'{value}'" for value in OPEN_STATUS_VALUES)
S = WorkOrderStatus
TRANSITIONS: dict[WorkOrderStatus, list[WorkOrderStatus]] = {
    S.OPEN: [S.IN_PROGRESS, S.CANCELLED],
    S.IN_PROGRESS: [S.ON_HOLD, S.COMPLETED, S.CANCELLED],
    S.ON_HOLD: [S.IN_PROGRESS, S.COMPLETED, S.CANCELLED],
    S.COMPLETED: [S.OPEN],
    S.CANCELLED: [S.OPEN],
}
"""The work-order state machine (docs/workorders.md): ``allowed_transitions`` of a view."""
DUE_OFFSETS = {Priority.CRITICAL: timedelta(hours=4), Priority.HIGH: timedelta(days=1),
               Priority.MEDIUM: timedelta(days=7), Priority.LOW: timedelta(days=30)}  # fmt: skip
"""Default due date = creation + this offset (docs/workorders.md)."""
EQUIPMENT_BY_ID = "SELECT * FROM assets.equipment WHERE org_id = $1 AND id = $2"
EQUIPMENT_BY_NUMBER = "SELECT * FROM assets.equipment WHERE org_id = $1 AND number = $2"
EQUIPMENT_PAGE = (
    "SELECT * FROM assets.equipment WHERE org_id = $1 ORDER BY number LIMIT $2 OFFSET $3"
)
EQUIPMENT_COUNT = "SELECT count(*) FROM assets.equipment WHERE org_id = $1"
FULL_ROWS = "SELECT * FROM assets.equipment WHERE org_id = $1 AND id = ANY($2::uuid[])"

REPLICA = "SELECT * FROM workorders.equipment WHERE org_id = $1 AND id = $2 LIMIT 1"
NEXT_NUMBER = (
    "INSERT INTO workorders.counters (org_id, year, value) VALUES ($1, $2, 1) "
    "ON CONFLICT (org_id, year) DO UPDATE SET value = workorders.counters.value + 1 "
    "RETURNING value"
)
ORDER_COLUMNS = (
    "id", "org_id", "number", "equipment_id", "title", "description", "fault_codes", "symptoms",
    "priority", "status", "work_type", "source", "due_at", "assignee_id", "requester_id",
    "estimated_minutes", "downtime_start", "created_at", "updated_at", "status_changed_at",
    "version",
)  # fmt: skip
INSERT_ORDER = (
    f"INSERT INTO workorders.work_orders ({', '.join(ORDER_COLUMNS)}) "  # noqa: S608 - constant column names
    f"VALUES ({', '.join(f'${i + 1}' for i in range(len(ORDER_COLUMNS)))})"
)
INSERT_TIMELINE = (
    "INSERT INTO workorders.timeline (work_order_id, org_id, at, kind, author_id, channel, "
    "to_status, changes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id"
)
VIEW_ROW = """
    SELECT w.*, e.number AS equipment_number, e.name AS equipment_name,
           e.manufacturer AS equipment_manufacturer, e.model AS equipment_model,
           e.serial AS equipment_serial, e.location AS equipment_location,
           e.criticality AS equipment_criticality,
           a.full_name AS assignee_name, r.full_name AS requester_name
      FROM workorders.work_orders w
      JOIN workorders.equipment e ON e.id = w.equipment_id
      LEFT JOIN workorders.users a ON a.id = w.assignee_id
      LEFT JOIN workorders.users r ON r.id = w.requester_id
     WHERE w.org_id = $1 AND w.id = $2
"""
TIMELINE_ROWS = """
    SELECT t.*, u.full_name AS author_name
      FROM workorders.timeline t LEFT JOIN workorders.users u ON u.id = t.author_id
     WHERE t.work_order_id = $1 ORDER BY t.id LIMIT 1000
"""
OUTBOX = "INSERT INTO bench_bare.outbox (event_id, subject, payload) VALUES ($1, $2, $3::jsonb)"
NOTIFY = "SELECT pg_notify('bench_bare_outbox', '')"

EQUIPMENT_COUNTS = (
    "SELECT manufacturer, status, assets FROM workorders.equipment_counts WHERE org_id = $1"
)
WO_COUNTS = (
    "SELECT status, priority, orders, estimated_minutes, unestimated FROM workorders.wo_counts "
    "WHERE org_id = $1"
)
OVERDUE_BEFORE_TODAY = (
    "SELECT coalesce(sum(orders), 0) FROM workorders.wo_due WHERE org_id = $1 AND due_day < $2"
)
OVERDUE_TODAY = (
    "SELECT count(*) FROM workorders.work_orders WHERE org_id = $1 "  # noqa: S608 - literals of the enum
    f"AND status IN ({OPEN_STATUS_SQL}) AND due_at >= $2 AND due_at < $3"
)
TOP_FAULTS = (
    "SELECT code, orders FROM workorders.fault_codes WHERE org_id = $1 AND orders > 0 "
    "ORDER BY orders DESC, code LIMIT $2"
)


# --- access tokens, checked as the gateway checks them ---------------------------------------

_PEM_BLOCK = re.compile(r"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.S)


class InvalidToken(Exception):
    pass


class TokenVerifier:
    """EdDSA only, key by ``kid``, ``iss``/``aud``/``exp``/``iat``/``sub`` required, an access
    token; a verified token is remembered until it expires (as the gateway does)."""

    def __init__(self, pem: str, *, issuer: str, audience: str, leeway: int) -> None:
        self.keys: dict[str, Ed25519PublicKey] = {}
        for block in _PEM_BLOCK.findall(pem):
            key = load_pem_public_key(block.encode())
            assert isinstance(key, Ed25519PublicKey)
            self.keys[key_id(key)] = key
        self.issuer, self.audience, self.leeway = issuer, audience, leeway
        self._verified: dict[str, tuple[Identity, float]] = {}

    def verify(self, token: str) -> Identity:
        known = self._verified.get(token)
        if known is not None:
            if time.time() < known[1]:
                return known[0]
            raise InvalidToken("token expired")
        try:
            header = jwt.get_unverified_header(token)
            key = self.keys.get(str(header.get("kid")))
            if header.get("alg") != "EdDSA" or key is None:
                raise InvalidToken("token is not valid")
            claims = jwt.decode(
                token, key, algorithms=["EdDSA"], audience=self.audience, issuer=self.issuer,
                leeway=self.leeway, options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )  # fmt: skip
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("token expired") from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken("token is not valid") from exc
        if claims.get("typ") != "access":
            raise InvalidToken("not an access token")
        identity = Identity(
            user_id=UUID(claims["sub"]), org_id=UUID(claims["org"]), role=Role(claims["role"])
        )
        if len(self._verified) >= 10_000:
            del self._verified[next(iter(self._verified))]
        self._verified[token] = (identity, float(claims["exp"]) + self.leeway)
        return identity


# --- rows to contract models, shaped as the services shape them -----------------------------


def equipment_view(row: Mapping[str, Any]) -> assets_contract.EquipmentView:
    values = dict(row)
    values["ratings"] = assets_contract.Ratings.model_validate(values.get("ratings") or {})
    return assets_contract.EquipmentView.model_validate(values)


def hours(minutes: int | None) -> float | None:
    return None if minutes is None else round(minutes / 60, 4)


def minutes(value: float | None) -> int | None:
    return None if value is None else round(value * 60)


def timeline_entry(row: Mapping[str, Any]) -> wo_contract.TimelineEntry:
    return wo_contract.TimelineEntry(
        id=row["entry_id"], at=row["at"], kind=row["kind"], author_id=row["author_id"],
        author_name=row.get("author_name"), channel=row["channel"],
        from_status=row["from_status"], to_status=row["to_status"], body=row["body"],
        changes=row["changes"] or {},
    )  # fmt: skip


def work_order_view(
    row: Mapping[str, Any], now: datetime, timeline: Sequence[Mapping[str, Any]]
) -> wo_contract.WorkOrderView:
    status = WorkOrderStatus(row["status"])
    down_start, down_end = row["downtime_start"], row["downtime_end"]
    downtime = None
    if down_start is not None:
        downtime = round(
            ((down_end or max(now, down_start)) - down_start).total_seconds() / 3600, 4
        )
    return wo_contract.WorkOrderView(
        id=row["id"],
        number=row["number"],
        equipment=wo_contract.EquipmentBrief(
            id=row["equipment_id"],
            number=row["equipment_number"],
            name=row["equipment_name"],
            manufacturer=row["equipment_manufacturer"],
            model=row["equipment_model"],
            serial=row["equipment_serial"],
            location=row["equipment_location"],
            criticality=row["equipment_criticality"],
        ),
        title=row["title"],
        description=row["description"],
        fault_codes=list(row["fault_codes"]),
        symptoms=list(row["symptoms"]),
        priority=row["priority"],
        status=status,
        work_type=row["work_type"],
        source=row["source"],
        due_at=row["due_at"],
        overdue=status in OPEN_STATUSES and row["due_at"] < now,
        assignee_id=row["assignee_id"],
        assignee_name=row["assignee_name"],
        requester_id=row["requester_id"],
        requester_name=row["requester_name"],
        estimated_hours=hours(row["estimated_minutes"]),
        labour_hours=hours(row["labour_minutes"]),
        downtime_start=down_start,
        downtime_end=down_end,
        downtime_hours=downtime,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        acknowledged_at=row["acknowledged_at"],
        started_at=row["started_at"],
        on_hold_at=row["on_hold_at"],
        completed_at=row["completed_at"],
        cancelled_at=row["cancelled_at"],
        reopened_at=row["reopened_at"],
        status_changed_at=row["status_changed_at"],
        allowed_transitions=list(TRANSITIONS[status]),
        version=row["version"],
        timeline=[timeline_entry(t) for t in timeline],
    )


def snapshot_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    """What every ``wo.*`` event carries about the order."""
    names = ("number", "title", "status", "priority", "work_type", "equipment_id",
             "equipment_number", "equipment_name", "assignee_id", "requester_id", "source",
             "due_at", "created_at", "acknowledged_at", "completed_at", "downtime_start",
             "downtime_end", "version")  # fmt: skip
    return {
        "work_order_id": row["id"],
        **{name: row[name] for name in names},
        "fault_codes": list(row["fault_codes"]),
        "estimated_hours": hours(row["estimated_minutes"]),
    }


# --- the app ------------------------------------------------------------------------------


def error(status: int, code: str, message: str) -> Response:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    return Response(body, status_code=status, media_type=JSON)


async def _init(conn: asyncpg.Connection) -> None:
    # what SQLAlchemy's asyncpg dialect sets up: JSON(B) as Python objects
    for name in ("json", "jsonb"):
        await conn.set_type_codec(name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


def create_app(database_url: str, public_keys: str) -> FastAPI:
    verifier = TokenVerifier(public_keys, issuer="rivet-auth", audience="rivet", leeway=30)
    state: dict[str, asyncpg.Pool] = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        state["pool"] = await asyncpg.create_pool(
            database_url,
            min_size=2,
            max_size=10,
            init=_init,
            server_settings={"search_path": "assets, public", "application_name": "bench-bare"},
        )
        try:
            yield
        finally:
            await state["pool"].close()

    app = FastAPI(title="bare baseline", lifespan=lifespan, docs_url=None, redoc_url=None)

    async def caller(authorization: Annotated[str | None, Header()] = None) -> Identity:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise InvalidToken("not authenticated")
        return verifier.verify(token)

    Caller = Annotated[Identity, Depends(caller)]

    @app.exception_handler(InvalidToken)
    async def unauthorized(_request: Request, exc: InvalidToken) -> Response:
        return error(401, "unauthorized", str(exc))

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/equipment")
    async def list_equipment(
        query: Annotated[assets_contract.ListEquipment, Query()], who: Caller
    ) -> Response:
        if query.model_fields_set - {"limit", "offset"}:
            return error(501, "not_implemented", "the baseline implements limit and offset only")
        async with state["pool"].acquire() as conn, conn.transaction():
            rows = await conn.fetch(EQUIPMENT_PAGE, who.org_id, query.limit, query.offset)
            total = await conn.fetchval(EQUIPMENT_COUNT, who.org_id)
        page = assets_contract.EquipmentPage(
            items=[equipment_view(dict(r)) for r in rows],
            total=total,
            limit=query.limit,
            offset=query.offset,
        )
        return Response(page.model_dump_json().encode(), media_type=JSON)

    @app.get("/api/equipment/search/fuzzy")
    async def search(
        who: Caller,
        query: Annotated[str, Query(min_length=1, max_length=200)],
        limit: Annotated[int, Query(ge=1, le=50)] = 10,
    ) -> Response:
        async with state["pool"].acquire() as conn, conn.transaction():
            result = await _search(conn, who.org_id, query, limit)
        return Response(result.model_dump_json().encode(), media_type=JSON)

    @app.get("/api/equipment/{ref}")
    async def get_equipment(ref: str, who: Caller) -> Response:
        try:
            key = parse_ref(ref, EQUIPMENT_PREFIX)
        except ValueError:
            return error(422, "validation_error", "give an asset id or an equipment number")
        sql = EQUIPMENT_BY_ID if isinstance(key, UUID) else EQUIPMENT_BY_NUMBER
        async with state["pool"].acquire() as conn, conn.transaction():
            row = await conn.fetchrow(sql, who.org_id, key)
        if row is None:
            return error(404, "not_found", f"asset {ref} not found")
        return Response(equipment_view(dict(row)).model_dump_json().encode(), media_type=JSON)

    @app.post("/api/work-orders", status_code=201)
    async def create_order(body: wo_contract.CreateWorkOrder, who: Caller) -> Response:
        if not who.role.at_least(Role.TECHNICIAN):
            return error(403, "forbidden", "this action needs the technician role")
        if body.equipment_id is None or body.assignee_id is not None:
            return error(501, "not_implemented", "the baseline needs equipment_id, no assignee")
        async with state["pool"].acquire() as conn, conn.transaction():
            view = await _create_order(conn, who, body)
        if view is None:
            return error(422, "validation_error", f"equipment {body.equipment_id} not found")
        return Response(view.model_dump_json().encode(), status_code=201, media_type=JSON)

    @app.get("/api/stats/overview")
    async def overview(who: Caller) -> Response:
        async with state["pool"].acquire() as conn, conn.transaction():
            result = await _overview(conn, who.org_id)
        return Response(result.model_dump_json().encode(), media_type=JSON)

    return app


async def _search(
    conn: asyncpg.Connection, org_id: UUID, query: str, limit: int
) -> assets_contract.SearchResult:
    """The assets service's search on a raw connection: same statements, same ranking."""
    ranked = await bare_search.find(conn, org_id, query, limit)
    if not ranked:
        return assets_contract.SearchResult(items=[])
    rows = {r["id"]: r for r in await conn.fetch(FULL_ROWS, org_id, [x.id for x in ranked])}
    return assets_contract.SearchResult(
        items=[
            assets_contract.SearchHit(
                equipment=equipment_view(dict(rows[x.id])), score=x.score, matched_on=x.matched_on
            )
            for x in ranked
            if x.id in rows
        ]
    )


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    return getattr(value, "value", value)


async def _create_order(
    conn: asyncpg.Connection, who: Identity, req: wo_contract.CreateWorkOrder
) -> wo_contract.WorkOrderView | None:
    """The work-order service's create, for an asset already in its equipment replica."""
    now = datetime.now(UTC)
    assert req.equipment_id is not None
    try:
        equipment_id = UUID(req.equipment_id)
    except ValueError:
        return None
    equipment = await conn.fetchrow(REPLICA, who.org_id, equipment_id)
    if equipment is None or equipment["status"] == "retired":
        return None
    year = now.year
    number = await conn.fetchval(NEXT_NUMBER, who.org_id, year)
    order_id = uuid4()
    due = req.due_at or now + DUE_OFFSETS[req.priority]
    values = (
        order_id, who.org_id, format_number(WORK_ORDER_PREFIX, year, number), equipment["id"],
        req.title, req.description or None, list(dict.fromkeys(c.upper() for c in req.fault_codes)),
        list(dict.fromkeys(req.symptoms)), req.priority.value, WorkOrderStatus.OPEN.value,
        req.work_type.value, "api", due, None, who.user_id, minutes(req.estimated_hours),
        req.downtime_start, now, now, now, 1,
    )  # fmt: skip
    await conn.execute(INSERT_ORDER, *values)
    shown = {
        "priority": req.priority,
        "work_type": req.work_type,
        "due_at": due,
        "estimated_hours": req.estimated_hours,
        "downtime_start": req.downtime_start,
    }
    changes = {k: [None, _plain(v)] for k, v in shown.items() if v is not None}
    await conn.fetchval(
        INSERT_TIMELINE, order_id, who.org_id, now, TimelineKind.CREATED.value, who.user_id,
        "api", WorkOrderStatus.OPEN.value, changes,
    )  # fmt: skip
    row = dict(await conn.fetchrow(VIEW_ROW, who.org_id, order_id))
    envelope: EventEnvelope[Any] = EventEnvelope(
        type=Events.WO_CREATED,
        org_id=who.org_id,
        actor=Actor(user_id=who.user_id, channel="api"),
        data=wo_contract.WorkOrderCreated(**snapshot_fields(row)),
    )
    await conn.execute(OUTBOX, envelope.event_id, envelope.type, envelope.model_dump_json())
    await conn.execute(NOTIFY)
    timeline = [dict(t) for t in await conn.fetch(TIMELINE_ROWS, order_id)]
    return work_order_view(row, now, timeline)


async def _overview(conn: asyncpg.Connection, org: UUID) -> wo_contract.Overview:
    """The work-order service's overview: same five statements, same reply."""
    now = datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    assets_by_status: Counter[str] = Counter()
    assets_by_brand: Counter[str] = Counter()
    for row in await conn.fetch(EQUIPMENT_COUNTS, org):
        assets_by_status[row["status"]] += row["assets"]
        assets_by_brand[row["manufacturer"]] += row["assets"]
    by_status: Counter[WorkOrderStatus] = Counter(dict.fromkeys(WorkOrderStatus, 0))
    by_priority: Counter[Priority] = Counter(dict.fromkeys(Priority, 0))
    for row in await conn.fetch(WO_COUNTS, org):
        status = WorkOrderStatus(row["status"])
        by_status[status] += row["orders"]
        if status in OPEN_STATUSES:
            by_priority[Priority(row["priority"])] += row["orders"]
    brands = sorted((-n, name) for name, n in assets_by_brand.items() if n > 0)[:10]
    before = await conn.fetchval(OVERDUE_BEFORE_TODAY, org, midnight.date())
    today = await conn.fetchval(OVERDUE_TODAY, org, midnight, now)
    faults = await conn.fetch(TOP_FAULTS, org, 10)
    return wo_contract.Overview(
        as_of=now,
        equipment=wo_contract.EquipmentTotals(
            total=sum(assets_by_status.values()),
            by_status={k: v for k, v in assets_by_status.items() if v},
        ),
        work_orders=wo_contract.WorkOrderTotals(
            total=sum(by_status.values()),
            open=sum(by_status[s] for s in OPEN_STATUSES),
            overdue=int(before or 0) + int(today or 0),
            by_status=dict(by_status),
            by_priority=dict(by_priority),
        ),
        top_manufacturers=[wo_contract.CountByName(name=name, count=-n) for n, name in brands],
        top_fault_codes=[
            wo_contract.CountByName(name=r["code"], count=r["orders"]) for r in faults
        ],
    )


def main() -> None:
    keys = Path(os.environ["JWT_PUBLIC_KEY_FILE"]).read_text()
    app = create_app(os.environ["DATABASE_URL"], keys)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(os.environ["HTTP_PORT"]),
        log_config=None,
        access_log=False,
        lifespan="on",
    )


if __name__ == "__main__":
    main()
