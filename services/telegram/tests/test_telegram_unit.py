"""Pure parts of the bot: escaping, who is notified and what they read, scan corrections,
requests refused by their contract, readings typed, meters named, the checklist on a card and
its buttons, settings."""

from collections.abc import Callable
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from pydantic import BaseModel, Field, ValidationError

from rivet_contracts import Role
from rivet_contracts.assets import SearchEquipment
from rivet_contracts.maintenance import MeterKind, MeterView, RecordReading
from rivet_contracts.workorders import (
    ChecklistItemView,
    CommentOnWorkOrder,
    EquipmentBrief,
    GetWorkOrder,
    Priority,
    TimelineEntry,
    WorkOrderAssigned,
    WorkOrderChanges,
    WorkOrderCommented,
    WorkOrderCreated,
    WorkOrderStatus,
    WorkOrderStatusChanged,
    WorkOrderView,
    WorkType,
)
from rivet_telegram.bot import keyboards
from rivet_telegram.bot.errors import OOPS, explain
from rivet_telegram.handlers.common import parse_number
from rivet_telegram.handlers.readings import choose
from rivet_telegram.notify import messages
from rivet_telegram.render import workorders
from rivet_telegram.render.common import MAX_MESSAGE, esc, fit, number
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


def test_a_plan_order_is_announced_to_its_assignee_only() -> None:
    plan = uuid4()

    def created(**extra: object) -> WorkOrderCreated:
        fields = {"plan_id": plan, "work_type": WorkType.PREVENTIVE, "source": "maintenance"}
        return WorkOrderCreated.model_validate(snapshot(**(fields | extra)))

    notes = messages.planned(created(), ANA, name)  # the scheduler, in the author's name
    assert [n.user_id for n in notes] == [TOM]
    assert "Planned preventive maintenance, assigned to <b>you</b>" in notes[0].text
    assert "Seal &lt;leaks&gt; &amp; drips" in notes[0].text
    # the author is the assignee: the scheduler opened it, so they are told all the same
    assert [n.user_id for n in messages.planned(created(assignee_id=ANA), ANA, name)] == [ANA]
    # someone who opened a plan's order by hand for themselves knows already
    assert messages.planned(created(assignee_id=ANA, source="api"), ANA, name) == []
    assert messages.planned(created(assignee_id=None), ANA, name) == []
    assert messages.planned(created(plan_id=None), ANA, name) == []
    condition = messages.planned(created(work_type=WorkType.CORRECTIVE), ANA, name)
    assert "A condition plan opened it" in condition[0].text


def test_readings_are_read_as_people_type_them() -> None:
    assert [parse_number(t) for t in ("1520", "-3.5", "3,5", " +7 ", ".5", "1e3", "2.")] == [
        1520.0, -3.5, 3.5, 7.0, 0.5, 1000.0, 2.0
    ]  # fmt: skip
    for text in ("", "1,5,3", "1.5,3", "nan", "inf", "1e999", "12h", "0x10", "1 520"):
        assert parse_number(text) is None, text
    assert [number(v) for v in (1520.0, 1520.5, 1e12, -0.25)] == [
        "1520", "1520.5", "1000000000000", "-0.25"
    ]  # fmt: skip
    html, _ = refusal_of(lambda: RecordReading(meter_id=uuid4(), value=1e13))
    assert html.startswith("⚠️ Out of range: the value must be at most 1")


def meter(name: str, unit: str) -> MeterView:
    now = datetime.now(UTC)
    return MeterView(
        id=uuid4(), org_id=uuid4(), equipment_id=uuid4(), name=name, kind=MeterKind.COUNTER,
        unit=unit, low_limit=None, high_limit=None, deadband=0, last_value=None,
        last_read_at=None, excursion_side=None, excursion_since=None, excursions=0,
        created_at=now, updated_at=now,
    )  # fmt: skip


def test_a_meter_is_named_by_its_name_its_unit_or_the_start_of_its_name() -> None:
    hours, temp, cycles = (
        meter("Operating hours", "h"),
        meter("Bearing temp", "degC"),
        meter("Operating cycles", "cycles"),
    )
    meters = [hours, temp, cycles]
    assert choose(meters, "") == meters
    assert choose(meters, "DEGC") == [temp]
    assert choose(meters, "operating hours") == [hours]
    assert choose(meters, "bear") == [temp]
    assert choose(meters, "operating") == [hours, cycles]  # buttons ask which
    assert choose(meters, "km") == []
    markup = keyboards.meters(meters, -0.00012345678901234567)
    datas = [b.callback_data or "" for row in markup.inline_keyboard for b in row]
    assert all(len(d.encode()) <= 64 and d.endswith(":-0.00012345678901234567") for d in datas)


def named(**values: object) -> dict[str, object]:
    return values


def order_with(items: list[ChecklistItemView], **extra: object) -> WorkOrderView:
    now = datetime.now(UTC)
    brief = EquipmentBrief(
        id=uuid4(), number="EQ-2026-000001", name=None, manufacturer="Baldor", model=None,
        serial=None, location=None, criticality="medium",
    )  # fmt: skip
    fields = named(
        id=uuid4(), number="WO-2026-999999", equipment=brief, title="PM", description="d" * 800,
        fault_codes=[], symptoms=[], priority="medium", status="in_progress",
        work_type="preventive", source="maintenance", due_at=now, overdue=False,
        assignee_id=None, assignee_name=None, requester_id=None, requester_name=None,
        estimated_hours=None, labour_hours=None, downtime_start=None, downtime_end=None,
        downtime_hours=None, created_at=now, updated_at=now, acknowledged_at=None,
        started_at=None, on_hold_at=None, completed_at=None, cancelled_at=None,
        reopened_at=None, status_changed_at=now,
        allowed_transitions=["on_hold", "completed", "cancelled"], version=7, checklist=items,
    )  # fmt: skip
    return WorkOrderView.model_validate(fields | extra)


def item(position: int, **extra: object) -> ChecklistItemView:
    fields = named(
        id=uuid4(), position=position, text="<Check> & " * 50, required=position % 2 == 0,
        kind="check", done=False, result=None, out_of_limits=False, done_by=None,
        done_at=None, note=None,
    )  # fmt: skip
    return ChecklistItemView.model_validate(fields | extra)


def test_the_longest_checklist_fits_a_card_and_its_buttons_fit_telegram() -> None:
    kinds = ("check", "pass_fail", "number")
    items = [item(p, kind=kinds[p % 3], done=p < 40) for p in range(1, 101)]
    order = order_with(items)
    card = workorders.card(order)
    assert len(card) <= MAX_MESSAGE + 2
    assert "📋 <b>Checklist</b> 39/100 done · ❗ <b>31 required still open</b>" in card
    assert "⬜ 40. &lt;Check&gt;" in card  # the open ones first
    assert "more (the web app lists them all)" in card
    assert card.endswith(
        "<i>Reply to this message to add a comment, or with a photo or a file to attach it.</i>"
    )
    markup = keyboards.work_order(order, Role.TECHNICIAN)
    buttons = [b for row in markup.inline_keyboard for b in row]
    assert len(buttons) <= 100
    assert all(len((b.callback_data or "").encode()) <= 64 for b in buttons)
    positions = [b.callback_data.split(":")[3] for b in buttons if b.callback_data.startswith("ck")]
    assert positions == ["40", "40", "41", "42", "43", "43", "44"]  # pass/fail: two buttons
    assert [b.text for b in buttons][-5:] == [
        "⏸ Hold", "✅ Complete", "✖️ Cancel", "🙋 Take it", "🔄 Refresh"
    ]  # fmt: skip
    viewer = keyboards.work_order(order, Role.VIEWER)
    assert [b.text for row in viewer.inline_keyboard for b in row] == ["🔄 Refresh"]
    closed = keyboards.work_order(order_with(items, status="completed"), Role.ADMIN)
    assert not [
        b for row in closed.inline_keyboard for b in row if b.callback_data.startswith("ck")
    ]


def test_checklist_items_show_their_state() -> None:
    shown = [
        workorders.item_line(
            item(1, text="Belt", kind="number", low=0, high=3.5, unit="mm/s", required=True)
        ),
        workorders.item_line(
            item(2, text="Belt", kind="number", low=0, high=3.5, unit="mm/s", done=True,
                 result=4.25, out_of_limits=True, note="loose <bolt>")
        ),
        workorders.item_line(item(3, text="Seal", kind="pass_fail", done=True, result="fail")),
        workorders.item_line(item(5, text="Seal", kind="pass_fail", done=True, result="pass")),
        workorders.item_line(item(7, text="Lock", done=True)),
    ]  # fmt: skip
    assert shown == [
        "⬜ 1. Belt (0 to 3.5 mm/s) · <i>required</i>",
        "⚠️ 2. Belt: <b>4.25 mm/s</b> <b>out of limits</b> (0 to 3.5 mm/s) · <i>required</i>"
        "\n      💬 loose &lt;bolt&gt;",
        "❌ 3. Seal: <b>fail</b>",
        "✅ 5. Seal: <b>pass</b>",
        "✅ 7. Lock",
    ]


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


def test_files_on_the_card_its_timeline_and_its_buttons() -> None:
    now = datetime.now(UTC)

    def entry(kind: str, filename: str) -> TimelineEntry:
        brief = {"id": str(uuid4()), "filename": filename, "kind": "pdf"}
        fields = named(
            id=uuid4(), at=now, kind=kind, author_id=ANA, author_name="Ana <A>",
            channel="telegram", body=filename, changes={"attachment": brief},
        )  # fmt: skip
        return TimelineEntry.model_validate(fields)

    timeline = [entry("attachment_added", "<report>.pdf"), entry("attachment_removed", "old.pdf")]
    order = order_with([], attachment_count=3, timeline=timeline)
    card = workorders.card(order)
    assert "📎 3 files (📎 Files sends them)" in card
    assert "📎 Ana &lt;A&gt; added &lt;report&gt;.pdf" in card
    assert "🗑 Ana &lt;A&gt; removed old.pdf" in card
    for role in (Role.VIEWER, Role.TECHNICIAN):
        labels = [b.text for row in keyboards.work_order(order, role).inline_keyboard for b in row]
        assert "📎 Files (3)" in labels
    none = keyboards.work_order(order_with([], attachment_count=0), Role.ADMIN)
    assert not [b for row in none.inline_keyboard for b in row if b.text.startswith("📎")]
