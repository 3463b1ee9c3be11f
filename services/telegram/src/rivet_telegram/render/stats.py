"""``/stats``: the dashboard overview, planned maintenance and the caller's own work."""

from rivet_contracts.auth import TelegramIdentity
from rivet_contracts.maintenance import PmKpis
from rivet_contracts.workorders import Overview, Priority, Summary, WorkOrderStatus

from .common import PRIORITY, STATUS, esc, fit, when, words


def _counts(pairs: list[tuple[str, int]]) -> str:
    return " · ".join(f"{label} {count}" for label, count in pairs if count) or "none"


PM_UNAVAILABLE = "🗓 Planned maintenance: not available right now."


def planned(kpis: PmKpis | None) -> str:
    """PM compliance over the period, PM orders overdue and open now (from the maintenance
    service; a line saying so when it did not answer)."""
    if kpis is None:
        return PM_UNAVAILABLE
    rate = kpis.compliance
    pending = f", {rate.pending} pending" if rate.pending else ""
    if rate.percent is None:
        compliance = f"compliance —, none fell due{pending}"
    else:
        compliance = (
            f"compliance <b>{round(rate.percent)}%</b> ({rate.on_time} of {rate.due} on time"
            f"{pending})"
        )
    overdue = f"⚠️ <b>{kpis.overdue} overdue</b>" if kpis.overdue else "0 overdue"
    return (
        f"🗓 <b>Planned maintenance</b> ({kpis.days} days): {compliance} · "
        f"{kpis.open} PM orders open · {overdue}"
    )


def overview(me: TelegramIdentity, data: Overview, mine: Summary, pm: PmKpis | None = None) -> str:
    orders, equipment = data.work_orders, data.equipment
    by_priority = [
        (PRIORITY[p], orders.by_priority.get(p, 0))
        for p in (Priority.CRITICAL, Priority.HIGH, Priority.MEDIUM, Priority.LOW)
    ]
    by_status = [(STATUS[s], orders.by_status.get(s, 0)) for s in WorkOrderStatus]
    overdue = f" · ⚠️ <b>{orders.overdue} overdue</b>" if orders.overdue else " · 0 overdue"
    lines = [
        f"📊 <b>{esc(me.user.organization_name, 100)}</b> · {when(data.as_of)}",
        "",
        f"🏭 Equipment: <b>{equipment.total}</b> "
        f"({esc(_counts([(words(k), v) for k, v in sorted(equipment.by_status.items())]))})",
        f"🛠 Work orders: <b>{orders.total}</b> · {orders.open} open{overdue}",
        f"Open by priority: {_counts(by_priority)}",
        f"By status: {_counts(by_status)}",
    ]
    if data.top_manufacturers:
        top = ", ".join(f"{item.name} {item.count}" for item in data.top_manufacturers[:5])
        lines.append(f"Top makes: {esc(top, 300)}")
    if data.top_fault_codes:
        codes = ", ".join(f"{item.name} {item.count}" for item in data.top_fault_codes[:5])
        lines.append(f"Top fault codes: {esc(codes, 300)}")
    lines.append(planned(pm))
    late = f" ({mine.assigned_overdue} overdue)" if mine.assigned_overdue else ""
    lines += [
        "",
        f"👤 <b>You</b>: {mine.assigned_open.count} open assigned to you{late} · "
        f"{mine.requested_open.count} reported by you still open · "
        f"{mine.completed_recently.count} completed in 30 days",
    ]
    return fit("\n".join(lines))
