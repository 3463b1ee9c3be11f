"""Prometheus rules and the Grafana dashboard: promtool checks the rules and runs their unit
tests; every metric they read is one a service exposes, a rule records, or an exporter gives;
the dashboard JSON is what deploy/grafana/dashboard.py generates."""

import json
import re
import subprocess
from collections.abc import Callable
from types import ModuleType

import pytest
import yaml
from deploy_support import ROOT
from prometheus_client import Counter, Gauge, Histogram

from rivet_runtime import metrics as runtime_metrics

PROM = ROOT / "deploy" / "prometheus"
RULES = sorted((PROM / "rules").glob("*.yml"))
TESTS = sorted((PROM / "tests").glob("*.yml"))
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "rivet.json"

# Metrics that come from outside Rivet's services.
EXTERNAL = {"up", "jetstream_consumer_num_pending"}
# Metrics the dashboard and alerts expect from services that do not expose them yet.
EXPECTED_FROM_SERVICES: set[str] = set()
NO_PROMTOOL = (
    "promtool not found: the Prometheus rules and their unit tests were NOT checked. "
    "Install it (Debian: `apt-get install prometheus`) or put a promtool binary on PATH."
)


def promtool(tool: Callable[[str], str | None]) -> str:
    found = tool("promtool")
    if found is None:
        pytest.skip(NO_PROMTOOL)
    return found


def exposed_metrics() -> set[str]:
    """Names services expose: the runtime's metrics and each service's own metrics module."""
    modules = [runtime_metrics]
    services = ROOT / "services"
    paths = [*services.glob("*/src/*/metrics.py"), *services.glob("*/src/*/*/jobs.py")]
    for path in sorted(paths):
        src = next(p for p in path.parents if p.name == "src")
        module_name = ".".join(path.relative_to(src).with_suffix("").parts)
        try:
            modules.append(__import__(module_name, fromlist=["_"]))
        except ImportError:
            continue
    names: set[str] = set()
    for module in modules:
        for value in vars(module).values():
            if isinstance(value, Histogram):
                base = value._name
                names |= {base + "_bucket", base + "_count", base + "_sum"}
            elif isinstance(value, Counter):
                names.add(value._name + "_total")
            elif isinstance(value, Gauge):
                names.add(value._name)
    return names


def recorded() -> set[str]:
    names = set()
    for path in RULES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            names |= {r["record"] for r in group["rules"] if "record" in r}
    return names


def referenced(text: str) -> set[str]:
    """Metric names in PromQL text (recording-rule names contain colons)."""
    names = set(re.findall(r"\b(rivet[a-z0-9_:]*|jetstream_[a-z_]+|up)(?=\s*[{\[)\s/*+-]|$)", text))
    return {n for n in names if n not in {"rivet"}}


def test_promtool_check_rules(tool: Callable[[str], str | None]) -> None:
    checked = subprocess.run(
        [promtool(tool), "check", "rules", *map(str, RULES)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_promtool_rule_unit_tests(tool: Callable[[str], str | None]) -> None:
    assert TESTS, "deploy/prometheus/tests/*.yml"
    checked = subprocess.run(
        [promtool(tool), "test", "rules", *map(str, TESTS)],
        capture_output=True,
        text=True,
        cwd=PROM / "tests",
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize("config", ["prometheus.yml", "kubernetes-scrape.yml"])
def test_promtool_check_config(tool: Callable[[str], str | None], config: str) -> None:
    checked = subprocess.run(
        [promtool(tool), "check", "config", str(PROM / config)], capture_output=True, text=True
    )
    output = checked.stdout + checked.stderr
    if "kubernetes_sd_configs not found" in output:
        pytest.skip("this promtool is built without Kubernetes discovery (Debian's build)")
    assert checked.returncode == 0, output


def test_every_metric_read_exists() -> None:
    known = exposed_metrics() | recorded() | EXTERNAL | EXPECTED_FROM_SERVICES
    texts = [
        rule["expr"]
        for path in RULES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    ]
    dashboard = json.loads(DASHBOARD.read_text())
    texts += [
        t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", []) if "expr" in t
    ]
    used: set[str] = set()
    for text in texts:
        used |= referenced(text)
    unknown = used - known
    assert not unknown, f"rules or dashboard read metrics nothing exposes: {sorted(unknown)}"
    # the alerts cover what the issue asks for
    alerts = "\n".join(p.read_text() for p in RULES)
    for metric in (
        "rivet:http_requests:error_ratio",
        "rivet:rpc_requests:slow_ratio",
        "rivet_outbox_oldest_age_seconds",
        "rivet_outbox_backlog",
        "rivet:dead_letters:new15m",
        "rivet_nats_connected",
        "jetstream_consumer_num_pending",
        "rivet:ocr_queue:depth",
        "rivet_maintenance_opening",
        "rivet_maintenance_order_failures_total",
    ):
        assert metric in alerts, metric
    # the maintenance scheduler's jobs and the machines' readings have alerts of their own
    for job in (
        'task=~"schedule|open-orders"',
        'task="schedule"',
        'consumer="maintenance-readings"',
    ):
        assert job in alerts, job


def test_every_alert_has_a_runbook_section() -> None:
    operations = (ROOT / "docs" / "operations.md").read_text()
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", h.lower()).strip().replace(" ", "-")
        for h in re.findall(r"^#+ (.+)$", operations, re.M)
    }
    for path in RULES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    anchor = rule["annotations"]["runbook"].split("#", 1)[1]
                    assert anchor in anchors, f"docs/operations.md lacks a section {anchor}"


def test_dashboard_is_current(dashboard_script: ModuleType) -> None:
    assert DASHBOARD.read_text() == dashboard_script.render(), (
        "deploy/grafana/dashboards/rivet.json is stale: "
        "run `uv run python deploy/grafana/dashboard.py --write`"
    )
    board = json.loads(DASHBOARD.read_text())
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    titles = {p["title"] for p in board["panels"] if p["type"] == "row"}
    for row in ("HTTP", "Requests over NATS", "Events", "OCR", "Work orders", "Maintenance"):
        assert any(t.startswith(row) for t in titles), row
    for metric in EXPECTED_FROM_SERVICES:
        assert metric in DASHBOARD.read_text()
    provisioned = yaml.safe_load(
        (ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text()
    )
    assert provisioned["datasources"][0]["uid"] == "prometheus"
