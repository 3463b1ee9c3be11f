"""The scheduler with a controlled clock: occurrences recorded as they fall due (month ends,
DST), their orders opened with the plan's request, completions moving floating plans and not
fixed ones, overlap, catching up, and one order per occurrence whatever races or fails: two
replicas, a lease that ends while a request is on its way, the work-order service away, a due
date gone stale meanwhile."""

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from maintenance_support import Org, Stack, start_stack, stop_stack, until

from rivet_contracts import ErrorCode, Events, Role
from rivet_contracts import maintenance as m
from rivet_contracts.auth import OrganizationUpdated, UserRoleChanged
from rivet_contracts.workorders import ChecklistItem, WorkOrderStatus, WorkType
from rivet_maintenance.scheduler import recording


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def calendar(**more: Any) -> m.CalendarTrigger:
    values: dict[str, Any] = {"kind": "calendar", "every": 1, "unit": "months"}
    return m.CalendarTrigger.model_validate(values | more)


async def plan_of(stack: Stack, org: Org, trigger: m.CalendarTrigger, **more: Any) -> m.PlanView:
    body: dict[str, Any] = {
        "equipment_id": str(stack.peers.asset(org)),
        "title": "Inspect pump",
        "trigger": trigger,
    }
    plan: m.PlanView = await stack.call(
        m.CREATE_PLAN, m.CreatePlan.model_validate(body | more), org.identity()
    )
    return plan


async def fresh(stack: Stack, org: Org, plan: m.PlanView) -> m.PlanView:
    found: m.PlanView = await stack.call(m.GET_PLAN, m.GetPlan(plan_id=plan.id), org.identity())
    return found


async def opened(stack: Stack, org: Org, plan: m.PlanView, count: int = 1) -> m.PlanView:
    """Wait until ``count`` occurrences of the plan have their orders open (or done)."""

    async def check() -> bool:
        found = await fresh(stack, org, plan)
        assert found.occurrences is not None
        return sum(o.work_order_id is not None for o in found.occurrences) >= count

    await until(check, what="the occurrence's order to open")
    return await fresh(stack, org, plan)


async def berlin(stack: Stack, org: Org) -> None:
    update = OrganizationUpdated(
        org_id=org.id,
        name="Plant",
        time_zone="Europe/Berlin",
        working_hours_per_week=40,
        changed_by=org.admin_id,
    )
    envelope = await stack.publish(Events.ORGANIZATION_UPDATED, update, org.id)
    await stack.applied(envelope, "maintenance-organization-updated")


async def test_a_due_occurrence_opens_its_order_with_the_plans_request(
    stack: Stack, org: Org
) -> None:
    await berlin(stack, org)
    stack.state.clock.freeze(utc(2026, 1, 20))
    checklist = [ChecklistItem(text="Check the seal", required=True)]
    plan = await plan_of(
        stack,
        org,
        calendar(every=3, first_due=date(2026, 1, 31), lead_hours=72),
        checklist=checklist,
        assignee_id=org.technician_id,
        estimated_hours=2,
        instructions="Use the seal kit.",
    )
    assert plan.next_due_at == utc(2026, 1, 31, 5)  # 06:00 CET
    # before the opening time: nothing
    stack.state.clock.freeze(utc(2026, 1, 28, 4, 59))
    await stack.run("schedule")
    assert stack.peers.creates_of(plan.id) == []
    stack.state.clock.freeze(utc(2026, 1, 28, 5))
    await stack.run("schedule")
    done = await opened(stack, org, plan)
    (create,) = stack.peers.creates_of(plan.id)
    request = create.request
    key = f"{plan.id}/due/2026-01-31T05:00:00Z"
    assert request.idempotency_key == key
    assert (request.plan_id, request.equipment_id) == (plan.id, str(plan.equipment_id))
    assert (request.title, request.description) == ("Inspect pump", "Use the seal kit.")
    assert (request.work_type, request.due_at) == (WorkType.PREVENTIVE, utc(2026, 1, 31, 5))
    assert (request.assignee_id, request.estimated_hours) == (org.technician_id, 2)
    assert request.checklist == checklist
    # requested by the plan's author, from the maintenance channel
    assert (create.identity.user_id, create.identity.org_id) == (org.admin_id, org.id)
    assert create.channel == "maintenance"
    assert done.occurrences is not None
    (occurrence,) = done.occurrences
    assert (occurrence.key, occurrence.status) == (key, m.OccurrenceStatus.OPEN)
    assert occurrence.deadline_at == utc(2026, 1, 31, 5) + timedelta(days=9.2)  # 92 days / 10
    (order,) = stack.peers.orders_of(plan.id)
    assert (occurrence.work_order_id, occurrence.work_order_number) == (order.id, order.number)
    # the month end is kept: 30 April (CEST), then 31 July
    assert done.next_due_at == utc(2026, 4, 30, 4)
    assert done.next_opens_at == utc(2026, 4, 27, 4)
    await until(lambda: bool(stack.bus.of(Events.PM_DUE, plan_id=str(plan.id))), what="pm.due")
    (due,) = stack.bus.of(Events.PM_DUE, plan_id=str(plan.id))
    assert due["data"]["work_order_number"] == order.number
    assert due["data"]["key"] == key
    # a second pass at the same moment does nothing
    await stack.run("schedule")
    await stack.run("open-orders")
    assert len(stack.peers.creates_of(plan.id)) == 1


async def test_weekly_at_06_00_local_across_the_dst_change(stack: Stack, org: Org) -> None:
    await berlin(stack, org)
    stack.state.clock.freeze(utc(2026, 3, 20))
    plan = await plan_of(
        stack, org, calendar(every=1, unit="weeks", first_due=date(2026, 3, 23)), allow_overlap=True
    )
    for at in (utc(2026, 3, 23, 5), utc(2026, 3, 30, 4), utc(2026, 4, 6, 4)):
        stack.state.clock.freeze(at)
        await stack.run("schedule")
    done = await opened(stack, org, plan, 3)
    assert done.occurrences is not None
    assert sorted(o.due_at for o in done.occurrences if o.due_at) == [
        utc(2026, 3, 23, 5),
        utc(2026, 3, 30, 4),
        utc(2026, 4, 6, 4),
    ]


async def test_a_late_completion_moves_a_floating_plan_and_not_a_fixed_one(
    stack: Stack, org: Org
) -> None:
    stack.state.clock.freeze(utc(2026, 1, 20))
    fixed = await plan_of(stack, org, calendar(first_due=date(2026, 2, 1)))
    floating = await plan_of(stack, org, calendar(first_due=date(2026, 2, 1), mode="floating"))
    stack.state.clock.freeze(utc(2026, 2, 1, 6))
    await stack.run("schedule")
    for plan in (fixed, floating):
        await opened(stack, org, plan)
    assert (await fresh(stack, org, fixed)).next_due_at == utc(2026, 3, 1, 6)
    assert (await fresh(stack, org, floating)).next_due_at is None  # until it is done
    late = utc(2026, 2, 10, 15)
    for plan in (fixed, floating):
        (order,) = stack.peers.orders_of(plan.id)
        envelope = await stack.order_status(order, WorkOrderStatus.COMPLETED, late)
        await stack.applied(envelope, "maintenance-orders")
    assert (await fresh(stack, org, fixed)).next_due_at == utc(2026, 3, 1, 6)
    moved = await fresh(stack, org, floating)
    assert moved.next_due_at == utc(2026, 3, 10, 6)  # a month after the completion's date
    assert moved.last_completed_at == late
    assert moved.occurrences is not None
    (done,) = moved.occurrences
    # due 1 February, grace 3.1 days (January has 31): 10 February is late
    assert (done.status, done.completed_at, done.on_time) == (
        m.OccurrenceStatus.COMPLETED,
        late,
        False,
    )
    await until(
        lambda: bool(stack.bus.of(Events.PM_COMPLETED, plan_id=str(floating.id))),
        what="pm.completed",
    )
    (event,) = stack.bus.of(Events.PM_COMPLETED, plan_id=str(floating.id))
    assert (event["data"]["on_time"], event["data"]["next_due_at"]) == (
        False,
        "2026-03-10T06:00:00Z",
    )
    # the same event again (a redelivery under another id) changes nothing more
    (order,) = stack.peers.orders_of(floating.id)
    again = await stack.order_status(order, WorkOrderStatus.COMPLETED, late + timedelta(days=1))
    await stack.applied(again, "maintenance-orders")
    assert (await fresh(stack, org, floating)).next_due_at == utc(2026, 3, 10, 6)
    assert len(stack.bus.of(Events.PM_COMPLETED, plan_id=str(floating.id))) == 1


async def test_a_cancelled_floating_order_counts_on_from_the_cancellation(
    stack: Stack, org: Org
) -> None:
    stack.state.clock.freeze(utc(2026, 1, 20))
    plan = await plan_of(stack, org, calendar(first_due=date(2026, 2, 1), mode="floating"))
    stack.state.clock.freeze(utc(2026, 2, 1, 6))
    await stack.run("schedule")
    await opened(stack, org, plan)
    (order,) = stack.peers.orders_of(plan.id)
    envelope = await stack.order_status(order, WorkOrderStatus.CANCELLED, utc(2026, 2, 3, 8))
    await stack.applied(envelope, "maintenance-orders")
    found = await fresh(stack, org, plan)
    assert found.next_due_at == utc(2026, 3, 3, 6)
    assert found.occurrences is not None
    assert found.occurrences[0].status is m.OccurrenceStatus.CANCELLED


async def test_an_open_order_is_not_piled_up_unless_the_plan_allows_it(
    stack: Stack, org: Org
) -> None:
    stack.state.clock.freeze(utc(2026, 5, 1))
    weekly = calendar(every=1, unit="weeks", first_due=date(2026, 5, 4))
    single = await plan_of(stack, org, weekly)
    overlapping = await plan_of(stack, org, weekly, allow_overlap=True)
    for at in (utc(2026, 5, 4, 6), utc(2026, 5, 11, 6)):
        stack.state.clock.freeze(at)
        await stack.run("schedule")
    await opened(stack, org, overlapping, 2)
    found = await opened(stack, org, single, 1)
    assert found.occurrences is not None
    statuses = sorted(o.status.value for o in found.occurrences)
    assert statuses == ["open", "skipped"]
    assert len(stack.peers.orders_of(single.id)) == 1
    assert found.next_due_at == utc(2026, 5, 18, 6)  # the series goes on


async def test_after_a_long_stop_the_latest_due_occurrence_is_opened(
    stack: Stack, org: Org
) -> None:
    stack.state.clock.freeze(utc(2026, 5, 1))
    plan = await plan_of(stack, org, calendar(every=1, unit="days", first_due=date(2026, 5, 2)))
    stack.state.clock.freeze(utc(2026, 5, 6, 7))  # away since before the first was due
    await stack.run("schedule")
    done = await opened(stack, org, plan)
    assert done.occurrences is not None
    assert [o.due_at for o in done.occurrences] == [utc(2026, 5, 6, 6)]
    assert done.next_due_at == utc(2026, 5, 7, 6)


@pytest.mark.parametrize("batch", [None, 2], ids=["one-batch", "batches-of-2"])
async def test_two_replicas_racing_open_one_order_per_occurrence(
    stack: Stack, org: Org, batch: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both replicas' passes take plans a batch at a time (rows locked and skipped by the
    other), each batch recorded in a few statements; every plan is recorded once."""
    if batch is not None:
        monkeypatch.setattr(recording, "BATCH", batch)
    at = utc(2026, 6, 1, 6)
    stack.state.clock.freeze(utc(2026, 5, 20))
    trigger = calendar(every=1, unit="days", first_due=date(2026, 6, 1))
    plans = [await plan_of(stack, org, trigger) for _ in range(7)]
    replica = await start_stack(stack.settings, replica_of=stack)
    try:
        for clock in (stack.state.clock, replica.state.clock):
            clock.freeze(at)
        await asyncio.gather(
            stack.run("schedule"),
            replica.run("schedule"),
            stack.run("schedule"),
            replica.run("schedule"),
        )
        await asyncio.gather(stack.run("open-orders"), replica.run("open-orders"))
        for plan in plans:
            await opened(stack, org, plan)
    finally:
        await stop_stack(replica)
    for plan in plans:
        assert len(stack.peers.orders_of(plan.id)) == 1
        assert len(stack.peers.creates_of(plan.id)) == 1
        found = await fresh(stack, org, plan)
        assert found.occurrences is not None
        assert len(found.occurrences) == 1
        assert found.next_due_at == at + timedelta(days=1)
    await until(
        lambda: all(stack.bus.of(Events.PM_DUE, plan_id=str(p.id)) for p in plans), what="pm.due"
    )
    assert all(len(stack.bus.of(Events.PM_DUE, plan_id=str(p.id))) == 1 for p in plans)


async def test_a_lease_ending_while_the_request_is_on_its_way_opens_one_order(
    stack: Stack, org: Org
) -> None:
    """A replica whose lease is shorter than the work-order service's answer: the other
    replica sends the same request again, the work-order service answers it with the order the
    first created, and both store the same order; pm.due is emitted once."""
    at = utc(2026, 7, 1, 6)
    stack.state.clock.freeze(utc(2026, 6, 20))
    plan = await plan_of(stack, org, calendar(first_due=date(2026, 7, 1)))
    hasty = stack.settings.model_copy(update={"open_lease": 0.2, "rpc_timeout": 5.0})
    replica = await start_stack(hasty, replica_of=stack)
    try:
        stack.state.clock.freeze(at)
        replica.state.clock.freeze(at)
        stack.peers.late = 1.5  # longer than the lease, and than the other's RPC_TIMEOUT
        await replica.run("schedule")  # records it and wakes both replicas' openers
        await opened(stack, org, plan)
        await asyncio.sleep(2.0)  # the slow answer reaches its replica too
    finally:
        await stop_stack(replica)
    assert len(stack.peers.orders_of(plan.id)) == 1
    assert len(stack.peers.creates_of(plan.id)) >= 2
    await until(lambda: bool(stack.bus.of(Events.PM_DUE, plan_id=str(plan.id))), what="pm.due")
    await asyncio.sleep(0.5)
    assert len(stack.bus.of(Events.PM_DUE, plan_id=str(plan.id))) == 1


async def test_the_work_order_service_away_then_back(stack: Stack, org: Org) -> None:
    at = utc(2026, 8, 1, 6)
    stack.state.clock.freeze(utc(2026, 7, 20))
    plan = await plan_of(stack, org, calendar(first_due=date(2026, 8, 1)))
    stack.state.clock.freeze(at)
    stack.peers.fail = ErrorCode.UNAVAILABLE
    await stack.run("schedule")

    async def failed() -> bool:
        found = await fresh(stack, org, plan)
        return bool(found.occurrences and found.occurrences[0].last_error)

    await until(failed, what="a failed request")
    found = await fresh(stack, org, plan)
    assert found.occurrences is not None
    (waiting,) = found.occurrences
    assert waiting.status is m.OccurrenceStatus.OPENING
    assert waiting.last_error is not None
    assert waiting.last_error.startswith("unavailable")
    # silent (a request that may have arrived): timeouts, then an answer
    stack.peers.fail, stack.peers.silent = None, True
    await asyncio.sleep(1.5)
    stack.peers.silent = False
    done = await opened(stack, org, plan)
    assert done.occurrences is not None
    assert done.occurrences[0].status is m.OccurrenceStatus.OPEN
    assert len(stack.peers.orders_of(plan.id)) == 1
    assert len(stack.peers.creates_of(plan.id)) >= 2


async def test_a_due_date_gone_past_while_waiting_is_left_to_the_priority(
    stack: Stack, org: Org
) -> None:
    at = utc(2026, 9, 1, 6)
    stack.state.clock.freeze(utc(2026, 8, 20))
    plan = await plan_of(stack, org, calendar(first_due=date(2026, 9, 1)))
    stack.state.clock.freeze(at)
    stack.peers.fail = ErrorCode.UNAVAILABLE
    await stack.run("schedule")
    await until(lambda: bool(stack.peers.creates_of(plan.id)), what="a first request")
    stack.state.clock.freeze(at + timedelta(hours=2))
    stack.peers.fail = None
    done = await opened(stack, org, plan)
    (order,) = stack.peers.orders_of(plan.id)
    assert order.due_at == at + timedelta(hours=2, days=7)  # the fake's default for medium
    assert done.occurrences is not None
    assert done.occurrences[0].due_at == at  # the occurrence keeps its own


async def test_orders_are_requested_in_the_name_of_the_last_admin_to_write_the_plan(
    stack: Stack, org: Org
) -> None:
    stack.state.clock.freeze(utc(2026, 9, 20))
    plan = await plan_of(stack, org, calendar(first_due=date(2026, 10, 1)))
    other_admin = org.identity(Role.ADMIN).model_copy(update={"user_id": UUID(int=7)})
    await stack.call(m.PAUSE_PLAN, m.PausePlan(plan_id=plan.id), org.identity())
    resumed = await stack.call(m.RESUME_PLAN, m.ResumePlan(plan_id=plan.id), other_admin)
    assert resumed.author_id == UUID(int=7)
    stack.state.clock.freeze(utc(2026, 10, 1, 6))
    await stack.run("schedule")
    await opened(stack, org, plan)
    (create,) = stack.peers.creates_of(plan.id)
    assert create.identity.user_id == UUID(int=7)


async def test_an_author_who_is_no_longer_an_admin_requests_nothing(stack: Stack, org: Org) -> None:
    stack.state.clock.freeze(utc(2026, 10, 20))
    plan = await plan_of(stack, org, calendar(first_due=date(2026, 11, 1)))
    demoted = UserRoleChanged(
        user_id=org.admin_id,
        org_id=org.id,
        role=Role.TECHNICIAN,
        previous_role=Role.ADMIN,
        changed_by=UUID(int=9),
    )
    envelope = await stack.publish(Events.USER_ROLE_CHANGED, demoted, org.id)
    await stack.applied(envelope, "maintenance-authors-role")
    assert (await fresh(stack, org, plan)).author_id is None
    stack.state.clock.freeze(utc(2026, 11, 1, 6))
    await stack.run("schedule")

    async def waiting() -> bool:
        found = await fresh(stack, org, plan)
        errors = [o.last_error or "" for o in found.occurrences or []]
        return any(e.startswith("no_author") for e in errors)

    await until(waiting, what="the order to wait for an author")
    assert stack.peers.creates_of(plan.id) == []
    # another admin takes the plan over: its order opens in their name
    other_admin = org.identity(Role.ADMIN).model_copy(update={"user_id": UUID(int=9)})
    take_over = m.UpdatePlan(plan_id=plan.id, changes=m.PlanChanges())
    await stack.call(m.UPDATE_PLAN, take_over, other_admin)
    await opened(stack, org, plan)
    (create,) = stack.peers.creates_of(plan.id)
    assert create.identity.user_id == UUID(int=9)
