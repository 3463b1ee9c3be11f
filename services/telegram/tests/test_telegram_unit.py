"""Pure parts of the bot: escaping, who is notified and what they read, scan corrections,
requests refused by their contract, settings."""

from collections.abc import Callable
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from pydantic import BaseModel, Field, ValidationError

from rivet_contracts.assets import SearchEquipment
from rivet_contracts.workorders import (
    CommentOnWorkOrder,
    GetWorkOrder,
    Priority,
    WorkOrderAssigned,
    WorkOrderChanges,
    WorkOrderCommented,
    WorkOrderStatus,
    WorkOrderStatusChanged,
    WorkType,
)
from rivet_telegram.bot.errors import OOPS, explain
from rivet_telegram.notify import messages
from rivet_telegram.render.common import MAX_MESSAGE, esc, fit
from rivet_telegram.render.scans import parse_corrections
from rivet_telegram.settings import TelegramSettings

ANA, TOM, VIC = uuid4(), uuid4(), uuid4()
NAMES = {ANA: "Ana", TOM: "Tom &lt;T&gt;", VIC: "Vic"}


def name(user_id: object) -> str:
    return NAMES.get(user_id, "Someone")  # type: ignore[call-overload]


def snapshot(**extra: object) -> dict[str, object]:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    return {
        "work_order_id": uuid4(),
        "number": "WO-2026-000007",
        "title": "Seal <leaks> & drips",
        "status": WorkOrderStatus.IN_PROGRESS,
        "priority": Priority.HIGH,
        "work_type": WorkType.CORRECTIVE,
        "equipment_id": uuid4(),
        "equipment_number": "EQ-2026-000001",
        "equipment_name": "Pump <1>",
        "assignee_id": TOM,
        "requester_id": ANA,
        "due_at": now,
        "created_at": now,
        "version": 3,
    } | extra


def test_escape_clips_before_escaping_and_fit_respects_the_limit() -> None:
    assert esc("<b>&</b>") == "&lt;b&gt;&amp;&lt;/b&gt;"
    clipped = esc("&" * 10, limit=4)
    assert clipped == "&amp;&amp;&amp;…"  # never half an entity
    long = "\n".join(["line <b>x</b>"] * 1000)
    assert len(fit(long)) <= MAX_MESSAGE + 2
    assert fit(long).endswith("\n…")


def test_status_change_tells_requester_not_the_actor() -> None:
    event = WorkOrderStatusChanged.model_validate(
        snapshot(
            from_status="open",
            to_status="in_progress",
            actor_id=TOM,
            reason="parts <arrived>",
            changed_at=datetime.now(UTC),
        )
    )
    notes = messages.status_changed(event, TOM, name)
    assert [n.user_id for n in notes] == [ANA]
    text = notes[0].text
    assert "Seal &lt;leaks&gt; &amp; drips" in text
    assert "Pump &lt;1&gt;" in text
    assert "Reason: parts &lt;arrived&gt;" in text
    assert text.count("<b>") == text.count("</b>")


def test_actor_who_is_both_assignee_and_requester_hears_nothing() -> None:
    event = WorkOrderCommented.model_validate(
        snapshot(assignee_id=ANA, requester_id=ANA, comment_id=1, author_id=ANA, body="x")
    )
    assert messages.commented(event, ANA, name) == []


def test_reassignment_texts_per_recipient() -> None:
    event = WorkOrderAssigned.model_validate(
        snapshot(assignee_id=VIC, previous_assignee_id=TOM, actor_id=ANA)
    )
    notes = {n.user_id: n.text for n in messages.assigned(event, ANA, name)}
    assert set(notes) == {VIC, TOM}  # Ana (requester) made the change
    assert "Ana assigned it to <b>you</b>." in notes[VIC]
    assert "Ana took it off your list; it is now Vic's." in notes[TOM]
    by_tom = WorkOrderAssigned.model_validate(
        snapshot(assignee_id=None, previous_assignee_id=TOM, actor_id=TOM)
    )
    assert [n.text.splitlines()[-1] for n in messages.assigned(by_tom, TOM, name)] == [
        "Tom &lt;T&gt; unassigned it."
    ]


def test_scan_corrections_are_read_from_field_lines() -> None:
    text = "Manufacturer: Baldor\nmodel :EM3615T\nserial:\ncolour: red\ntype: motor\nnonsense"
    assert parse_corrections(text) == {
        "manufacturer": "Baldor",
        "model": "EM3615T",
        "equipment_type": "motor",
    }


def refusal_of(build: Callable[[], object]) -> tuple[str, str]:
    with pytest.raises(ValidationError) as caught:
        build()
    return explain(caught.value)


class NotAContract(BaseModel):
    query: str = Field(max_length=5)


def test_a_request_its_contract_refuses_is_explained_with_the_limit() -> None:
    html, plain = refusal_of(lambda: SearchEquipment(query="<pump> & " * 30, limit=80))
    assert plain == (
        "⚠️ Too long: the search text may have at most 200 characters.\n"
        "Out of range: the limit must be at most 50."
    )
    assert html == plain  # nothing to escape, and nothing of the input is repeated
    assert refusal_of(lambda: GetWorkOrder(ref="WO-" * 30))[0] == (
        "⚠️ Too long: the work order number may have at most 64 characters."
    )
    assert refusal_of(lambda: CommentOnWorkOrder(ref="WO-2026-000001", body="  "))[0] == (
        "⚠️ Empty: the comment needs some text."
    )
    # a model inside a request (a work order's changes) is the contract's too
    assert refusal_of(lambda: WorkOrderChanges(reason="x" * 1001))[0] == (
        "⚠️ Too long: the reason may have at most 1000 characters."
    )
    # any other model built wrongly is the bot's own failure
    assert refusal_of(lambda: NotAContract(query="x" * 6)) == (OOPS, OOPS)


def test_settings() -> None:
    settings = TelegramSettings(telegram_bot_token="123456:abc")
    assert (settings.bot_id, settings.telegram_mode.value, settings.http_port) == (
        123456,
        "polling",
        8105,
    )
    with pytest.raises(ValidationError, match="TELEGRAM_WEBHOOK_SECRET"):
        TelegramSettings(telegram_mode="webhook", telegram_webhook_url="https://x.example")
    with pytest.raises(ValidationError):
        TelegramSettings(telegram_webhook_secret="short")
