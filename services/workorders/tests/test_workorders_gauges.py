"""Operational gauges (Prometheus) follow the rollups: totals over all organizations, with no
organization in them; each organization reads its own figures from the stats API."""

from typing import Any

from prometheus_client import REGISTRY, generate_latest
from sqlalchemy import text

from rivet_contracts.workorders import Priority

OPEN = "status IN ('open', 'in_progress', 'on_hold')"
TRUTH = text(
    f"SELECT priority, count(*) AS orders, coalesce(sum(estimated_minutes), 0) AS minutes "
    f"FROM work_orders WHERE {OPEN} GROUP BY priority"
)
OVERDUE = text(f"SELECT count(*) FROM work_orders WHERE {OPEN} AND due_at < :now")


def _samples() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for metric in REGISTRY.collect()
        if metric.name.startswith("rivet_wo_")
        for s in metric.samples
    }


async def test_gauges_are_totals_over_all_organizations(wo: Any) -> None:
    """Open orders by priority, overdue orders and backlog hours of the whole system equal the
    orders' own figures once the rollups have counted them (refreshed by a background task;
    refreshed here directly). No series carries an organization."""
    runtime = wo.services.runtimes["workorders"]
    teams = [await wo.team(), await wo.team()]
    for team, hours in zip(teams, (2.5, 1.5), strict=True):
        asset = await wo.asset(team.admin)
        await wo.create(team.admin, asset["id"], estimated_hours=hours, priority="high")
        await wo.create(team.admin, asset["id"], estimated_hours=1.0, priority="low")

    async def truth() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        async with runtime.db.transaction() as conn:
            rows = {r["priority"]: r for r in (await conn.execute(TRUTH)).mappings()}
            overdue = await conn.scalar(OVERDUE, {"now": wo.clock.now()})
        want: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {
            ("rivet_wo_open", (("priority", p.value),)): float(
                rows[p.value]["orders"] if p.value in rows else 0
            )
            for p in Priority
        }
        want[("rivet_wo_backlog_hours", ())] = sum(r["minutes"] for r in rows.values()) / 60
        want[("rivet_wo_overdue", ())] = float(overdue)
        return want

    async def caught_up() -> bool:
        assert runtime.runner is not None
        await runtime.runner.run_now("gauges")
        return _samples() == await truth()

    await wo.until(caught_up, what="the gauges to follow the rollups")
    assert _samples()[("rivet_wo_open", (("priority", "high"),))] >= 2
    exposed = generate_latest(REGISTRY).decode()
    for team, backlog in zip(teams, (3.5, 2.5), strict=True):
        assert team.org_id not in exposed
        # ... and each organization reads its own figures from the API
        overview = await wo.get(team.viewer, "/api/stats/overview")
        assert overview["work_orders"]["open"] == 2
        assert overview["work_orders"]["overdue"] == 0
        kpis = await wo.get(team.viewer, "/api/stats/kpis", days=30)
        assert kpis["backlog_hours"]["value"] == backlog
        assert kpis["mttr"]["value"] is None  # nothing repaired yet
