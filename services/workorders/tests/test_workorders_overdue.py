"""``wo.overdue``: an open order whose due date passes is announced once per deadline, by the
``overdue`` job, whatever the number of passes; a moved deadline that passes is announced again;
an order closed in time never is."""

import asyncio
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import nats

from rivet_devstack.testing.env import TestEnv


def _iso(at: datetime) -> str:
    return at.isoformat()


async def test_an_order_is_announced_once_when_its_deadline_passes(
    wo: Any, test_env: TestEnv
) -> None:
    runtime = wo.services.runtimes["workorders"]
    assert runtime.runner is not None
    heard: list[dict[str, Any]] = []
    nc = await nats.connect(test_env.nats_url)

    async def collect(msg: Any) -> None:
        heard.append(json.loads(msg.data))

    await nc.subscribe(runtime.settings.subject("wo.overdue"), cb=collect)
    teams = [await wo.team(), await wo.team()]
    t0 = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
    try:
        with wo.frozen(t0):
            asset = await wo.asset(teams[0].admin)
            late = await wo.create(
                teams[0].admin, asset["id"], due_at=_iso(t0 + timedelta(hours=1))
            )
            soon = await wo.create(
                teams[0].admin,
                asset["id"],
                due_at=_iso(t0 + timedelta(hours=3)),
                assignee_id=teams[0].technician.user["id"],
            )
            closed = await wo.create(
                teams[0].admin, asset["id"], due_at=_iso(t0 + timedelta(hours=1))
            )
            await wo.move(teams[0].admin, closed["id"], "cancelled", reason="not needed")
            other_asset = await wo.asset(teams[1].admin)
            other = await wo.create(
                teams[1].admin, other_asset["id"], due_at=_iso(t0 + timedelta(hours=1))
            )
        mine = {late["id"], soon["id"], closed["id"], other["id"]}

        def announced() -> Counter[str]:
            return Counter(
                e["data"]["work_order_id"] for e in heard if e["data"]["work_order_id"] in mine
            )

        # before any deadline: nothing
        with wo.frozen(t0 + timedelta(minutes=59)):
            await runtime.runner.run_now("overdue")
        # past the first deadlines: two passes at once and one more, each order announced once
        with wo.frozen(t0 + timedelta(hours=2)):
            await asyncio.gather(*(runtime.runner.run_now("overdue") for _ in range(2)))
            await runtime.runner.run_now("overdue")
        await wo.until(lambda: len(announced()) >= 2, what="wo.overdue of two orders")
        await asyncio.sleep(0.5)  # a duplicate would have arrived by now
        assert announced() == Counter({late["id"]: 1, other["id"]: 1})
        event = next(e for e in heard if e["data"]["work_order_id"] == late["id"])
        assert event["org_id"] == teams[0].org_id
        assert event["data"]["number"] == late["number"]
        assert event["data"]["status"] == "open"
        assert event["data"]["due_at"].startswith(_iso(t0 + timedelta(hours=1))[:19])
        assert next(e for e in heard if e["data"]["work_order_id"] == other["id"])["org_id"] == (
            teams[1].org_id
        )

        # a new deadline for the late order: announced again when it passes, with the other
        with wo.frozen(t0 + timedelta(hours=2)):
            moved = await wo.patch(teams[0].admin, late["id"], due_at=_iso(t0 + timedelta(hours=5)))
            assert moved.status_code == 200, moved.text
        with wo.frozen(t0 + timedelta(hours=4)):
            await runtime.runner.run_now("overdue")
        await wo.until(lambda: soon["id"] in announced(), what="wo.overdue of the assigned one")
        with wo.frozen(t0 + timedelta(hours=6)):
            await runtime.runner.run_now("overdue")
            await runtime.runner.run_now("overdue")
        await wo.until(lambda: announced()[late["id"]] == 2, what="the moved deadline announced")
        await asyncio.sleep(0.5)
        assert announced() == Counter({late["id"]: 2, soon["id"]: 1, other["id"]: 1})
        assigned = next(e for e in heard if e["data"]["work_order_id"] == soon["id"])
        assert assigned["data"]["assignee_id"] == teams[0].technician.user["id"]
    finally:
        await nc.close()
