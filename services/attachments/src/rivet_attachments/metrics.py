"""Attachments metrics. ``/metrics`` needs no token, so nothing here names an organization."""

from prometheus_client import Counter

ADDED = Counter(
    "rivet_attachments_added_total",
    "Attachments added, by kind (image, pdf, text, office).",
    ["kind"],
)
ADDED_BYTES = Counter(
    "rivet_attachments_added_bytes_total", "Bytes stored for attachments added (with renditions)."
)
REFUSED = Counter(
    "rivet_attachments_refused_total",
    "Files refused, by reason (unsupported: type; too_large: size or pixels; quota).",
    ["reason"],
)
REMOVED = Counter("rivet_attachments_removed_total", "Attachments removed.")
PURGED_OBJECTS = Counter(
    "rivet_attachments_objects_deleted_total",
    "Stored objects deleted, by why (removed: the attachment was removed; orphan: the sweep "
    "found no attachment for it).",
    ["why"],
)
