"""The pure rules: the state machine, assignment rights, rollup contributions, health score."""

from datetime import UTC, datetime, timedelta
from itertools import product
from uuid import uuid4

import pytest

from rivet_contracts import ErrorCode, Events, Role, ServiceError
from rivet_contracts.assets import Criticality
from rivet_contracts.workorders import (
    Priority,
    WorkOrderSnapshot,
    WorkOrderStatus,
    WorkOrderStatusChanged,
    WorkType,
)
from rivet_workorders.orders import lifecycle
from rivet_workorders.rollups import health
from rivet_workorders.rollups.facts import Deltas, Facts

S = WorkOrderStatus
# The lifecycle of issue 4, written out independently of the code's table.
ALLOWED = {
    (S.OPEN, S.IN_PROGRESS),
    (S.OPEN, S.CANCELLED),
    (S.IN_PROGRESS, S.ON_HOLD),
    (S.IN_PROGRESS, S.COMPLETED),
    (S.IN_PROGRESS, S.CANCELLED),
    (S.ON_HOLD, S.IN_PROGRESS),
    (S.ON_HOLD, S.COMPLETED),
    (S.ON_HOLD, S.CANCELLED),
    (S.COMPLETED, S.OPEN),
    (S.CANCELLED, S.OPEN),
}
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("current", "target"), list(product(S, S)))
def test_every_transition_is_allowed_or_refused_with_the_allowed_ones(
    current: S, target: S
) -> None:
    if (current, target) in ALLOWED:
        lifecycle.check_transition(current, target, "because it must")
        return
    with pytest.raises(ServiceError) as refused:
        lifecycle.check_transition(current, target, "because it must")
    assert refused.value.code is ErrorCode.INVALID_TRANSITION
    details = refused.value.info.details
    assert isinstance(details, dict)
    assert set(details["allowed"]) == {t.value for c, t in ALLOWED if c is current}


@pytest.mark.parametrize(
    ("current", "target"),
    [(S.OPEN, S.CANCELLED), (S.ON_HOLD, S.CANCELLED), (S.COMPLETED, S.OPEN), (S.CANCELLED, S.OPEN)],
)
def test_cancel_and_reopen_need_a_reason(current: S, target: S) -> None:
    with pytest.raises(ServiceError) as missing:
        lifecycle.check_transition(current, target, None)
    assert missing.value.code is ErrorCode.VALIDATION
    assert "reason" in missing.value.info.message
    lifecycle.check_transition(current, target, "customer withdrew the request")


def test_other_transitions_need_no_reason() -> None:
    for current, target in ALLOWED - {(c, t) for c, t in ALLOWED if lifecycle.needs_reason(c, t)}:
        lifecycle.check_transition(current, target, None)


def test_stamps_keep_the_first_acknowledgement_and_close_downtime_on_completion() -> None:
    first = NOW - timedelta(hours=5)
    row = {
        "acknowledged_at": first,
        "downtime_start": NOW - timedelta(hours=2),
        "downtime_end": None,
    }
    again = lifecycle.transition_stamps(S.ON_HOLD, S.IN_PROGRESS, NOW, row)
    assert "acknowledged_at" not in again
    assert again["started_at"] == NOW
    done = lifecycle.transition_stamps(S.IN_PROGRESS, S.COMPLETED, NOW, row)
    assert done["completed_at"] == NOW
    assert done["downtime_end"] == NOW
    reopened = lifecycle.transition_stamps(S.COMPLETED, S.OPEN, NOW, row)
    assert reopened["completed_at"] is None
    assert reopened["reopened_at"] == NOW


def test_due_date_defaults_by_priority() -> None:
    assert lifecycle.default_due(Priority.CRITICAL, NOW) == NOW + timedelta(hours=4)
    assert lifecycle.default_due(Priority.HIGH, NOW) == NOW + timedelta(days=1)
    assert lifecycle.default_due(Priority.MEDIUM, NOW) == NOW + timedelta(days=7)
    assert lifecycle.default_due(Priority.LOW, NOW) == NOW + timedelta(days=30)


def test_technicians_assign_only_themselves() -> None:
    me, other, third = uuid4(), uuid4(), uuid4()
    lifecycle.check_assignment(Role.TECHNICIAN, me, None, me)  # take it
    lifecycle.check_assignment(Role.TECHNICIAN, me, me, None)  # give it back
    for current, new in [(None, other), (other, me), (other, None), (me, other), (other, third)]:
        with pytest.raises(ServiceError) as refused:
            lifecycle.check_assignment(Role.TECHNICIAN, me, current, new)
        assert refused.value.code is ErrorCode.FORBIDDEN
    lifecycle.check_assignment(Role.ADMIN, me, other, third)
    with pytest.raises(ServiceError):
        lifecycle.check_planning(Role.TECHNICIAN, {"priority", "note"})
    lifecycle.check_planning(Role.TECHNICIAN, {"labour_hours", "note", "status"})


def _snapshot(**changes: object) -> WorkOrderSnapshot:
    values: dict[str, object] = {
        "work_order_id": uuid4(),
        "number": "WO-2026-000001",
        "title": "Pump leaks",
        "status": S.COMPLETED,
        "priority": Priority.CRITICAL,
        "work_type": WorkType.CORRECTIVE,
        "equipment_id": uuid4(),
        "equipment_number": "EQ-2026-000001",
        "fault_codes": ["E1", "E2"],
        "due_at": NOW + timedelta(hours=4),
        "created_at": NOW - timedelta(days=1),
        "acknowledged_at": NOW - timedelta(hours=23),
        "completed_at": NOW,
        "estimated_hours": 1.5,
        "downtime_start": NOW - timedelta(hours=3),
        "downtime_end": NOW,
        "version": 3,
    }
    return WorkOrderSnapshot.model_validate(values | changes)


def test_contributions_are_what_the_facts_say_and_cancel_out() -> None:
    org = uuid4()
    facts = Facts.of(org, _snapshot())
    deltas = Deltas()
    deltas.add(facts, +1)
    assert dict(deltas.counts) == {("completed", "critical"): [1, 90, 0]}
    assert dict(deltas.due) == {}  # completed: not in the backlog
    created = deltas.daily[(NOW - timedelta(days=1)).date()]
    assert (created["reactive"], created["acknowledged"], created["ack_seconds"]) == (1, 1, 3600)
    today = deltas.daily[NOW.date()]
    assert (today["repaired"], today["repair_seconds"], today["downtime_seconds"]) == (
        1,
        10800,
        10800,
    )
    assert dict(deltas.faults) == {"E1": 1, "E2": 1}
    corrective, downtime = deltas.decay[facts.equipment_id]
    assert corrective * health.decay_factor(NOW) == pytest.approx(20 * 0.5 ** (1 / 30))
    assert downtime * health.decay_factor(NOW) == pytest.approx(3 * 0.5 ** (3 / 24 / 30))

    deltas.add(facts, -1)
    assert all(v == [0, 0, 0] for v in deltas.counts.values())
    assert all(not any(c.values()) for c in deltas.daily.values())
    assert not any(deltas.faults.values())
    assert all(abs(x) < 1e-6 * corrective for v in deltas.decay.values() for x in v)


def test_cancelled_orders_count_only_in_the_status_counts() -> None:
    deltas = Deltas()
    deltas.add(Facts.of(uuid4(), _snapshot(status=S.CANCELLED, completed_at=None)), +1)
    assert dict(deltas.counts) == {("cancelled", "critical"): [1, 90, 0]}
    assert not deltas.faults
    assert all(not any(c.values()) for c in deltas.daily.values())


def test_flows_count_what_happened_on_which_day() -> None:
    snap = _snapshot()
    base = snap.model_dump()
    deltas = Deltas()
    deltas.flow(Events.WO_CREATED, snap)
    reopen = WorkOrderStatusChanged(
        **base, from_status=S.COMPLETED, to_status=S.OPEN, actor_id=None, changed_at=NOW
    )
    deltas.flow(Events.WO_STATUS_CHANGED, reopen)
    done = WorkOrderStatusChanged(
        **base, from_status=S.ON_HOLD, to_status=S.COMPLETED, actor_id=None, changed_at=NOW
    )
    deltas.flow(Events.WO_STATUS_CHANGED, done)
    deltas.flow(Events.WO_COMMENTED, snap)
    assert deltas.daily[(NOW - timedelta(days=1)).date()] == {"created": 1}
    assert deltas.daily[NOW.date()] == {"reopened": 1, "completed": 1}


def test_health_score_worked_example() -> None:
    """docs/workorders.md: high-criticality asset, a critical corrective order reported 30 days
    ago, 4 h of downtime 60 days ago, one open order that is overdue."""
    decay_corrective = 20 * health.growth(NOW - timedelta(days=30))
    decay_downtime = 4 * health.growth(NOW - timedelta(days=60))
    result = health.score(Criticality.HIGH, decay_corrective, decay_downtime, 1, 1, NOW)
    # 1.25 x (20/2 + 4/4 + 3 x 1 + 7 x 1) = 26.25 -> 100 - 26.25 = 73.75 -> 74
    assert result.corrective_points == pytest.approx(10)
    assert result.downtime_points == pytest.approx(1)
    assert result.score == 74
    assert result.band == "fair"
    assert result.explain().endswith("= 74")
    nothing = health.score(Criticality.CRITICAL, 0, 0, 0, 0, NOW)
    assert nothing.score == 100
    floor = health.score(Criticality.CRITICAL, 1e30, 0, 20, 20, NOW)
    assert floor.score == 0
