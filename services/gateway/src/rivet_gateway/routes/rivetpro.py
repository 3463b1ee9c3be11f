"""``/pro``: Rivet Pro's API, for its clients (ADR 0021, docs/migrating-from-rivet-pro.md).

Each route takes what Rivet Pro's route of the same path took and answers what it answered;
in between, Rivet's services do the work through the same requests Rivet's own routes send.
Only shapes are translated here (``rivetpro``): roles, organization scope, create-or-match,
status transitions and password rules are the services'.
"""

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, File, Path, Query, Request, Response, UploadFile
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from rivet_contracts import ErrorCode, ErrorInfo, ServiceError, assets, auth, ocr, workorders
from rivet_contracts.spec import ReplyT, RequestT, RpcSpec
from rivet_runtime.client import CallMeta

from .. import rivetpro as pro
from ..deps import Anonymous, Caller, Config, Fwd, Person
from ..errors import error_response
from ..tokens import InvalidToken

router = APIRouter(prefix=pro.PREFIX, tags=["rivet pro compatibility"], deprecated=True)

Id = Annotated[str, Path(min_length=1, max_length=64, description="Id or number.")]
LoginForm = Annotated[OAuth2PasswordRequestForm, Depends()]
RUNNING = (ocr.ScanStatus.QUEUED, ocr.ScanStatus.MATCHING)
FACT_LOOKUPS = 8
"""Assets whose work orders one request looks up at once (lists derive counts per asset)."""


class ProError(BaseModel):
    error: ErrorInfo
    detail: str


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Like ``docs.errors``: Rivet's error body, plus ``detail`` for Rivet Pro's clients;
    422 always (an id or a value the contract refuses)."""
    return {status: {"model": ProError} for status in (400, *statuses, 422, 503, 504)}


def _json(value: BaseModel | list[Any], status: int = 200) -> Response:
    if isinstance(value, list):
        return JSONResponse([v.model_dump(mode="json") for v in value], status_code=status)
    return JSONResponse(value.model_dump(mode="json"), status_code=status)


class Failed(Exception):
    """A service refused or failed, or a request cannot be served: the answer to give."""

    def __init__(self, response: Response) -> None:
        self.response = response


def refusal(code: ErrorCode, message: str, **extra: Any) -> Failed:
    return Failed(error_response(code, message, detail=True, **extra))


async def _ask(
    fwd: Fwd, spec: RpcSpec[RequestT, ReplyT], payload: RequestT, meta: CallMeta
) -> ReplyT:
    """The service's reply as ``spec.reply``; its error (with Rivet's status and headers, and
    ``detail``) raised as ``Failed``."""
    try:
        return await fwd.client.call(spec, payload, meta, timeout=fwd.timeout)
    except ServiceError as exc:
        info = exc.info
        wait = info.retry_after if info.code is ErrorCode.RATE_LIMITED else None
        raise refusal(
            info.code,
            info.message,
            details=info.details,
            retry_after=info.retry_after,
            headers={"Retry-After": str(wait)} if wait else None,
        ) from None


def answered(route: Callable[..., Awaitable[Response]]) -> Callable[..., Awaitable[Response]]:
    """A route whose service calls raise ``Failed``: answered with the service's error."""

    @functools.wraps(route)
    async def run(*args: Any, **kwargs: Any) -> Response:
        try:
            return await route(*args, **kwargs)
        except Failed as failed:
            return failed.response

    return run


async def _facts(fwd: Fwd, meta: CallMeta, equipment_id: UUID) -> pro.OrderFacts:
    """The asset's work-order count, latest fault code and latest order, from its orders."""
    facts = pro.OrderFacts()
    offset: int | None = 0
    while offset is not None:
        query = workorders.ListEquipmentWorkOrders(
            equipment_id=str(equipment_id), limit=200, offset=offset
        )
        page = await _ask(fwd, workorders.FOR_EQUIPMENT, query, meta)
        facts.add(page.items)
        offset = page.next_offset if page.next_offset and page.next_offset <= 100_000 else None
    return facts


async def _all_facts(fwd: Fwd, meta: CallMeta, ids: list[UUID]) -> list[pro.OrderFacts]:
    gate = asyncio.Semaphore(FACT_LOOKUPS)

    async def one(equipment_id: UUID) -> pro.OrderFacts:
        async with gate:
            return await _facts(fwd, meta, equipment_id)

    return list(await asyncio.gather(*(one(i) for i in ids)))


async def _equipment(fwd: Fwd, meta: CallMeta, view: assets.EquipmentView) -> pro.ProEquipment:
    return pro.equipment(view, await _facts(fwd, meta, view.id))


async def _equipment_list(
    fwd: Fwd, meta: CallMeta, views: list[assets.EquipmentView]
) -> list[pro.ProEquipment]:
    facts = await _all_facts(fwd, meta, [v.id for v in views])
    return [pro.equipment(v, f) for v, f in zip(views, facts, strict=True)]


# --- the service itself (rivet_pro/adapters/web/main.py) -----------------------------------------


@router.get("/", response_model=pro.ProRoot)
async def home(request: Request) -> Response:
    """What Rivet Pro's `GET /` answered: the service, its version and where its docs and
    health check are."""
    version = request.app.version
    docs = pro.ProRoot(
        service=pro.SERVICE, version=version, docs="/docs", health=f"{pro.PREFIX}/health"
    )
    return _json(docs)


@router.get("/health", response_model=pro.ProHealth, responses={503: {"model": pro.ProHealth}})
async def health(request: Request, config: Config) -> Response:
    """Rivet Pro's health answer: `"status": "healthy"` while the gateway reaches NATS and
    with it the services; otherwise `"unhealthy"` with status 503."""
    ready, _checks = await request.app.state.readiness()
    answer = pro.ProHealth(
        status="healthy" if ready else "unhealthy",
        service=pro.SERVICE,
        version=request.app.version,
        environment=config.nats_namespace or "default",
        database=pro.ProDatabase(healthy=ready),
    )
    return _json(answer, 200 if ready else 503)


# --- rivet_pro/adapters/web/routers/auth.py ------------------------------------------------------


async def _signed_in(
    request: Request, fwd: Fwd, meta: CallMeta, email: str, password: str
) -> Response:
    login = auth.LogIn(
        email=email,
        password=password,
        client_ip=request.client.host if request.client else None,
    )
    tokens = await _ask(fwd, auth.LOGIN, login, meta)
    try:
        identity = request.app.state.verifier.verify(tokens.access_token)
    except InvalidToken as exc:  # pragma: no cover - auth signs with the key the gateway checks
        raise refusal(ErrorCode.UNAVAILABLE, "the new session cannot be used yet") from exc
    person = await _ask(fwd, auth.ME, auth.GetMe(), CallMeta(identity, meta.correlation_id))
    answer = pro.ProToken(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_in=tokens.expires_in,
        user=pro.user(person),
    )
    return _json(answer)


@router.post("/api/auth/register", response_model=pro.ProToken, responses=errors(422, 429))
@answered
async def register(body: pro.ProRegister, request: Request, fwd: Fwd, meta: Anonymous) -> Response:
    """Rivet Pro's registration: an account (in a new organization, as its admin) and, at
    once, its access token. Rivet's password rules apply (422 with the reason). An address
    that has an account already is a 400 unless the password is that account's."""
    name = body.full_name or body.email.split("@", 1)[0]
    account = auth.RegisterUser(email=body.email, password=body.password, full_name=name)
    await _ask(fwd, auth.REGISTER, account, meta)
    try:
        return await _signed_in(request, fwd, meta, body.email, body.password)
    except Failed as failed:
        if failed.response.status_code == 401:  # the address has an account, not this password
            raise refusal(ErrorCode.BAD_REQUEST, "Email already registered") from None
        raise


@router.post("/api/auth/login", response_model=pro.ProToken, responses=errors(401, 422, 429))
@answered
async def login(form: LoginForm, request: Request, fwd: Fwd, meta: Anonymous) -> Response:
    """OAuth2 password form (`username` = e-mail): the access token and the user, as Rivet
    Pro answered (with Rivet's refresh token besides)."""
    return await _signed_in(request, fwd, meta, form.username, form.password)


@router.get("/api/auth/me", response_model=pro.ProMe, responses=errors(401, 403))
@answered
async def me(fwd: Fwd, meta: Person) -> Response:
    """Your profile in Rivet Pro's fields."""
    return _json(pro.me(await _ask(fwd, auth.ME, auth.GetMe(), meta)))


@router.post(
    "/api/auth/link-telegram",
    status_code=202,
    response_model=pro.ProLinkAnswer,
    responses=errors(401, 403, 422),
)
@answered
async def link_telegram(body: pro.ProLinkTelegram, fwd: Fwd, meta: Person) -> Response:
    """Rivet links a Telegram account only when that account proves it: the answer (202,
    `success: false`) carries a one-time code for the bot (`/start <code>`, 10 minutes) and
    its `t.me` link; once sent, the accounts are linked."""
    code = await _ask(fwd, auth.CREATE_TELEGRAM_LINK, auth.CreateTelegramLink(), meta)
    where = code.link or f"the bot: /start {code.code}"
    answer = pro.ProLinkAnswer(
        success=False,
        message=f"To link Telegram account {body.telegram_user_id}, open {where} from it "
        "within 10 minutes",
        telegram_user_id=body.telegram_user_id,
        code=code.code,
        link=code.link,
        expires_at=code.expires_at,
    )
    return _json(answer, 202)


# --- rivet_pro/adapters/web/routers/equipment.py -------------------------------------------------


@router.post(
    "/api/equipment/",
    response_model=pro.ProEquipmentCreated,
    responses=errors(401, 403, 404, 409, 422),
)
@answered
async def create_equipment(body: pro.ProEquipmentCreate, fwd: Fwd, meta: Caller) -> Response:
    """Create or match an asset; `is_new` says which. Where Rivet finds possible duplicates
    and cannot choose, 409 with the candidates' numbers (choose at `POST /api/equipment`)."""
    result = await _ask(fwd, assets.CREATE, pro.equipment_request(body), meta)
    if result.equipment is None:
        numbers = [c.equipment.number for c in result.candidates]
        raise refusal(
            ErrorCode.CONFLICT,
            "this asset may already be registered as " + ", ".join(numbers),
            details={"candidates": numbers},
        )
    created = result.outcome is assets.MatchOutcome.CREATED
    answer = pro.ProEquipmentCreated(
        equipment=await _equipment(fwd, meta, result.equipment), is_new=created
    )
    return _json(answer)


@router.get("/api/equipment/", response_model=list[pro.ProEquipment], responses=errors(401, 422))
@answered
async def list_equipment(
    fwd: Fwd,
    meta: Caller,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    manufacturer: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    equipment_type: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
) -> Response:
    """Your organization's assets, newest first, as a plain list."""
    query = assets.ListEquipment(
        limit=limit,
        offset=offset,
        manufacturer=manufacturer,
        equipment_type=equipment_type,
        sort=assets.SortKey("-created_at"),
    )
    page = await _ask(fwd, assets.LIST, query, meta)
    return _json(await _equipment_list(fwd, meta, page.items))


@router.get(
    "/api/equipment/search/fuzzy", response_model=list[pro.ProEquipment], responses=errors(401, 422)
)
@answered
async def search_equipment(
    fwd: Fwd,
    meta: Caller,
    query: Annotated[str, Query(min_length=2, max_length=200)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response:
    """Typo-tolerant search (Rivet's), best first, as a plain list."""
    found: list[assets.EquipmentView] = []
    offset: int | None = 0
    while offset is not None and len(found) < limit:
        ask = assets.SearchEquipment(query=query, limit=min(50, limit - len(found)), offset=offset)
        result = await _ask(fwd, assets.SEARCH, ask, meta)
        found += [hit.equipment for hit in result.items]
        offset = result.next_offset
    return _json(await _equipment_list(fwd, meta, found[:limit]))


@router.get(
    "/api/equipment/{equipment_id}", response_model=pro.ProEquipment, responses=errors(401, 404)
)
@answered
async def get_equipment(equipment_id: Id, fwd: Fwd, meta: Caller) -> Response:
    """One asset."""
    view = await _ask(fwd, assets.GET, assets.GetEquipment(ref=equipment_id), meta)
    return _json(await _equipment(fwd, meta, view))


@router.put(
    "/api/equipment/{equipment_id}",
    response_model=pro.ProEquipment,
    responses=errors(401, 403, 404, 409, 422),
)
@answered
async def update_equipment(
    equipment_id: Id, body: pro.ProEquipmentUpdate, fwd: Fwd, meta: Caller
) -> Response:
    """Change `location` and `status` where sent; the rest stays (Rivet Pro's PUT)."""
    patch = pro.equipment_patch(body)
    if patch.model_fields_set:
        change = assets.UpdateEquipment(ref=equipment_id, patch=patch)
        view = await _ask(fwd, assets.UPDATE, change, meta)
    else:
        view = await _ask(fwd, assets.GET, assets.GetEquipment(ref=equipment_id), meta)
    return _json(await _equipment(fwd, meta, view))


# --- rivet_pro/adapters/web/routers/work_orders.py -----------------------------------------------


@router.post(
    "/api/work-orders/", response_model=pro.ProWorkOrder, responses=errors(401, 403, 404, 409, 422)
)
@answered
async def create_work_order(body: pro.ProWorkOrderCreate, fwd: Fwd, meta: Caller) -> Response:
    """Open a work order on `equipment_id`, or on the asset described by the flat fields
    (matched or registered). 400 without either, as in Rivet Pro."""
    if body.equipment_id is None and body.manufacturer is None:
        raise refusal(ErrorCode.BAD_REQUEST, "Must provide either equipment_id or manufacturer")
    order = await _ask(fwd, workorders.CREATE, pro.work_order_request(body), meta)
    return _json(pro.work_order(order))


@router.get("/api/work-orders/", response_model=list[pro.ProWorkOrder], responses=errors(401, 422))
@answered
async def list_work_orders(
    fwd: Fwd,
    meta: Caller,
    status: workorders.WorkOrderStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    """Your organization's work orders, newest first, as a plain list."""
    query = workorders.ListWorkOrders(status=[status] if status else None, limit=limit)
    page = await _ask(fwd, workorders.LIST, query, meta)
    return _json([pro.work_order(o) for o in page.items])


@router.get(
    "/api/work-orders/equipment/{equipment_id}/work-orders",
    response_model=list[pro.ProWorkOrder],
    responses=errors(401, 404, 422),
)
@answered
async def equipment_work_orders(
    equipment_id: Id, fwd: Fwd, meta: Caller, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> Response:
    """An asset's work orders, newest first, as a plain list."""
    query = workorders.ListEquipmentWorkOrders(equipment_id=equipment_id, limit=limit)
    page = await _ask(fwd, workorders.FOR_EQUIPMENT, query, meta)
    return _json([pro.work_order(o) for o in page.items])


@router.get(
    "/api/work-orders/{work_order_id}", response_model=pro.ProWorkOrder, responses=errors(401, 404)
)
@answered
async def get_work_order(work_order_id: Id, fwd: Fwd, meta: Caller) -> Response:
    """One work order."""
    order = await _ask(fwd, workorders.GET, workorders.GetWorkOrder(ref=work_order_id), meta)
    return _json(pro.work_order(order))


@router.put(
    "/api/work-orders/{work_order_id}",
    response_model=pro.ProWorkOrder,
    responses=errors(401, 403, 404, 409, 422),
)
@answered
async def update_work_order(
    work_order_id: Id, body: pro.ProWorkOrderUpdate, fwd: Fwd, meta: Caller
) -> Response:
    """A new `status` (409 names the allowed ones) and/or `notes` (the reason when cancelling
    or reopening, a timeline note otherwise)."""
    changes = pro.work_order_changes(body)
    if changes.model_fields_set:
        request = workorders.UpdateWorkOrder(ref=work_order_id, changes=changes)
        order = await _ask(fwd, workorders.UPDATE, request, meta)
    else:
        ref = workorders.GetWorkOrder(ref=work_order_id)
        order = await _ask(fwd, workorders.GET, ref, meta)
    return _json(pro.work_order(order))


# --- rivet_pro/adapters/web/routers/stats.py -----------------------------------------------------


@router.get("/api/stats/overview", response_model=pro.ProOverview, responses=errors(401))
@answered
async def overview(fwd: Fwd, meta: Caller) -> Response:
    """Assets, work orders by status, top manufacturers and fault codes."""
    view = await _ask(fwd, workorders.STATS_OVERVIEW, workorders.StatsOverviewQuery(), meta)
    return _json(pro.overview(view))


@router.get(
    "/api/stats/equipment-health", response_model=list[pro.ProHealthItem], responses=errors(401)
)
@answered
async def equipment_health(fwd: Fwd, meta: Caller) -> Response:
    """The 50 assets in the worst health (Rivet's score, 0-100), worst first."""
    query = workorders.EquipmentHealthQuery(limit=50)
    report = await _ask(fwd, workorders.STATS_EQUIPMENT_HEALTH, query, meta)
    facts = await _all_facts(fwd, meta, [item.equipment_id for item in report.items])
    items = [pro.health_item(i, f) for i, f in zip(report.items, facts, strict=True)]
    return _json(items)


@router.get(
    "/api/stats/work-order-trends", response_model=list[pro.ProTrend], responses=errors(401, 422)
)
@answered
async def work_order_trends(
    fwd: Fwd, meta: Caller, days: Annotated[int, Query(ge=1, le=365)] = 30
) -> Response:
    """Work orders created and completed per day (UTC) of the last `days`, oldest first."""
    view = await _ask(fwd, workorders.STATS_TRENDS, workorders.TrendsQuery(days=days), meta)
    return _json(pro.trends(view))


@router.get("/api/stats/summary", response_model=pro.ProSummary, responses=errors(401, 403))
@answered
async def summary(fwd: Fwd, meta: Person) -> Response:
    """You, and your organization's assets, active and completed work orders."""
    person = await _ask(fwd, auth.ME, auth.GetMe(), meta)
    view = await _ask(fwd, workorders.STATS_OVERVIEW, workorders.StatsOverviewQuery(), meta)
    return _json(pro.summary(person, view))


# --- rivet_pro/adapters/web/routers/upload.py ----------------------------------------------------


@router.post(
    "/api/upload/nameplate",
    response_model=pro.ProUpload,
    responses=errors(401, 403, 404, 413, 415, 422) | {202: {"model": pro.ProUpload}},
)
@answered
async def upload_nameplate(
    request: Request,
    fwd: Fwd,
    meta: Caller,
    config: Config,
    file: Annotated[UploadFile, File(description="JPEG, PNG or WebP")],
    create_equipment: bool = True,
    wait: Annotated[float, Query(ge=0, le=30, description="Seconds to wait for the scan.")] = 30.0,
) -> Response:
    """Read a nameplate photo; the asset read is created or matched (`is_new_equipment`).
    A scan still running after `wait` seconds answers 202 (poll `GET /api/scans/{scan_id}`);
    one Rivet is unsure of answers without an asset (confirm it at
    `POST /api/scans/{scan_id}/confirm`). `create_equipment=false` is refused: Rivet registers
    every asset it reads with confidence."""
    if not create_equipment:
        raise refusal(
            ErrorCode.VALIDATION,
            "create_equipment=false is not available: a scan always goes through create-or-match",
        )
    limit = config.photo_max_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise refusal(ErrorCode.PAYLOAD_TOO_LARGE, f"photos up to {limit} bytes")
    uploads = request.app.state.uploads()
    if uploads is None:
        raise refusal(ErrorCode.UNAVAILABLE, "uploads are not available yet; try again")
    key = await uploads.put(data, prefix="photos")
    scan = await _ask(fwd, ocr.SUBMIT, ocr.SubmitNameplate(upload_key=key), meta)
    deadline = time.monotonic() + wait
    while scan.status in RUNNING and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        scan = await _ask(fwd, ocr.GET_SCAN, ocr.GetScan(scan_id=scan.id), meta)
    equipment = None
    if scan.equipment_id is not None and scan.status is ocr.ScanStatus.RESOLVED:
        ref = assets.GetEquipment(ref=str(scan.equipment_id))
        equipment = await _equipment(fwd, meta, await _ask(fwd, assets.GET, ref, meta))
    answer = pro.ProUpload(
        ocr=pro.scan_reading(scan),
        equipment=equipment,
        is_new_equipment=equipment is not None and scan.outcome is assets.MatchOutcome.CREATED,
        scan_id=str(scan.id),
        status=scan.status,
    )
    response = _json(answer, 202 if scan.status in RUNNING else 200)
    if scan.status in RUNNING:
        response.headers["Location"] = f"/api/scans/{scan.id}"
    return response
