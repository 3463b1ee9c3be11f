"""Integrations metrics: what the exporter copied to the organizations' streams, how far
behind it is, and what failed.

``/metrics`` needs no token, so nothing here names an organization: the labels are the
domain streams (a fixed list) and fixed results.
"""

from prometheus_client import Counter, Gauge

EVENTS = Counter(
    "rivet_integrations_events_total",
    "Events of the domain streams the exporter handled, by stream and result (exported: "
    "stored in the organization's stream; duplicate: the stream had it already; internal: "
    "never leaves Rivet; no_organization; unreadable).",
    ["stream", "result"],
)
FAILURES = Counter(
    "rivet_integrations_export_failures_total",
    "Events whose copy to their organization's stream failed (each is tried again), by stream.",
    ["stream"],
)
LAG = Gauge(
    "rivet_integrations_export_lag_seconds",
    "Age of the last event the exporter handled when it handled it (0 once it has caught up "
    "with the stream), by stream.",
    ["stream"],
)
PENDING = Gauge(
    "rivet_integrations_export_pending",
    "Events of the domain stream the exporter has not handled yet, by stream.",
    ["stream"],
)
ORG_STREAMS = Counter(
    "rivet_integrations_org_streams_created_total",
    "Organizations' streams created (on an organization's first exported event).",
)

# --- webhooks: totals only, never per endpoint (an endpoint belongs to an organization; its own
# figures are in the API: the endpoint's stats and delivery log) ---

WEBHOOK_QUEUED = Counter(
    "rivet_integrations_webhook_deliveries_queued_total",
    "Webhook delivery rows queued for the retry job: events whose first send from the stream "
    "failed (redeliveries and replays are counted by the API's answers, not here).",
)
WEBHOOK_ATTEMPTS = Counter(
    "rivet_integrations_webhook_attempts_total",
    "Webhook delivery attempts, by result (delivered: 2xx; http_error: another status or a "
    "redirect; network_error; refused: the host is or resolves to an internal address).",
    ["result"],
)
WEBHOOK_GIVEN_UP = Counter(
    "rivet_integrations_webhook_deliveries_failed_total",
    "Webhook deliveries given up after every attempt of the retry schedule failed.",
)
WEBHOOK_DISABLED = Counter(
    "rivet_integrations_webhook_endpoints_disabled_total",
    "Webhook endpoints disabled after sustained failure.",
)
WEBHOOK_PENDING = Gauge(
    "rivet_integrations_webhook_deliveries_pending",
    "Webhook delivery rows of enabled endpoints waiting (due or retrying later): failed "
    "events, redeliveries, replays.",
)
WEBHOOK_OVERDUE = Gauge(
    "rivet_integrations_webhook_oldest_due_seconds",
    "How long the longest-waiting webhook send has waited (0: none waits): the larger of the "
    "stream lag of this replica's endpoints and the most overdue delivery row. Grows when "
    "deliveries back up.",
)
WEBHOOK_STREAM_LAG = Gauge(
    "rivet_integrations_webhook_stream_lag_seconds",
    "Age of the oldest event of an organization's stream that an endpoint this replica sends "
    "for has read and not finished (0: caught up).",
)
WEBHOOK_OWNED = Gauge(
    "rivet_integrations_webhook_endpoints_owned",
    "Webhook endpoints this replica sends for (their stream cursors it holds by a lease).",
)
