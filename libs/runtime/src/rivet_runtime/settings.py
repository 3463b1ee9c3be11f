"""Settings shared by every service, read from the environment (pydantic-settings).

Each service subclasses ``ServiceSettings`` with its own fields. Names are the environment
variables in upper case (``NATS_URL``, ``DATABASE_URL``, ...); README lists them all.
"""

from typing import Annotated, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MetricsPort = Annotated[int, Field(ge=1, le=65535)] | Literal["http", "off"]
"""Where /metrics is served: ``http`` (on HTTP_PORT), a port of its own, or ``off``."""


class ServiceSettings(BaseSettings):
    """What every Rivet service needs to run."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    service_name: str = Field(default="rivet", description="Name in logs, metrics and NATS.")
    nats_url: str = Field(
        default="nats://127.0.0.1:4222",
        description="NATS server(s), comma separated; the service's user and password go in the "
        "URL (nats://user:password@host:4222).",
    )
    nats_namespace: str = Field(
        default="",
        pattern=r"^([a-z][a-z0-9_]{0,30})?$",
        description="Optional prefix for every subject and stream, to share one NATS between "
        "environments (tests use a fresh one per run).",
    )
    database_url: str = Field(
        default="postgresql://postgres@127.0.0.1:5432/rivet",
        description="PostgreSQL URL; the service uses only its own schema.",
    )
    db_pool_size: int = Field(default=10, ge=1, le=200, description="Connections per process.")
    db_pool_overflow: int | None = Field(
        default=None,
        ge=0,
        le=200,
        description="Connections opened beyond DB_POOL_SIZE at peaks (default: as many again).",
    )
    http_host: str = Field(
        default="127.0.0.1",
        description="Bind address of HTTP_PORT (and METRICS_PORT). The images set `0.0.0.0`: "
        "a container's network is its own.",
    )
    http_port: int = Field(
        default=8000, ge=0, le=65535, description="Port of /health, /ready (and /metrics)."
    )
    metrics_port: MetricsPort = Field(
        default="http",
        description="Where /metrics is served: `http` (on HTTP_PORT), a port number (a listener "
        "on HTTP_HOST that serves only the metrics, to keep off a public network; HTTP_PORT then "
        "answers 404) or `off`.",
    )
    rpc_timeout: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description="Seconds to wait for another service's answer; a request that takes longer "
        "by nature has its own in the catalogue and is waited for that long when it is longer "
        "(adding an attachment: 30 s).",
    )
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR.")
    log_json: bool = Field(default=True, description="JSON log lines (false: plain text).")
    migrate_on_start: bool = Field(
        default=True, description="Apply pending migrations at start (under an advisory lock)."
    )
    stream_replicas: int = Field(default=1, ge=1, le=5, description="JetStream stream replicas.")
    rpc_workers: int = Field(default=16, ge=1, le=256, description="Concurrent requests.")
    consumer_workers: int = Field(default=4, ge=1, le=64, description="Concurrent events.")
    consumer_max_deliveries: int = Field(
        default=6, ge=1, le=100, description="Deliveries before a message is dead-lettered."
    )
    consumer_retry_delay: float = Field(
        default=0.5, gt=0, description="First redelivery delay in seconds; doubles each time."
    )
    outbox_batch_size: int = Field(default=200, ge=1, le=5000, description="Rows per relay pass.")
    outbox_safety_poll: float = Field(
        default=5.0,
        gt=0,
        description="Seconds between relay passes when no commit notification arrives.",
    )
    shutdown_grace: float = Field(default=10.0, ge=0, description="Seconds to finish work.")

    def subject(self, name: str) -> str:
        """``name`` under this deployment's namespace."""
        return f"{self.nats_namespace}.{name}" if self.nats_namespace else name

    def stream_name(self, name: str) -> str:
        """A stream name under this deployment's namespace."""
        return f"{self.nats_namespace.upper()}_{name}" if self.nats_namespace else name


class MailSettings(ServiceSettings):
    """What a service that sends mail needs besides (``rivet_runtime.mail``)."""

    smtp_url: str | None = Field(
        default=None,
        description="SMTP server for outgoing mail: `smtp://user:password@host:587?starttls=true` "
        "or `smtps://user:password@host:465`. Unset: mail waits in the outbox (`make run` and "
        "the tests start a local server and set it).",
    )
    mail_from: str = Field(
        default="Rivet <rivet@localhost>", description="Sender of outgoing mail (`From`)."
    )
    mail_max_age: float = Field(
        default=2 * 86400.0,
        gt=0,
        description="Seconds a mail is retried while the SMTP server fails before it is given up.",
    )
    mail_poll: float = Field(
        default=10.0, gt=0, description="Seconds between mail passes with no commit notification."
    )
