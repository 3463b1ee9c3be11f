"""Every Rivet service the developer tools know: how to start it, build it and configure it.

``make run`` starts each one whose package is installed; the tests build the same runtimes in
process; the README's configuration table is generated from the settings classes named here.
A service still being written can be listed: it is skipped until its package exists.
"""

import importlib
import importlib.util
import os
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    command: str
    """Console script installed by the service's package."""
    port: int
    build: str | None = None
    """``module:function`` making the ServiceRuntime from settings (None: the gateway)."""
    settings: str | None = None
    """``module:Class`` of the service's settings."""
    needs: tuple[str, ...] = ()
    """Environment variables without which ``make run`` does not start the service."""
    test_overrides: dict[str, Any] = field(default_factory=dict)
    """Settings the test suite uses instead of the defaults."""
    metrics_port: int | None = None
    """The default METRICS_PORT where it is a port of its own (None: /metrics is on ``port``)."""
    runtime: str | None = None
    """``module:function`` making the runtime of an HTTP service without a database (the
    gateway) from settings."""
    app: str | None = None
    """``module:function`` making that service's ASGI app from its runtime."""

    @property
    def scrape_port(self) -> int:
        """Where Prometheus reads the service's /metrics by default."""
        return self.metrics_port or self.port

    @property
    def package(self) -> str:
        return self.command.replace("-", "_")

    def installed(self) -> bool:
        """The package and its entry module exist (a service being written may lack them)."""
        module = self.build.partition(":")[0] if self.build else self.package
        try:
            return importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            return False

    def load(self, attribute: str) -> Any:
        path = getattr(self, attribute)
        module, _, name = path.partition(":")
        return getattr(importlib.import_module(module), name)


GATEWAY_LOAD_LIMITS: dict[str, Any] = {
    "rate_limit_user": 1_000_000,
    "rate_limit_user_burst": 1_000_000,
    "rate_limit_api_key": 1_000_000,
    "rate_limit_api_key_burst": 1_000_000,
    "rate_limit_anonymous": 1_000_000,
    "rate_limit_anonymous_burst": 1_000_000,
}
"""The gateway's rate limits in the test suites, the chaos suite and the benchmarks."""

SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec(
        "auth",
        "rivet-auth",
        8101,
        "rivet_auth.main:build",
        "rivet_auth.settings:AuthSettings",
        # Fast hashing keeps tests quick; production uses the defaults (RFC 9106 low-memory).
        test_overrides={
            "argon2_time_cost": 1,
            "argon2_memory_cost": 8192,
            "telegram_bot_username": "rivet_test_bot",
        },
    ),
    ServiceSpec(
        "assets",
        "rivet-assets",
        8102,
        "rivet_assets.main:build",
        "rivet_assets.settings:AssetsSettings",
    ),
    ServiceSpec(
        "workorders",
        "rivet-workorders",
        8103,
        "rivet_workorders.main:build",
        "rivet_workorders.settings:WorkordersSettings",
    ),
    ServiceSpec(
        "ocr",
        "rivet-ocr",
        8104,
        "rivet_ocr.main:build",
        "rivet_ocr.settings:OcrSettings",
        test_overrides={"consumer_workers": 2},
    ),
    ServiceSpec(
        "telegram",
        "rivet-telegram",
        8105,
        "rivet_telegram.main:build",
        "rivet_telegram.settings:TelegramSettings",
        needs=("TELEGRAM_BOT_TOKEN",),
    ),
    ServiceSpec(
        "maintenance",
        "rivet-maintenance",
        8106,
        "rivet_maintenance.main:build",
        "rivet_maintenance.settings:MaintenanceSettings",
    ),
    ServiceSpec(
        "integrations",
        "rivet-integrations",
        8107,
        "rivet_integrations.main:build",
        "rivet_integrations.settings:IntegrationsSettings",
    ),
    ServiceSpec(
        "attachments",
        "rivet-attachments",
        8108,
        "rivet_attachments.main:build",
        "rivet_attachments.settings:AttachmentsSettings",
        # Small limits, so the size and quota tests send files of a megabyte, not gigabytes.
        test_overrides={"attachment_max_bytes": 1_000_000, "attachment_org_quota_bytes": 3_000_000},
    ),
    ServiceSpec(
        "web",
        "rivet-web",
        8080,
        None,
        "rivet_web.settings:WebSettings",
        metrics_port=8109,
        runtime="rivet_web.app:build_runtime",
        app="rivet_web.app:create_app",
    ),
    ServiceSpec(
        "gateway",
        "rivet-gateway",
        8000,
        None,
        "rivet_gateway.settings:GatewaySettings",
        metrics_port=8100,
        # The suites send thousands of requests as one user from one address: limits far above
        # that, so the limiter still runs (leases, NATS key-value) but refuses nothing. The
        # rate-limit tests set their own.
        test_overrides=GATEWAY_LOAD_LIMITS,
        runtime="rivet_gateway.app:build_runtime",
        app="rivet_gateway.app:create_app",
    ),
)


def environment(settings: dict[str, Any]) -> dict[str, str]:
    """Settings as the environment variables a service's process reads."""
    return {name.upper(): str(value) for name, value in settings.items()}


def spec(name: str) -> ServiceSpec:
    return next(s for s in SERVICES if s.name == name)


def installed() -> list[ServiceSpec]:
    return [s for s in SERVICES if s.installed()]


def missing_requirements(service: ServiceSpec) -> list[str]:
    return [name for name in service.needs if not os.environ.get(name)]
