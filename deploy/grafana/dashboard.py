# ruff: noqa: E501  (PromQL queries read best on one line)
"""Rivet's Grafana dashboard, written as code: ``dashboards/rivet.json`` is generated from here.

    uv run python deploy/grafana/dashboard.py --write

RED per service and route (gateway HTTP) and per subject (requests over NATS), events,
outbox, dead letters, the OCR queue and stage times, JetStream consumers, the work-order
totals (all organizations together; nothing per organization, see ``WORK_ORDERS``) and planned
maintenance (the scheduler's jobs, orders opened, machines' readings).
``tests/deploy/test_deploy_prometheus.py`` checks that the committed JSON is
current and that every metric it reads is exposed by a service or recorded by a rule.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "dashboards" / "rivet.json"
DS = {"type": "prometheus", "uid": "${datasource}"}
OPS = "/health|/ready|/metrics"

# Work-order gauges of the work orders service: totals over all organizations, never per
# organization (``/metrics`` needs no token; each organization reads its own figures from
# ``/api/stats``). Every replica reports the same totals (from the rollups), hence ``max``.
# Title, PromQL, legend, unit.
WORK_ORDERS = [
    ("Open work orders by priority", "max by (priority) (rivet_wo_open)", "{{priority}}", "short"),
    ("Overdue work orders", "max(rivet_wo_overdue)", "overdue", "short"),
    ("Backlog (estimated hours)", "max(rivet_wo_backlog_hours)", "backlog", "h"),
]

# The maintenance scheduler's runtime jobs (docs/maintenance.md): ``schedule`` records due
# calendar occurrences, ``open-orders`` requests their work orders.
SCHEDULER_JOBS = 'service="maintenance", task=~"schedule|open-orders"'


class Board:
    def __init__(self) -> None:
        self.panels: list[dict[str, Any]] = []
        self.y = 0
        self.x = 0
        self.row_height = 0
        self.next_id = 1

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def row(self, title: str) -> None:
        self._newline()
        self.panels.append(
            {
                "type": "row",
                "id": self._id(),
                "title": title,
                "collapsed": False,
                "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y},
                "panels": [],
            }
        )
        self.y += 1

    def _newline(self) -> None:
        if self.x:
            self.y += self.row_height
            self.x = 0
            self.row_height = 0

    def panel(
        self,
        title: str,
        targets: list[tuple[str, str]],
        *,
        kind: str = "timeseries",
        unit: str = "short",
        width: int = 12,
        height: int = 8,
        description: str = "",
        stack: bool = False,
    ) -> None:
        if self.x + width > 24:
            self._newline()
        panel: dict[str, Any] = {
            "type": kind,
            "id": self._id(),
            "title": title,
            "description": description,
            "datasource": DS,
            "gridPos": {"h": height, "w": width, "x": self.x, "y": self.y},
            "targets": [
                {
                    "datasource": DS,
                    "expr": expr,
                    "legendFormat": legend,
                    "refId": chr(ord("A") + i),
                }
                for i, (expr, legend) in enumerate(targets)
            ],
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
            "options": {},
        }
        if kind == "timeseries":
            custom: dict[str, Any] = {"lineWidth": 1, "fillOpacity": 10, "showPoints": "never"}
            if stack:
                custom["stacking"] = {"mode": "normal", "group": "A"}
            panel["fieldConfig"]["defaults"]["custom"] = custom
            panel["options"] = {
                "legend": {"displayMode": "table", "placement": "bottom", "calcs": ["lastNotNull"]},
                "tooltip": {"mode": "multi", "sort": "desc"},
            }
        elif kind == "stat":
            panel["options"] = {"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "value"}
        self.panels.append(panel)
        self.x += width
        self.row_height = max(self.row_height, height)


def build() -> dict[str, Any]:
    b = Board()
    svc = 'service=~"$service"'
    http = f'route!~"{OPS}"'

    b.row("Overview")
    b.panel("API requests / s", [(f"sum(rate(rivet_http_request_duration_seconds_count{{{http}}}[5m]))", "")],
            kind="stat", unit="reqps", width=4, height=4)  # fmt: skip
    b.panel("API 5xx ratio (1h)", [("sum(rivet:http_requests:error_ratio_rate1h)", "")],
            kind="stat", unit="percentunit", width=4, height=4)  # fmt: skip
    b.panel("API p95 latency", [(
        f"histogram_quantile(0.95, sum by (le) (rate(rivet_http_request_duration_seconds_bucket{{{http}}}[5m])))",
        "")], kind="stat", unit="s", width=4, height=4)  # fmt: skip
    b.panel("Outbox backlog", [("sum(rivet_outbox_backlog)", "")],
            kind="stat", width=4, height=4)  # fmt: skip
    b.panel("Dead letters (24h)", [("sum(increase(rivet_dead_letters_total[24h]))", "")],
            kind="stat", width=4, height=4)  # fmt: skip
    b.panel("Processes connected to NATS", [("sum(rivet_nats_connected)", "")],
            kind="stat", width=4, height=4,
            description="Processes currently connected (compare with the replicas running).")  # fmt: skip

    b.row("HTTP (gateway): rate, errors, duration by route")
    b.panel("Requests / s by route", [(
        f'sum by (method, route) (rate(rivet_http_request_duration_seconds_count{{{svc}, {http}}}[5m]))',
        "{{method}} {{route}}")], unit="reqps", stack=True)  # fmt: skip
    b.panel("Errors / s by route and status (4xx, 5xx)", [(
        f'sum by (method, route, status) (rate(rivet_http_request_duration_seconds_count{{{svc}, {http}, status=~"4xx|5xx"}}[5m]))',
        "{{status}} {{method}} {{route}}")], unit="reqps")  # fmt: skip
    b.panel("p95 duration by route", [(
        f"histogram_quantile(0.95, sum by (method, route, le) (rate(rivet_http_request_duration_seconds_bucket{{{svc}, {http}}}[5m])))",
        "{{method}} {{route}}")], unit="s")  # fmt: skip
    b.panel("p99 duration by route", [(
        f"histogram_quantile(0.99, sum by (method, route, le) (rate(rivet_http_request_duration_seconds_bucket{{{svc}, {http}}}[5m])))",
        "{{method}} {{route}}")], unit="s")  # fmt: skip
    b.panel("Error budget burn (5xx, 1h / 6h)", [
        ("rivet:http_requests:error_ratio_rate1h / 0.005", "1h {{service}}"),
        ("rivet:http_requests:error_ratio_rate6h / 0.005", "6h {{service}}"),
    ], description="1 = spending the 30-day budget of the 99.5% SLO exactly; 14.4 pages.")  # fmt: skip
    b.panel("Latency budget burn (> 0.5 s, 1h / 6h)", [
        ("rivet:http_requests:slow_ratio_rate1h / 0.01", "1h {{service}}"),
        ("rivet:http_requests:slow_ratio_rate6h / 0.01", "6h {{service}}"),
    ])  # fmt: skip

    b.row("Requests over NATS: rate, errors, duration by service and subject")
    b.panel("Requests / s by subject", [(
        f"sum by (subject) (rate(rivet_rpc_duration_seconds_count{{{svc}}}[5m]))", "{{subject}}")],
        unit="reqps", stack=True)  # fmt: skip
    b.panel("Errors / s by subject and code", [(
        f'sum by (subject, outcome) (rate(rivet_rpc_duration_seconds_count{{{svc}, outcome!="ok"}}[5m]))',
        "{{outcome}} {{subject}}")], unit="reqps")  # fmt: skip
    b.panel("p95 duration by subject", [(
        f"histogram_quantile(0.95, sum by (subject, le) (rate(rivet_rpc_duration_seconds_bucket{{{svc}}}[5m])))",
        "{{subject}}")], unit="s")  # fmt: skip
    b.panel("Server-error ratio and slow ratio by service (5m)", [
        ("rivet:rpc_requests:error_ratio_rate5m", "errors {{service}}"),
        ("rivet:rpc_requests:slow_ratio_rate5m", "> 0.25 s {{service}}"),
    ], unit="percentunit")  # fmt: skip

    b.row("Events: consumed, failed, handling time; outbox; dead letters")
    b.panel("Events consumed / s by consumer and outcome", [(
        f"sum by (consumer, outcome) (rate(rivet_events_consumed_total{{{svc}}}[5m]))",
        "{{consumer}} {{outcome}}")], unit="ops")  # fmt: skip
    b.panel("Handler failures / s (each redelivery counts)", [(
        f"sum by (consumer) (rate(rivet_events_failed_total{{{svc}}}[5m]))", "{{consumer}}")],
        unit="ops")  # fmt: skip
    b.panel("p95 handling time by consumer", [(
        f"histogram_quantile(0.95, sum by (consumer, le) (rate(rivet_event_handling_duration_seconds_bucket{{{svc}}}[5m])))",
        "{{consumer}}")], unit="s")  # fmt: skip
    b.panel("Events published / s by subject", [(
        f"sum by (subject) (rate(rivet_events_published_total{{{svc}}}[5m]))", "{{subject}}")],
        unit="ops", stack=True)  # fmt: skip
    b.panel("Outbox backlog by service", [(
        f"max by (service) (rivet_outbox_backlog{{{svc}}})", "{{service}}")], width=8)  # fmt: skip
    b.panel("Oldest unpublished event (age)", [(
        f"max by (service) (rivet_outbox_oldest_age_seconds{{{svc}}})", "{{service}}")],
        unit="s", width=8)  # fmt: skip
    b.panel("Relay publish failures / s", [(
        f"sum by (service) (rate(rivet_outbox_publish_failures_total{{{svc}}}[5m]))", "{{service}}")],
        unit="ops", width=8)  # fmt: skip
    b.panel("Dead letters (per hour) by consumer", [(
        f"sum by (service, consumer) (increase(rivet_dead_letters_total{{{svc}}}[1h]))",
        "{{service}} / {{consumer}}")], kind="bargauge", width=12)  # fmt: skip
    b.panel("JetStream: messages pending by consumer", [(
        "sum by (consumer_name) (jetstream_consumer_num_pending)", "{{consumer_name}}")],
        width=12, description="From the NATS exporter (-jsz=all).")  # fmt: skip

    b.row("OCR: queue, scans, time per stage")
    b.panel("Queue depth (photos not yet taken by a worker)", [("max(rivet_ocr_queue_depth)", "queued")],
            width=8)  # fmt: skip
    b.panel("Scans / min by result", [(
        "sum by (status) (rate(rivet_ocr_scans_total[5m])) * 60", "{{status}}")], width=8,
        stack=True)  # fmt: skip
    b.panel("Time to clear the queue at the current rate", [(
        "rivet:ocr_queue:drain_seconds", "drain")], unit="s", width=8)  # fmt: skip
    b.panel("Stage time p50 / p95", [
        ("histogram_quantile(0.5, sum by (stage, le) (rate(rivet_ocr_stage_seconds_bucket[10m])))", "p50 {{stage}}"),
        ("histogram_quantile(0.95, sum by (stage, le) (rate(rivet_ocr_stage_seconds_bucket[10m])))", "p95 {{stage}}"),
    ], unit="s", width=24)  # fmt: skip

    b.row("Work orders (all organizations)")
    for title, expr, legend, unit in WORK_ORDERS:
        b.panel(title, [(expr, legend)], unit=unit, width=8, stack=legend == "{{priority}}",
                description="All organizations together; each organization's own figures are in /api/stats.")  # fmt: skip

    b.row("Maintenance: scheduler, PM orders, readings (all organizations)")
    b.panel("Scheduler: time since the last good pass", [(
        f"time() - max by (task) (rivet_job_last_success_timestamp_seconds{{{SCHEDULER_JOBS}}})",
        "{{task}}")], unit="s", width=8,
        description="RivetMaintenanceSchedulerBehind fires past two periods (+2 min).")  # fmt: skip
    b.panel("Scheduler: mean pass duration", [(
        f"sum by (task) (rate(rivet_job_duration_seconds_sum{{{SCHEDULER_JOBS}}}[5m])) / sum by (task) (rate(rivet_job_duration_seconds_count{{{SCHEDULER_JOBS}}}[5m]))",
        "{{task}}")], unit="s", width=8)  # fmt: skip
    b.panel("PM orders: being opened, open, overdue", [
        ("max(rivet_maintenance_opening)", "being opened"),
        ("max(rivet_maintenance_pm_open)", "open"),
        ("max(rivet_maintenance_pm_overdue)", "overdue"),
    ], width=8, description="All organizations together; each organization's own figures are in /api/maintenance/kpis.")  # fmt: skip
    b.panel("Occurrences and orders / min", [
        ("sum by (trigger, outcome) (rate(rivet_maintenance_occurrences_total[5m])) * 60", "recorded {{trigger}} {{outcome}}"),
        ("sum by (trigger) (rate(rivet_maintenance_orders_opened_total[5m])) * 60", "opened {{trigger}}"),
        ("sum by (code) (rate(rivet_maintenance_order_failures_total[5m])) * 60", "failed {{code}}"),
    ], width=8)  # fmt: skip
    b.panel("Readings / min by source and result", [(
        "sum by (source, result) (rate(rivet_maintenance_readings_total[5m])) * 60",
        "{{source}} {{result}}")], width=8, stack=True)  # fmt: skip
    b.panel("Readings refused / min by reason; machines' dead-lettered", [
        ("sum by (reason) (rate(rivet_maintenance_readings_refused_total[5m])) * 60", "{{reason}}"),
        ('sum(rate(rivet_events_consumed_total{consumer="maintenance-readings", outcome="dead_letter"}[5m])) * 60', "machines: dead-lettered"),
    ], width=8, description="RivetReadingsRefused fires when over 5% of the machines' readings are dead-lettered.")  # fmt: skip

    b.row("Integrations: organizations' event streams (all organizations)")
    b.panel("Exported events / min by stream and result", [(
        "sum by (stream, result) (rate(rivet_integrations_events_total[5m])) * 60",
        "{{stream}} {{result}}")], width=8, stack=True,
        description="exported: stored in the organization's stream; duplicate: dropped as a second copy; internal, no_organization: never leave.")  # fmt: skip
    b.panel("Export lag and pending events by stream", [
        ("max by (stream) (rivet_integrations_export_lag_seconds)", "lag {{stream}}"),
    ], unit="s", width=8, description="RivetExportBehind fires past 5 minutes for 10 minutes.")  # fmt: skip
    b.panel("Export failures / min; streams created", [
        ("sum by (stream) (rate(rivet_integrations_export_failures_total[5m])) * 60", "failed {{stream}}"),
        ("sum(increase(rivet_integrations_org_streams_created_total[1h]))", "streams created (1h)"),
        ("max by (stream) (rivet_integrations_export_pending)", "pending {{stream}}"),
    ], width=8)  # fmt: skip

    return {
        "uid": "rivet-overview",
        "title": "Rivet",
        "description": "Rivet services: RED, events, outbox, dead letters, OCR, work orders, maintenance, integrations.",
        "tags": ["rivet"],
        "timezone": "browser",
        "editable": True,
        "graphTooltip": 1,
        "refresh": "30s",
        "schemaVersion": 39,
        "version": 1,
        "time": {"from": "now-6h", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Data source",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {"text": "Prometheus", "value": "prometheus"},
                    "hide": 0,
                },
                _variable("service", "label_values(rivet_nats_connected, service)"),
            ]
        },
        "annotations": {"list": []},
        "links": [],
        "panels": b.panels,
    }


def _variable(name: str, query: str) -> dict[str, Any]:
    return {
        "name": name,
        "label": name.capitalize(),
        "type": "query",
        "datasource": DS,
        "query": {"query": query, "refId": name},
        "definition": query,
        "refresh": 2,
        "includeAll": True,
        "allValue": ".*",
        "multi": True,
        "current": {"text": ["All"], "value": ["$__all"]},
        "sort": 1,
        "hide": 0,
    }


def render() -> str:
    return json.dumps(build(), indent=2, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help=f"write {OUT.name}")
    args = parser.parse_args(argv)
    if args.write:
        OUT.parent.mkdir(parents=True, exist_ok=True)
        OUT.write_text(render())
        return 0
    sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
