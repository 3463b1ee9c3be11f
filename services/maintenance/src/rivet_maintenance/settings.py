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
        le=366,
        description="How far ahead the forecast looks when the request names no number of days.",
    )
    open_lease: float = Field(
        default=30.0,
        gt=0,
        description="Seconds a scheduler replica holds an occurrence while it requests its work "
        "order; keep it above RPC_TIMEOUT. Another replica takes it over after that.",
    )
    open_retry: float = Field(
        default=15.0,
        gt=0,
        description="Seconds before a failed work-order request is sent again; doubles with "
        "each failure, up to ten minutes.",
    )
