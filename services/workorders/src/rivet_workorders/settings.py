"""Work orders service settings (environment variables; see README)."""

from pydantic import Field

from rivet_runtime import ServiceSettings


class WorkordersSettings(ServiceSettings):
    service_name: str = "workorders"
    http_port: int = 8103

    rpc_timeout: float = Field(
        default=3.0,
        gt=0,
        le=60,
        description="Seconds to wait for the assets or auth service (create-or-match, lookups); "
        "keep it below the gateway's RPC_TIMEOUT so the caller gets this service's answer.",
    )
    health_refresh_interval: float = Field(
        default=60.0,
        gt=0,
        description="Seconds between passes that rescore assets whose open orders fell due or "
        "whose score is a day old (see docs/workorders.md).",
    )
    overdue_interval: float = Field(
        default=30.0,
        gt=0,
        description="Seconds between passes that announce open orders whose due date has "
        "passed (wo.overdue, once per deadline; see docs/workorders.md).",
    )
