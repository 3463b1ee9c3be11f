"""Integrations service settings (environment variables)."""

from pydantic import Field, model_validator

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

    webhook_schedule: list[float] = Field(
        default_factory=lambda: [5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0],
        min_length=1,
        description="Seconds before each retry of a failed webhook delivery (JSON list; each "
        "+-20 % jitter): 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, about 27.6 hours in all. "
        "A delivery that fails them all is given up, and its endpoint disabled unless it "
        "succeeded since.",
    )
    webhook_timeout: float = Field(
        default=10.0, gt=0, le=60, description="Seconds a webhook request may take in all."
    )
    webhook_concurrency: int = Field(
        default=4,
        ge=1,
        le=100,
        description="Events of the organization's stream sent to one endpoint at once, at "
        "most (by the replica that owns the endpoint); its retries have as many again.",
    )
    webhook_batch: int = Field(
        default=50,
        ge=1,
        le=1000,
        description="Delivery rows (retries, redeliveries, replays) a replica has in flight "
        "at once, at most (it claims more as they finish).",
    )
    webhook_lease: float = Field(
        default=30.0,
        ge=5,
        description="Seconds a replica holds an endpoint (its stream cursor) or a claimed "
        "retry without renewing it: another replica takes over that long after one died. It "
        "stops starting sends WEBHOOK_TIMEOUT + 1 seconds before its hold runs out unrenewed, "
        "so it must exceed WEBHOOK_TIMEOUT + 2.",
    )
    webhook_flush_interval: float = Field(
        default=0.15,
        gt=0,
        le=5,
        description="Seconds between the writes of the endpoints' cursors and of the delivery "
        "log of their sends from the stream (one transaction for every endpoint of the "
        "replica): a replica that dies re-sends at most what it sent in that time.",
    )

    @model_validator(mode="after")
    def _lease_outlives_a_send(self) -> "IntegrationsSettings":
        if self.webhook_lease <= self.webhook_timeout + 2:
            raise ValueError("WEBHOOK_LEASE must exceed WEBHOOK_TIMEOUT + 2 seconds")
        return self

    webhook_secret_overlap: float = Field(
        default=86400.0,
        ge=0,
        description="Seconds the previous secret of a webhook endpoint still signs after a "
        "rotation.",
    )
    webhook_allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Host names or IP addresses (JSON list) webhooks may reach although they "
        "are private, loopback or otherwise internal: on-premises receivers, tests.",
    )
    webhook_allow_private: bool = Field(
        default=False,
        description="Let webhooks reach any internal address (private, loopback, link-local, "
        "cloud metadata): only where every receiver is trusted.",
    )
    webhook_retention_days: int = Field(
        default=30,
        ge=1,
        description="Days webhook events, deliveries and their attempts are kept.",
    )
