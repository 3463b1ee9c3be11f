"""The inbox: one row per (consumer, event) applied, written in the transaction that applies
the event, so a second delivery changes nothing."""

from sqlalchemy import text

CLAIM = text(
    "INSERT INTO inbox (consumer, event_id) VALUES (:consumer, :event_id) ON CONFLICT DO NOTHING"
)
CLAIM_MANY = text(
    "INSERT INTO inbox (consumer, event_id) SELECT :consumer, unnest(CAST(:ids AS uuid[])) "
    "ON CONFLICT DO NOTHING RETURNING event_id"
)
SEEN = text("SELECT 1 FROM inbox WHERE consumer = :consumer AND event_id = :event_id")
