"""Integrations service settings (environment variables)."""

from pydantic import Field

from rivet_runtime import ServiceSettings


class IntegrationsSettings(ServiceSettings):
    service_name: str = "integrations"
    http_port: int = 8107

    export_batch: int = Field(
        default=64,
        ge=1,
        le=1000,
        description="Events the exporter asks of a domain stream per pull; they are copied "
        "to their organizations' streams together, then acknowledged.",
    )
    export_ack_wait: float = Field(
        default=30.0,
        ge=5,
        le=300,
        description="Seconds a pulled event stays with one exporter replica before JetStream "
        "gives it to another; keep it well below the streams' 15-minute duplicate window.",
    )
    export_retry_delay: float = Field(
        default=1.0,
        gt=0,
        description="First delay in seconds before an event whose copy failed is tried again; "
        "doubles each time, up to 30 seconds.",
    )
