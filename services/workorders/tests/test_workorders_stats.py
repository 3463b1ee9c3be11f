"""Stats and KPIs on a dataset built through the API with the service clock set to known
times; every expected value is worked out by hand below (docs/workorders.md has the formulas).

The dataset (all times UTC, 2026; "now" is 10 March 12:00):

    asset  manufacturer  criticality  status
    A1     Baldor        high         in service
    A2     Baldor        medium       in service
    A3     Siemens       low          in service
    A4     WEG           medium       retired

    order asset type        prio      reported    started     completed       downtime / estimate
    O7    A1    corrective  medium    Jan 20 8:00 Jan 20 10h  Jan 21 8:00     Jan 20 8-18h (10 h)
    O8    A2    corrective  high      Feb 20 8:00 Feb 20 8:30 Feb 20 10:00    Feb 20 8-10h (2 h)
                reopened Feb 25 8:00, started 9:00, completed again 11:00
    O1    A1    corrective  critical  Mar 1 8:00  Mar 1 9:00  Mar 1 13:00     Mar 1 7-13h (6 h)
    O3    A2    preventive  medium    Mar 2 8:00  Mar 2 11:00 Mar 2 12:00     est. 3h
    O6    A3    corrective  low       Mar 3 8:00  cancelled Mar 3 9:00
    O2    A1    corrective  high      Mar 5 10:00 Mar 5 12:00 Mar 6 10:00     Mar 5 10-12h (2 h)
                on hold Mar 5 14:00, resumed Mar 6 9:00
    O4    A2    inspection  low       Mar 8 8:00  open, due Apr 7 8:00        est. 1.5h
    O5    A3    corrective  medium    Mar 9 8:00  open, due Mar 9 20:00       down from 8:00, est 2h
    O9    A2    preventive  medium    Mar 10 9:00 open, due Mar 10 11:00      no estimate

Fault codes: O1 E1 E2, O2 E1, O5 E3, O6 E1 (cancelled), O8 E2. The technician reported
O1 O2 O4 O5 O9 and is assigned O1 O2 O5 O7 O9.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def t(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def iso(at: datetime) -> str:
    return at.isoformat()


def decayed(points: float, age_days: float) -> float:
    """Points halved for every 30 days of age."""
    return points * 0.5 ** (age_days / 30)


async def test_stats_on_a_hand_computed_dataset(wo: Any) -> None:
    team = await wo.team()
    tech, admin, me = team.technician, team.admin, team.technician.user["id"]
    a1 = await wo.asset(admin, manufacturer="Baldor", criticality="high")
    a2 = await wo.asset(admin, manufacturer="Baldor")
    a3 = await wo.asset(admin, manufacturer="Siemens", criticality="low")
    a4 = await wo.asset(admin, manufacturer="WEG")
    retired = await wo.api.post(
        f"/api/equipment/{a4['id']}/retire", json={"reason": "Scrapped"}, headers=admin.headers
    )
    assert retired.status_code == 200, retired.text

    async def step(at: datetime, who: Any, ref: str, **changes: Any) -> None:
        wo.clock.freeze(at)
        answer = await wo.patch(who, ref, **changes)
        assert answer.status_code == 200, answer.text

    async def new(at: datetime, who: Any, asset: dict[str, Any], **fields: Any) -> str:
        wo.clock.freeze(at)
        return str((await wo.create(who, asset["id"], **fields))["id"])

    o7 = await new(t(1, 20, 8), tech, a1, assignee_id=me, downtime_start=iso(t(1, 20, 8)))
    await step(t(1, 20, 10), tech, o7, status="in_progress")
    await step(t(1, 21, 8), tech, o7, status="completed", downtime_end=iso(t(1, 20, 18)))

    o8 = await new(t(2, 20, 8), admin, a2, priority="high", fault_codes=["E2"])
    await step(t(2, 20, 8, 30), tech, o8, status="in_progress", downtime_start=iso(t(2, 20, 8)))
    await step(t(2, 20, 10), tech, o8, status="completed")  # closes the downtime: 2 h
    await step(t(2, 25, 8), tech, o8, status="open", reason="the leak came back")
    await step(t(2, 25, 9), tech, o8, status="in_progress")
    await step(t(2, 25, 11), tech, o8, status="completed")

    o1 = await new(
        t(3, 1, 8), tech, a1, priority="critical", fault_codes=["E1", "E2"], assignee_id=me,
        downtime_start=iso(t(3, 1, 7)),
    )  # fmt: skip
    await step(t(3, 1, 9), tech, o1, status="in_progress")
    await step(t(3, 1, 13), tech, o1, status="completed")

    o3 = await new(t(3, 2, 8), admin, a2, work_type="preventive", estimated_hours=3)
    await step(t(3, 2, 11), tech, o3, status="in_progress")
    await step(t(3, 2, 12), tech, o3, status="completed")

    o6 = await new(t(3, 3, 8), admin, a3, priority="low", fault_codes=["E1"])
    await step(t(3, 3, 9), admin, o6, status="cancelled", reason="reported twice")

    o2 = await new(t(3, 5, 10), tech, a1, priority="high", fault_codes=["E1"], assignee_id=me)
    await step(t(3, 5, 12), tech, o2, status="in_progress")
    await step(t(3, 5, 14), tech, o2, status="on_hold", reason="waiting for a seal kit")
    await step(t(3, 6, 9), tech, o2, status="in_progress")
    await step(
        t(3, 6, 10), tech, o2, status="completed",
        downtime_start=iso(t(3, 5, 10)), downtime_end=iso(t(3, 5, 12)),
    )  # fmt: skip

    o4 = await new(
        t(3, 8, 8), tech, a2, work_type="inspection", priority="low", estimated_hours=1.5
    )
    o5 = await new(
        t(3, 9, 8), tech, a3, fault_codes=["E3"], estimated_hours=2, due_at=iso(t(3, 9, 20)),
        assignee_id=me, downtime_start=iso(t(3, 9, 8)),
    )  # fmt: skip
    o9 = await new(
        t(3, 10, 9), tech, a2, work_type="preventive", due_at=iso(t(3, 10, 11)), assignee_id=me
    )
    wo.clock.freeze(NOW)

    # --- overview -------------------------------------------------------------------------
    equipment = {"total": 4, "by_status": {"in_service": 3, "retired": 1}}
    orders = {
        "total": 9,
        "open": 3,  # O4 O5 O9
        "overdue": 2,  # O5 (due yesterday, from the due-day rollup) + O9 (due today 11:00)
        "by_status": {"open": 3, "in_progress": 0, "on_hold": 0, "completed": 5, "cancelled": 1},
        "by_priority": {"low": 1, "medium": 2, "high": 0, "critical": 0},  # open ones
    }
    overview = await _eventually(
        wo, admin, "/api/stats/overview",
        lambda o: o["equipment"] == equipment and o["work_orders"] == orders,
    )  # fmt: skip
    assert overview["top_manufacturers"] == [
        {"name": "Baldor", "count": 2},
        {"name": "Siemens", "count": 1},
        {"name": "WEG", "count": 1},
    ]
    assert overview["top_fault_codes"] == [  # O6 is cancelled: its E1 does not count
        {"name": "E1", "count": 2},
        {"name": "E2", "count": 2},
        {"name": "E3", "count": 1},
    ]

    # --- trends: 20 days, 19 Feb to 10 Mar ---------------------------------------------------
    trends = await wo.get(admin, "/api/stats/work-order-trends", days=20)
    assert (trends["since"], trends["until"]) == ("2026-02-19", "2026-03-10")
    rows = {r["day"]: (r["created"], r["completed"], r["cancelled"], r["reopened"], r["backlog"])
            for r in trends["items"]}  # fmt: skip
    expected = dict.fromkeys([r["day"] for r in trends["items"]], (0, 0, 0, 0, 0))
    expected |= {
        "2026-02-20": (1, 1, 0, 0, 0),  # O8 reported and completed
        "2026-02-25": (0, 1, 0, 1, 0),  # O8 reopened and completed again
        "2026-03-01": (1, 1, 0, 0, 0),  # O1
        "2026-03-02": (1, 1, 0, 0, 0),  # O3
        "2026-03-03": (1, 0, 1, 0, 0),  # O6 cancelled
        "2026-03-05": (1, 0, 0, 0, 1),  # O2 open overnight
        "2026-03-06": (0, 1, 0, 0, 0),
        "2026-03-07": (0, 0, 0, 0, 0),
        "2026-03-08": (1, 0, 0, 0, 1),  # O4
        "2026-03-09": (1, 0, 0, 0, 2),  # O5
        "2026-03-10": (1, 0, 0, 0, 3),  # O9: backlog O4 O5 O9
    }
    assert len(rows) == 20
    assert rows == expected

    # --- KPIs over 30 days: 9 Feb 00:00 to now = 29 x 24 + 12 = 708 h ------------------------
    kpis = await wo.get(admin, "/api/stats/kpis", days=30)
    assert kpis["since"] == "2026-02-09T00:00:00Z"
    # MTTR: corrective orders completed in the window with downtime: O1 6 h, O2 2 h, O8 2 h.
    assert kpis["mttr"]["value"] == pytest.approx(10 / 3)
    assert kpis["mttr"]["inputs"] == {"repaired_orders": 3, "downtime_hours": 10}
    # MTBF: (3 assets in service x 708 h - 10 h down) / 4 failures (O8 O1 O2 O5) = 528.5 h.
    assert kpis["mtbf"]["value"] == pytest.approx(528.5)
    assert kpis["mtbf"]["inputs"] == {
        "assets_in_service": 3, "window_hours": 708, "downtime_hours": 10, "failures": 4,
    }  # fmt: skip
    # MTTA: O8 0.5 h, O1 1 h, O3 3 h, O2 2 h (O4 O5 O9 not started, O6 cancelled) = 1.625 h.
    assert kpis["mtta"]["value"] == pytest.approx(1.625)
    # Backlog: O4 1.5 h + O5 2 h (+ O9 without estimate) = 3.5 h.
    assert kpis["backlog_hours"]["value"] == pytest.approx(3.5)
    assert kpis["backlog_hours"]["inputs"] == {"open_orders": 3, "open_orders_without_estimate": 1}
    # Planned share: O3 O4 O9 planned, O8 O1 O2 O5 corrective = 3/7.
    assert kpis["planned_share"]["value"] == pytest.approx(300 / 7)
    for kpi in ("mttr", "mtbf", "mtta", "backlog_hours", "planned_share"):
        assert kpis[kpi]["formula"]

    # Over 7 days (4 Mar 00:00 to now, 156 h): only O2 repaired (2 h), failures O2 O5,
    # downtime O2 2 h, acknowledged O2 after 2 h, planned O4 O9 vs corrective O2 O5.
    week = await wo.get(admin, "/api/stats/kpis", days=7)
    assert week["mttr"]["value"] == pytest.approx(2)
    assert week["mtbf"]["value"] == pytest.approx((3 * 156 - 2) / 2)
    assert week["mtta"]["value"] == pytest.approx(2)
    assert week["planned_share"]["value"] == pytest.approx(50)

    # --- the technician's own summary --------------------------------------------------------
    summary = await wo.get(tech, "/api/stats/summary")
    assert summary["assigned_open"]["count"] == 2
    assert [o["id"] for o in summary["assigned_open"]["items"]] == [o5, o9]  # soonest due first
    assert summary["assigned_overdue"] == 2
    assert summary["requested_open"]["count"] == 3
    assert [o["id"] for o in summary["requested_open"]["items"]] == [o9, o5, o4]
    assert summary["completed_recently"]["count"] == 2  # O7 was completed 48 days ago
    assert [o["id"] for o in summary["completed_recently"]["items"]] == [o2, o1]
    admin_summary = await wo.get(admin, "/api/stats/summary")
    assert admin_summary["requested_open"]["count"] == 0  # O3 O6 O8 are closed

    # --- equipment health at now ---------------------------------------------------------------
    for ref in (o7, o4, o5):  # one event per asset while the clock reads "now"
        comment = await wo.api.post(
            f"/api/work-orders/{ref}/comments", json={"body": "audit"}, headers=tech.headers
        )
        assert comment.status_code == 201

    def scored_now(report: dict[str, Any]) -> bool:
        fresh = {i["number"] for i in report["items"] if i["scored_at"] == "2026-03-10T12:00:00Z"}
        return {a1["number"], a2["number"], a3["number"]} <= fresh

    report = await _eventually(wo, admin, "/api/stats/equipment-health", scored_now)
    items = {i["number"]: i for i in report["items"]}
    assert [i["number"] for i in report["items"]] == [
        a1["number"],
        a2["number"],
        a3["number"],
        a4["number"],
    ]
    # A1 (high: x1.25): O7 5 pts 49 d 4 h old, O1 20 pts 9 d 4 h, O2 10 pts 5 d 2 h; downtime
    # O7 10 h at 49 d 4 h, O1 6 h at 9 d 5 h, O2 2 h at 5 d 2 h; nothing open.
    corrective = decayed(5, 49 + 4 / 24) + decayed(20, 9 + 4 / 24) + decayed(10, 5 + 2 / 24)
    downtime = decayed(10, 49 + 4 / 24) + decayed(6, 9 + 5 / 24) + decayed(2, 5 + 2 / 24)
    assert items[a1["number"]]["corrective_points"] == pytest.approx(corrective, abs=1e-3)
    assert items[a1["number"]]["downtime_points"] == pytest.approx(downtime, abs=1e-3)
    assert 100 - 1.25 * (corrective + downtime) == pytest.approx(54.35, abs=0.01)
    assert items[a1["number"]]["score"] == 54
    # A2 (medium): O8 10 pts and 2 h downtime, 18 d 4 h old; open O4 and O9, O9 overdue.
    assert 100 - (decayed(12, 18 + 4 / 24) + 3 * 2 + 7 * 1) == pytest.approx(79.11, abs=0.01)
    assert (items[a2["number"]]["score"], items[a2["number"]]["open_orders"]) == (79, 2)
    assert items[a2["number"]]["overdue_orders"] == 1
    # A3 (low: x0.75): O5 5 pts 1 d 4 h old, open and overdue; O6 cancelled counts nothing.
    assert 100 - 0.75 * (decayed(5, 1 + 4 / 24) + 3 + 7) == pytest.approx(88.85, abs=0.01)
    assert items[a3["number"]]["score"] == 89
    assert items[a4["number"]]["score"] == 100  # retired, never worked on
    assert report["summary"] == {
        "assets": 4, "average_score": 80.5, "good": 2, "fair": 2, "poor": 0,
    }  # fmt: skip
    assert items[a1["number"]]["explanation"].endswith("= 54")
    one = await wo.get(admin, "/api/stats/equipment-health", equipment_id=a3["number"])
    assert [i["score"] for i in one["items"]] == [89]

    # Time passes with no event: O4 falls due on 7 Apr; the health-refresh job notices
    # (next_due_at).
    later = NOW + timedelta(days=30)
    wo.clock.freeze(later)
    runner = wo.services.runtimes["workorders"].runner
    assert runner is not None
    await runner.run_now("health-refresh")  # the background job's pass, now
    rescored = await _eventually(
        wo, admin, "/api/stats/equipment-health",
        lambda r: r["items"][0]["scored_at"] == "2026-04-09T12:00:00Z", equipment_id=a2["id"],
    )  # fmt: skip
    assert rescored["items"][0]["overdue_orders"] == 2  # O4 and O9
    assert rescored["items"][0]["score"] == 100 - round(decayed(12, 48 + 4 / 24) + 3 * 2 + 7 * 2)


async def _eventually(wo: Any, who: Any, path: str, ready: Any, **params: Any) -> Any:
    """The answer of ``path`` once ``ready(answer)`` (the rollups trail the writes)."""
    latest: dict[str, Any] = {}

    async def check() -> bool:
        latest["value"] = await wo.get(who, path, **params)
        return bool(ready(latest["value"]))

    try:
        await wo.until(check, what=path)
    except AssertionError:
        raise AssertionError(
            f"{path} never became ready; last answer: {latest.get('value')}"
        ) from None
    return latest["value"]
