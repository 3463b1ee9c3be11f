"""forecast cycles: where in its cycle each calendar plan is, so a page reads only its plans

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 21:55:00

A forecast page far into its window needs the plans with an occurrence on the page's days,
not every plan whose next occurrence comes before them. Each calendar plan keeps (written with
its schedule state, ``plans.repository.store_schedule``):

- ``forecast_on``: the local date of its first occurrence in the forecast (its next; a
  floating plan whose latest order is open: one interval after that order's due date);
- ``forecast_cycle``: its interval, in days (days and weeks, > 0) or months (months and
  years, < 0);
- ``forecast_phase``: the day (days since 2000-01-01) or month (months since year 0) of its
  series modulo the cycle: a plan has an occurrence on a local date whose day or month has
  that remainder (and, monthly, whose day of the month is ``forecast_dom``);
- ``forecast_dom``: the day of the month of its series (0 for days and weeks);
- ``forecast_at``: its local time of day.

``plans_forecast_cycle_idx`` on ``(org_id, forecast_cycle, forecast_phase, forecast_dom,
forecast_at, id)``, with ``forecast_on``, of the active calendar plans reads a day's plans in
the order of the page from the index alone;
``plans_forecast_assignee_idx`` the same for one assignee's. They replace
``plans_calendar_next_idx`` and ``plans_calendar_assignee_idx``. Existing plans get their
values here, in their organization's zone.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "maintenance"
CALENDAR = "status = 'active' AND trigger_kind = 'calendar'"
KEYS = "forecast_cycle, forecast_phase, forecast_dom, forecast_at, id"

# as plans.repository.FORECAST_KEYS at the time of writing (a migration keeps its own copy)
_ZONE = (
    "coalesce((SELECT z.time_zone FROM maintenance.organizations z WHERE z.org_id = p.org_id), "
    "'UTC')"
)
_STEP = (
    "CASE p.trigger->>'unit' WHEN 'days' THEN make_interval(days => (p.trigger->>'every')::int) "
    "WHEN 'weeks' THEN make_interval(weeks => (p.trigger->>'every')::int) "
    "WHEN 'months' THEN make_interval(months => (p.trigger->>'every')::int) "
    "ELSE make_interval(years => (p.trigger->>'every')::int) END"
)
_ON = (
    f"CASE WHEN p.trigger_kind <> 'calendar' THEN NULL "  # noqa: S608 (constants)
    f"WHEN p.next_due_at IS NOT NULL THEN (timezone({_ZONE}, p.next_due_at))::date "
    f"ELSE (SELECT CASE WHEN p.trigger->>'mode' = 'floating' "
    f"THEN ((timezone({_ZONE}, o.due_at))::date + {_STEP})::date "
    f"ELSE (timezone({_ZONE}, o.due_at))::date + 1 END "
    "FROM maintenance.occurrences o WHERE o.plan_id = p.id AND o.due_at IS NOT NULL "
    "ORDER BY o.created_at DESC LIMIT 1) END"
)
_CYCLE = (
    "CASE f.unit WHEN 'days' THEN f.every WHEN 'weeks' THEN 7 * f.every "
    "WHEN 'months' THEN -f.every ELSE -12 * f.every END"
)
_PHASE = (
    "CASE WHEN f.unit IN ('days', 'weeks') THEN "
    "(((f.base - date '2000-01-01') % f.span) + f.span) % f.span "
    "ELSE ((((extract(year FROM f.base)::int * 12 + extract(month FROM f.base)::int - 1) "
    "% f.span) + f.span) % f.span) END"
)
_DOM = "CASE WHEN f.unit IN ('days', 'weeks') THEN 0 ELSE extract(day FROM f.base)::int END"


def _refresh() -> str:
    return (
        "UPDATE maintenance.plans p SET forecast_on = f.forecast_on, "  # noqa: S608 (constants)
        f"forecast_cycle = {_CYCLE}, forecast_phase = {_PHASE}, forecast_dom = {_DOM}, "
        "forecast_at = f.at "
        "FROM (SELECT f0.*, abs(CASE f0.unit WHEN 'days' THEN f0.every WHEN 'weeks' "
        "THEN 7 * f0.every WHEN 'months' THEN f0.every ELSE 12 * f0.every END) AS span, "
        "CASE WHEN f0.mode = 'floating' THEN f0.forecast_on ELSE f0.anchor END AS base "
        "FROM (SELECT p.id, p.trigger->>'unit' AS unit, (p.trigger->>'every')::int AS every, "
        "p.trigger->>'mode' AS mode, (p.trigger->>'anchor')::date AS anchor, "
        f"(p.trigger->>'at')::time AS at, {_ON} AS forecast_on "
        "FROM maintenance.plans p WHERE p.trigger_kind = 'calendar') f0) f "
        "WHERE p.id = f.id AND f.forecast_on IS NOT NULL"
    )


def upgrade() -> None:
    op.execute(
        "ALTER TABLE maintenance.plans ADD COLUMN forecast_on date, "
        "ADD COLUMN forecast_cycle integer, ADD COLUMN forecast_phase integer, "
        "ADD COLUMN forecast_dom integer, ADD COLUMN forecast_at time without time zone"
    )
    for column, comment in (
        ("forecast_on", "local date of its first occurrence in the forecast"),
        ("forecast_cycle", "interval: days (> 0) or months (< 0)"),
        ("forecast_phase", "day or month of its series modulo the cycle"),
        ("forecast_dom", "day of the month of its series (0: days and weeks)"),
        ("forecast_at", "its local time of day"),
    ):
        op.execute(f"COMMENT ON COLUMN maintenance.plans.{column} IS '{comment}'")
    op.execute(_refresh())
    op.drop_index("plans_calendar_next_idx", table_name="plans", schema=SCHEMA)
    op.drop_index("plans_calendar_assignee_idx", table_name="plans", schema=SCHEMA)
    op.execute(
        f"CREATE INDEX plans_forecast_cycle_idx ON maintenance.plans (org_id, {KEYS}) "
        f"INCLUDE (forecast_on) WHERE {CALENDAR} AND forecast_cycle IS NOT NULL"
    )
    op.execute(
        "CREATE INDEX plans_forecast_assignee_idx ON maintenance.plans "
        f"(org_id, assignee_id, {KEYS}) INCLUDE (forecast_on) "
        f"WHERE {CALENDAR} AND forecast_cycle IS NOT NULL AND assignee_id IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_index("plans_forecast_assignee_idx", table_name="plans", schema=SCHEMA)
    op.drop_index("plans_forecast_cycle_idx", table_name="plans", schema=SCHEMA)
    op.execute(
        "CREATE INDEX plans_calendar_next_idx ON maintenance.plans (org_id, next_due_at, id) "
        f"WHERE {CALENDAR}"
    )
    op.execute(
        "CREATE INDEX plans_calendar_assignee_idx ON maintenance.plans "
        f"(org_id, assignee_id, next_due_at, id) WHERE {CALENDAR} AND assignee_id IS NOT NULL"
    )
    op.execute(
        "ALTER TABLE maintenance.plans DROP COLUMN forecast_at, DROP COLUMN forecast_dom, "
        "DROP COLUMN forecast_phase, DROP COLUMN forecast_cycle, DROP COLUMN forecast_on"
    )
