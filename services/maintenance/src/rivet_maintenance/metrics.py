"""Maintenance-specific metrics: occurrences recorded, orders opened, readings, and the PM load.

The scheduler's passes are runtime jobs, so their duration and last success are the runtime's
``rivet_job_duration_seconds`` and ``rivet_job_last_success_timestamp_seconds`` with
``task="schedule"`` (recording calendar occurrences) and ``task="open-orders"`` (requesting
their work orders). ``/metrics`` needs no token, so nothing here names or separates
organizations: the gauges are the whole system's; each organization reads its own figures
through ``rpc.maintenance.kpis``. Labels come from fixed vocabularies only.
"""

from prometheus_client import Counter, Gauge

OCCURRENCES = Counter(
    "rivet_maintenance_occurrences_total",
    "Occurrences recorded, by trigger and outcome (opening: its order is requested; skipped: "
    "the plan's previous order was still open).",
    ["trigger", "outcome"],
)
ORDERS_OPENED = Counter(
    "rivet_maintenance_orders_opened_total",
    "Work orders opened for occurrences, by trigger.",
    ["trigger"],
)
ORDER_FAILURES = Counter(
    "rivet_maintenance_order_failures_total",
    "Work-order requests for occurrences that failed (retried), by error code.",
    ["code"],
)
READINGS = Counter(
    "rivet_maintenance_readings_total",
    "Meter readings by source (api, telegram, device: one a message, device_batch: in batch "
    "messages) and result (recorded, refused).",
    ["source", "result"],
)
REFUSED = Counter(
    "rivet_maintenance_readings_refused_total",
    "Readings refused, by reason (unknown_meter, counter_went_back, in_the_future, ...).",
    ["reason"],
)
OPENING = Gauge(
    "rivet_maintenance_opening",
    "Occurrences recorded whose work order is not open yet (all organizations).",
)
OPEN = Gauge("rivet_maintenance_pm_open", "Plans' work orders open now (all organizations).")
OVERDUE = Gauge(
    "rivet_maintenance_pm_overdue",
    "Plans' work orders open past their due time (all organizations).",
)
