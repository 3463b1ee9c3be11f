"""The service's package: settings with their defaults, a runtime built on its schema and its
migrations, and a clock a test can stop."""

from datetime import UTC, datetime

import pytest

from rivet_contracts.catalog import RPCS
from rivet_contracts.streams import MAINTENANCE, READINGS
from rivet_maintenance.clock import Clock
from rivet_maintenance.main import MIGRATIONS, build
from rivet_maintenance.settings import MaintenanceSettings
from rivet_maintenance.state import MaintenanceState


def test_the_runtime_is_built_on_the_service_schema_and_migrations() -> None:
    settings = MaintenanceSettings(database_url="postgresql://postgres@127.0.0.1:5432/nowhere")
    runtime = build(settings)
    assert (runtime.schema, runtime.migrations) == ("maintenance", MIGRATIONS)
    assert (MIGRATIONS / "env.py").is_file()
    assert sorted(p.name for p in (MIGRATIONS / "versions").glob("*.py")) == [
        "0001_initial.py",
        "0002_scheduler.py",
        "0003_forecast_index.py",
        "0004_forecast_pages.py",
        "0005_forecast_meter_plans.py",
        "0006_idempotency_keys.py",
        "0007_forecast_cycles.py",
        "0008_forecast_local_date.py",
    ]
    assert runtime.publishes == (MAINTENANCE, READINGS)
    assert set(runtime.rpc_subjects) == {s for s in RPCS if s.startswith("rpc.maintenance.")}
    assert {s.consumer for s in runtime.subscriptions} == {
        "maintenance-orders",
        "maintenance-readings",
        "maintenance-reading-batches",
        "maintenance-organization-registered",
        "maintenance-organization-updated",
        "maintenance-authors-role",
        "maintenance-authors-deactivated",
    }
    assert {job.name for job in runtime.jobs} >= {"schedule", "open-orders", "gauges"}
    assert (settings.service_name, settings.http_port) == ("maintenance", 8106)
    assert (settings.rpc_timeout, settings.schedule_interval, settings.forecast_days) == (
        3.0,
        60.0,
        90,
    )


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCHEDULE_INTERVAL", "15")
    monkeypatch.setenv("FORECAST_DAYS", "30")
    settings = MaintenanceSettings()
    assert (settings.schedule_interval, settings.forecast_days) == (15.0, 30)
    monkeypatch.setenv("FORECAST_DAYS", "0")
    with pytest.raises(ValueError, match="forecast_days"):
        MaintenanceSettings()


def test_the_clock_can_be_stopped() -> None:
    state = MaintenanceState(MaintenanceSettings())
    at = datetime(2026, 3, 29, 0, 59, tzinfo=UTC)
    state.clock.freeze(at)
    assert state.clock.now() == at
    state.clock.freeze(None)
    assert state.clock.now() > at
    with pytest.raises(ValueError, match="timezone-aware"):
        Clock().freeze(datetime(2026, 3, 29))
