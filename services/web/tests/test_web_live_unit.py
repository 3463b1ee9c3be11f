"""The live hub on its own: what a reconnecting page gets."""

import asyncio

from rivet_web.live import LiveHub
from rivet_web.session import CookieCodec

ORDER = {
    "number": "WO-2026-000001",
    "title": "Pump",
    "status": "open",
    "priority": "high",
    "due_at": "2026-01-01T00:00:00+00:00",
    "equipment_number": "EQ-1",
}


def test_resume_replays_only_what_came_after_and_only_the_organizations() -> None:
    hub = LiveHub(buffer=10)
    first = hub.publish("org-a", "wo.created", ORDER)
    hub.publish("org-b", "wo.created", ORDER | {"number": "WO-2026-000002"})
    second = hub.publish("org-a", "wo.status_changed", ORDER | {"status": "in_progress"})
    assert hub.missed("org-a", hub.event_id(first)) == [second]
    assert hub.missed("org-a", None) == []
    assert [c.order["status"] for c in hub.missed("org-a", f"{hub.boot}.0") or []] == [
        "open",
        "in_progress",
    ]


def test_resume_from_another_replica_or_past_the_buffer_asks_for_a_reload() -> None:
    hub = LiveHub(buffer=2)
    first = hub.publish("org-a", "wo.created", ORDER)
    assert hub.missed("org-a", "deadbeef.1") is None
    assert hub.missed("org-a", "garbage") is None
    for _ in range(3):
        hub.publish("org-a", "wo.updated", ORDER)
    assert hub.missed("org-a", hub.event_id(first)) is None


async def test_follow_sends_missed_then_new_changes_without_duplicates() -> None:
    hub = LiveHub(buffer=10)
    first = hub.publish("org-a", "wo.created", ORDER)
    second = hub.publish("org-a", "wo.updated", ORDER)
    stream = hub.follow("org-a", hub.event_id(first))
    assert await anext(stream) == ("change", second)
    third = hub.publish("org-a", "wo.updated", ORDER | {"status": "on_hold"})
    assert await asyncio.wait_for(anext(stream), 1) == ("change", third)
    await stream.aclose()
    resync = hub.follow("org-a", "other.5")
    assert await anext(resync) == ("resync", None)
    await resync.aclose()


def test_cards_mark_overdue_open_orders_and_cookies_refuse_tampering() -> None:
    hub = LiveHub(buffer=10)
    late = hub.publish("org-a", "wo.created", ORDER)
    assert late.order["overdue"] is True
    done = hub.publish("org-a", "wo.status_changed", ORDER | {"status": "completed"})
    assert done.order["overdue"] is False
    codec = CookieCodec("secret-one", 60)
    value = codec.dump({"a": 1})
    assert codec.load(value) == {"a": 1}
    assert CookieCodec("secret-two", 60).load(value) is None
    assert codec.load(value[:-2] + "xx") is None
    assert codec.load("") is None
