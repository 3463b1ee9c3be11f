"""The forecast's cursor: where a page ended, opaque to clients.

A forecast's items are in one total order, their ``Key``: dated items by due time, then plan,
then source (a recorded occurrence, a projected calendar occurrence, a meter plan's threshold);
undated meter items last, by plan. A plan has at most one item per due time and source, so no
two items share a key. A page's cursor is the key of its last item, with the forecast's window
(``since``, fixed by the first page, so the pages of one forecast read one window) and a
digest of what the forecast is of (organization, days, filters): a cursor sent with another
organization, other days or other filters is refused, not read as a position in another
forecast.

The cursor is ``f1.`` and URL-safe base64 (no padding) of compact JSON; it is not signed: a
client that forges one only reads its own organization's forecast from another position.
"""

import base64
import binascii
import hashlib
import json
from datetime import UTC, datetime, timedelta
from uuid import UUID

from ..common.errors import invalid

Key = tuple[bool, datetime, UUID, int]
"""(undated, due time (the window's start for undated items), plan, source)."""

RECORDED, PROJECTED, METERED = 0, 1, 2
"""The sources, in the order of items with the same due time and plan."""

PREFIX = "f1."
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MALFORMED = "not a forecast cursor: pass the previous page's next_cursor unchanged"
_FOREIGN = (
    "the cursor belongs to another forecast: send it with the days, equipment_id and "
    "assignee_id of the page it came from"
)


def digest(org_id: UUID, days: int, equipment_id: UUID | None, assignee_id: UUID | None) -> str:
    """What a forecast is of, in a few characters."""
    of = f"{org_id}|{days}|{equipment_id or ''}|{assignee_id or ''}"
    return hashlib.sha256(of.encode()).hexdigest()[:16]


def _micros(at: datetime) -> int:
    return (at - _EPOCH) // timedelta(microseconds=1)


def _instant(micros: object) -> datetime:
    if not isinstance(micros, int) or isinstance(micros, bool):
        raise ValueError("not a time")
    return _EPOCH + timedelta(microseconds=micros)


def encode(since: datetime, key: Key, of: str) -> str:
    undated, at, plan_id, source = key
    body = {
        "s": _micros(since),
        "t": None if undated else _micros(at),
        "p": plan_id.hex,
        "k": source,
        "h": of,
    }
    raw = json.dumps(body, separators=(",", ":")).encode()
    return PREFIX + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode(cursor: str, of: str) -> tuple[datetime, Key]:
    """The window's start and the key of the previous page's last item; a validation error
    (422, ``loc`` ``cursor``) for anything that is not a cursor of this forecast."""
    try:
        if not cursor.startswith(PREFIX):
            raise ValueError("prefix")
        text = cursor.removeprefix(PREFIX)
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        body = json.loads(raw)
        if not isinstance(body, dict):
            raise ValueError("not an object")
        since = _instant(body["s"])
        stamp, plan, source, owner = body["t"], body["p"], body["k"], body["h"]
        if not isinstance(plan, str) or not isinstance(owner, str):
            raise ValueError("not text")
        if source not in (RECORDED, PROJECTED, METERED) or isinstance(source, bool):
            raise ValueError("source")
        key: Key = (
            stamp is None,
            since if stamp is None else _instant(stamp),
            UUID(hex=plan),
            source,
        )
    except (ValueError, KeyError, TypeError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise invalid("cursor", _MALFORMED, "cursor") from None
    if owner != of:
        raise invalid("cursor", _FOREIGN, "cursor")
    return since, key
