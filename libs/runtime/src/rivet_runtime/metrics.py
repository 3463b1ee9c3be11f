"""Prometheus metrics every service exposes on ``/metrics`` (RED + outbox + dead letters).

Where: on the HTTP port beside /health, or on a listener of their own, or nowhere
(``METRICS_PORT``: ``http``, a port number, ``off``).
"""

from collections.abc import Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    start_http_server,
)

disable_created_metrics()  # type: ignore[no-untyped-call]  # *_created series: no use here

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

HTTP_REQUESTS = Histogram(
    "rivet_http_request_duration_seconds",
    "HTTP request latency by route and status class.",
    ["service", "method", "route", "status"],
    buckets=_LATENCY_BUCKETS,
)
RPC_REQUESTS = Histogram(
    "rivet_rpc_duration_seconds",
    "Request-reply handling latency by subject and outcome (ok or error code).",
    ["service", "subject", "outcome"],
    buckets=_LATENCY_BUCKETS,
)
RPC_CALLS = Histogram(
    "rivet_rpc_client_duration_seconds",
    "Outbound request latency (as the caller waits) by subject and outcome (ok or error code).",
    ["service", "subject", "outcome"],
    buckets=_LATENCY_BUCKETS,
)
EVENTS_PUBLISHED = Counter(
    "rivet_events_published_total", "Events the outbox relay published.", ["service", "subject"]
)
EVENTS_CONSUMED = Counter(
    "rivet_events_consumed_total",
    "Events handled by a consumer, by outcome (ok, duplicate, retry, dead_letter).",
    ["service", "consumer", "subject", "outcome"],
)
EVENT_HANDLING = Histogram(
    "rivet_event_handling_duration_seconds",
    "Event handler latency.",
    ["service", "consumer"],
    buckets=_LATENCY_BUCKETS,
)
EVENTS_FAILED = Counter(
    "rivet_events_failed_total",
    "Event handler failures (each redelivery counts).",
    ["service", "consumer"],
)
DEAD_LETTERS = Counter(
    "rivet_dead_letters_total",
    "Messages given up on after the bounded number of deliveries.",
    ["service", "consumer"],
)
OUTBOX_BACKLOG = Gauge("rivet_outbox_backlog", "Events written but not yet published.", ["service"])
OUTBOX_OLDEST_AGE = Gauge(
    "rivet_outbox_oldest_age_seconds", "Age of the oldest unpublished event.", ["service"]
)
OUTBOX_PUBLISH_FAILURES = Counter(
    "rivet_outbox_publish_failures_total", "Relay passes that failed to publish.", ["service"]
)
NATS_CONNECTED = Gauge("rivet_nats_connected", "1 while connected to NATS.", ["service"])
MAILS = Counter(
    "rivet_mail_total",
    "Mail handed to the SMTP server (sent), put back for a retry, or given up on (failed).",
    ["service", "result"],
)
MAIL_BACKLOG = Gauge("rivet_mail_backlog", "Mail waiting to be sent.", ["service"])
# Background jobs are labelled ``task`` (the job's name): ``job`` is Prometheus's own target label.
JOB_RUNS = Counter(
    "rivet_job_runs_total",
    "Background job passes, by result (ok or failed).",
    ["service", "task", "result"],
)
JOB_LAST_SUCCESS = Gauge(
    "rivet_job_last_success_timestamp_seconds",
    "When this process last finished a pass of the job without error.",
    ["service", "task"],
)
JOB_PERIOD = Gauge(
    "rivet_job_period_seconds",
    "How often the job is meant to run (a queue job: its safety poll).",
    ["service", "task"],
)
JOB_DURATION = Histogram(
    "rivet_job_duration_seconds",
    "Time a background job pass took.",
    ["service", "task"],
    buckets=(0.01, 0.05, 0.25, 1, 5, 30, 120, 600),
)


def render() -> tuple[bytes, str]:
    """The exposition text and its content type."""
    return generate_latest(), CONTENT_TYPE_LATEST


def serve(host: str, port: int) -> Callable[[], None]:
    """Serve the metrics alone on ``host:port`` (``METRICS_PORT``) from a daemon thread, apart
    from the service's HTTP port; returns the function that stops the listener."""
    server, thread = start_http_server(port, addr=host)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stop
