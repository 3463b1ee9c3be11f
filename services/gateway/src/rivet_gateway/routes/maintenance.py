"""``/api/maintenance`` and ``/api/meters``: planned maintenance (plans, their occurrences, the
forecast, overdue PM orders, PM KPIs) and meters with their readings.

Machines send readings to NATS (``reading.submitted.<org_id>``, docs/maintenance.md); people
and integrations without a NATS user record them here."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response
from pydantic import AwareDatetime

from rivet_contracts import Rpc
from rivet_contracts import maintenance as contract

from ..deps import Caller, Fwd, KeyedCaller
from .docs import errors

plans = APIRouter(tags=["maintenance plans"])
meters = APIRouter(tags=["meters"])
reports = APIRouter(tags=["maintenance reports"])

PlanId = Annotated[UUID, Path(description="The plan's id.")]
MeterId = Annotated[UUID, Path(description="The meter's id.")]
PlanQuery = Annotated[contract.ListPlans, Query()]
MeterQuery = Annotated[contract.ListMeters, Query()]
ForecastQuery = Annotated[contract.GetForecast, Query()]
OverdueQuery = Annotated[contract.ListOverdue, Query()]
KpiQuery = Annotated[contract.GetPmKpis, Query()]
ReadingsBefore = Annotated[
    AwareDatetime | None,
    Query(description="Only readings taken before this (the previous page's last), with a zone."),
]
ReadingsLimit = Annotated[int, Query(ge=1, le=500, description="Readings, newest first.")]


# --- plans --------------------------------------------------------------------------------


@plans.get(
    "/api/maintenance/plans",
    response_model=contract.PlanPage,
    responses=errors(401, 422),
)
async def list_plans(query: PlanQuery, fwd: Fwd, meta: Caller) -> Response:
    """Your organization's maintenance plans, oldest first: filter by asset, assignee or
    status; `limit` at most 200, `after` = the previous page's `next_after`."""
    return await fwd.call(Rpc.MAINTENANCE_LIST_PLANS, query, meta)


@plans.post(
    "/api/maintenance/plans",
    status_code=201,
    response_model=contract.PlanView,
    responses=errors(401, 403, 404, 409, 422),
)
async def create_plan(body: contract.CreatePlan, fwd: Fwd, meta: KeyedCaller) -> Response:
    """A plan puts recurring work on an asset (admins): `trigger` is `calendar` (every N days,
    weeks, months or years at a local time, `fixed` or `floating`), `meter` (every N units of a
    counter) or `condition` (a gauge out of its limits). Each occurrence opens a work order with
    the plan's title, instructions, checklist, priority and assignee. An unknown or retired
    asset, an unknown meter or an assignee who cannot take work is a 422 naming the field."""
    return await fwd.call(Rpc.MAINTENANCE_CREATE_PLAN, body, meta)


@plans.get(
    "/api/maintenance/plans/{plan_id}",
    response_model=contract.PlanView,
    responses=errors(401, 404, 422),
)
async def get_plan(plan_id: PlanId, fwd: Fwd, meta: Caller) -> Response:
    """One plan with its next due time and its 20 newest occurrences (their work orders,
    whether they were on time)."""
    return await fwd.call(Rpc.MAINTENANCE_GET_PLAN, contract.GetPlan(plan_id=plan_id), meta)


@plans.patch(
    "/api/maintenance/plans/{plan_id}",
    response_model=contract.PlanView,
    responses=errors(401, 403, 404, 409, 422),
)
async def update_plan(
    plan_id: PlanId, body: contract.PlanChanges, fwd: Fwd, meta: Caller
) -> Response:
    """Change the fields present in the body (admins; `null` clears an optional one). A new
    trigger or asset starts the schedule again from now. With `expected_version`, a concurrent
    change gives 409. The admin who changes a plan becomes its author: its orders are requested
    in their name."""
    request = contract.UpdatePlan(plan_id=plan_id, changes=body)
    return await fwd.call(Rpc.MAINTENANCE_UPDATE_PLAN, request, meta)


@plans.post(
    "/api/maintenance/plans/{plan_id}/pause",
    response_model=contract.PlanView,
    responses=errors(401, 403, 404, 422),
)
async def pause_plan(plan_id: PlanId, body: contract.PlanPause, fwd: Fwd, meta: Caller) -> Response:
    """Pause a plan (admins), with an optional `reason`: it opens no orders until resumed.
    Pausing a paused plan changes nothing."""
    request = contract.PausePlan(plan_id=plan_id, reason=body.reason)
    return await fwd.call(Rpc.MAINTENANCE_PAUSE_PLAN, request, meta)


@plans.post(
    "/api/maintenance/plans/{plan_id}/resume",
    response_model=contract.PlanView,
    responses=errors(401, 403, 404, 422),
)
async def resume_plan(plan_id: PlanId, fwd: Fwd, meta: Caller) -> Response:
    """Resume a paused plan (admins): its schedule counts on from now (occurrences missed
    while paused are not opened). Resuming an active plan changes nothing."""
    request = contract.ResumePlan(plan_id=plan_id)
    return await fwd.call(Rpc.MAINTENANCE_RESUME_PLAN, request, meta)


# --- meters and readings ------------------------------------------------------------------


@meters.get("/api/meters", response_model=contract.MeterPage, responses=errors(401, 422))
async def list_meters(query: MeterQuery, fwd: Fwd, meta: Caller) -> Response:
    """Your organization's meters, oldest first (filter by asset; `limit` at most 500,
    `after` = the previous page's `next_after`)."""
    return await fwd.call(Rpc.MAINTENANCE_LIST_METERS, query, meta)


@meters.post(
    "/api/meters",
    status_code=201,
    response_model=contract.MeterView,
    responses=errors(401, 403, 404, 409, 422),
)
async def create_meter(body: contract.CreateMeter, fwd: Fwd, meta: KeyedCaller) -> Response:
    """A meter on an asset (admins): a `counter` that only goes up (operating hours, cycles)
    or a `gauge` (temperature, vibration) with optional `low_limit`, `high_limit` and
    `deadband`."""
    return await fwd.call(Rpc.MAINTENANCE_CREATE_METER, body, meta)


@meters.get(
    "/api/meters/{meter_id}",
    response_model=contract.MeterView,
    responses=errors(401, 404, 422),
)
async def get_meter(meter_id: MeterId, fwd: Fwd, meta: Caller) -> Response:
    """One meter with its newest reading and, for a gauge, whether it is out of limits."""
    return await fwd.call(Rpc.MAINTENANCE_GET_METER, contract.GetMeter(meter_id=meter_id), meta)


@meters.patch(
    "/api/meters/{meter_id}",
    response_model=contract.MeterView,
    responses=errors(401, 403, 404, 409, 422),
)
async def update_meter(
    meter_id: MeterId, body: contract.MeterChanges, fwd: Fwd, meta: Caller
) -> Response:
    """Rename a meter or change its unit, limits or deadband (admins; `null` clears a limit)."""
    request = contract.UpdateMeter(meter_id=meter_id, changes=body)
    return await fwd.call(Rpc.MAINTENANCE_UPDATE_METER, request, meta)


@meters.get(
    "/api/meters/{meter_id}/readings",
    response_model=contract.ReadingPage,
    responses=errors(401, 404, 422),
)
async def list_readings(
    meter_id: MeterId,
    fwd: Fwd,
    meta: Caller,
    before: ReadingsBefore = None,
    limit: ReadingsLimit = 100,
) -> Response:
    """A meter's readings, newest first, from people (`api`, `telegram`) and machines
    (`device`); page with `before` = the last one's `read_at`."""
    request = contract.ListReadings(meter_id=meter_id, before=before, limit=limit)
    return await fwd.call(Rpc.MAINTENANCE_LIST_READINGS, request, meta)


@meters.post(
    "/api/meters/{meter_id}/readings",
    status_code=201,
    response_model=contract.ReadingResult,
    responses=errors(401, 403, 404, 409, 422),
)
async def record_reading(
    meter_id: MeterId, body: contract.NewReading, fwd: Fwd, meta: KeyedCaller
) -> Response:
    """Record what a meter showed (technicians): the reading, the meter as it is now, the
    excursion a gauge's reading started and the occurrences it made due (their work orders
    open at once). Refused with a 422 and its reason as `type`: a counter going back
    (`counter_went_back`), a negative counter, a time in the future (`in_the_future`). A reading
    older than the meter's newest is kept in the history and starts nothing."""
    request = contract.RecordReading(meter_id=meter_id, value=body.value, read_at=body.read_at)
    return await fwd.call(Rpc.MAINTENANCE_RECORD_READING, request, meta)


# --- reading ahead ------------------------------------------------------------------------


@reports.get(
    "/api/maintenance/forecast",
    response_model=contract.Forecast,
    responses=errors(401, 422),
)
async def forecast(query: ForecastQuery, fwd: Fwd, meta: Caller) -> Response:
    """What the active plans will ask for in the next `days` (1-366; default the service's
    FORECAST_DAYS), a page at a time, soonest first (then by plan; undated meter items last):
    recorded occurrences still open, calendar due dates, and meter thresholds with the date the
    counter is expected there at its recent use. Filter by `equipment_id` or `assignee_id`;
    `limit` items per page (default 100, at most 500); the next page: `cursor` = this page's
    `next_cursor`, with the same `days` and filters (another forecast's cursor, or one that
    is not a cursor, is a 422)."""
    return await fwd.call(Rpc.MAINTENANCE_FORECAST, query, meta)


@reports.get(
    "/api/maintenance/overdue",
    response_model=contract.OverdueList,
    responses=errors(401, 422),
)
async def overdue(query: OverdueQuery, fwd: Fwd, meta: Caller) -> Response:
    """PM orders open past their due time, the most overdue first, with the hours and whether
    they are past their grace (due + 10 % of the interval) too."""
    return await fwd.call(Rpc.MAINTENANCE_OVERDUE, query, meta)


@reports.get(
    "/api/maintenance/kpis",
    response_model=contract.PmKpis,
    responses=errors(401, 422),
)
async def kpis(query: KpiQuery, fwd: Fwd, meta: Caller) -> Response:
    """PM compliance over the last `days` (1-366; on-time calendar PM orders / those due,
    with its formula), meter PMs completed and on time, PM orders open and overdue now."""
    return await fwd.call(Rpc.MAINTENANCE_KPIS, query, meta)
