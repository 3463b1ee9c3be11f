"""Maintenance service settings (environment variables)."""

from pydantic import Field

from rivet_runtime import ServiceSettings


class MaintenanceSettings(ServiceSettings):
    service_name: str = "maintenance"
    http_port: int = 8106

    rpc_timeout: float = Field(
        default=3.0,
        gt=0,
        le=60,
        description="Seconds to wait for the work orders service when opening a plan's order; "
        "keep it below the gateway's RPC_TIMEOUT.",
    )
    schedule_interval: float = Field(
        default=60.0,
        gt=0,
        description="Seconds between scheduler passes that open the orders of plans whose "
        "occurrences have reached their opening time.",
    )
    forecast_days: int = Field(
        default=90,
        ge=1,
        le=731,
        description="How far ahead the forecast of a plan's occurrences looks, in days.",
    )
