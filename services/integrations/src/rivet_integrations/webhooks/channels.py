"""The commit notifications of webhooks (``pg_notify`` in the writer's transaction)."""

DELIVERIES_CHANNEL = "integrations_webhooks"
"""Wakes the retry job: a delivery row is due (a redelivery, a replay)."""
ENDPOINTS_CHANNEL = "integrations_webhook_endpoints"
"""An endpoint was created, changed, disabled or deleted: every replica renews and reloads the
endpoints it sends for at once."""
