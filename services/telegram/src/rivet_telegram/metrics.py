"""Telegram-specific metrics: updates handled, Telegram's rate limits, notifications."""

from prometheus_client import Counter, Gauge

UPDATES = Counter(
    "rivet_telegram_updates_total",
    "Updates received, by outcome (handled, duplicate).",
    ["outcome"],
)
RETRY_AFTER = Counter(
    "rivet_telegram_retry_after_total",
    "429 answers from Telegram, by what was done: waited (and retried), deferred (left to the "
    "caller), rescheduled (a notification put back).",
    ["action"],
)
NOTIFICATIONS = Counter(
    "rivet_telegram_notifications_total",
    "Notifications by outcome (sent, retry, failed).",
    ["outcome"],
)
NOTIFICATION_BACKLOG = Gauge(
    "rivet_telegram_notification_backlog", "Notifications waiting to be sent."
)
