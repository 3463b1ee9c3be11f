"""Meters and readings: an asset's meters on its card, the answer to a reading, and the
refusals (no meter, an unknown one, a counter that went back) worded as what they are."""

from rivet_contracts.assets import EquipmentView
from rivet_contracts.maintenance import LimitSide, MeterKind, MeterView, ReadingResult

from .common import esc, fit, number, when

USAGE = (
    "Usage: <code>/reading EQ-2026-000123 1520</code>, with the meter's unit or name after "
    "the value when the asset has several (<code>/reading EQ-2026-000123 71.5 degC</code>)."
)
NUMBER_HINT = "a number, like <code>1520</code> or <code>3.5</code>"
SIDES = {LimitSide.HIGH: "above its high limit", LimitSide.LOW: "below its low limit"}


def label(meter: MeterView) -> str:
    """``Operating hours (h)``, escaped."""
    return f"{esc(meter.name, 100)} ({esc(meter.unit, 20)})"


def limits(meter: MeterView) -> str:
    """``good 10 to 80 degC`` for a gauge with limits, else empty."""
    if meter.kind is not MeterKind.GAUGE or (meter.low_limit is None and meter.high_limit is None):
        return ""
    low = number(meter.low_limit) if meter.low_limit is not None else "…"
    high = number(meter.high_limit) if meter.high_limit is not None else "…"
    return f"good {low} to {high} {esc(meter.unit, 20)}"


def _value(meter: MeterView) -> str:
    if meter.last_value is None:
        return "no reading yet"
    shown = f"<b>{number(meter.last_value)} {esc(meter.unit, 20)}</b> ({when(meter.last_read_at)})"
    if meter.excursion_side is not None:
        shown += f" ⚠️ {SIDES[meter.excursion_side]}"
    return shown


def card_lines(meters: list[MeterView]) -> list[str]:
    """The meters section of an asset's card."""
    if not meters:
        return []
    return ["📟 <b>Meters</b>", *(f"• {esc(m.name, 100)}: {_value(m)}" for m in meters)]


def no_meters(item: EquipmentView) -> str:
    return (
        f"📟 <b>{esc(item.number)}</b> has no meters, so there is nothing to record a reading "
        "on. An admin adds its meters in Rivet first."
    )


def unknown_meter(item: EquipmentView, asked: str, meters: list[MeterView]) -> str:
    listed = ", ".join(label(m) for m in meters)
    return (
        f"❌ Not recorded: <b>{esc(item.number)}</b> has no meter “{esc(asked, 60)}”.\n"
        f"Its meters: {listed}. Name one of them, or give its unit, after the value."
    )


def which(item: EquipmentView, value: float | None) -> str:
    reading = f" for <b>{number(value)}</b>" if value is not None else ""
    return f"📟 <b>{esc(item.number)}</b> has several meters. Which one{reading}?"


def ask_value(meter: MeterView, equipment: str) -> str:
    lines = [f"📟 <b>{esc(equipment)}</b> · {label(meter)}"]
    if meter.last_value is not None:
        lines.append(f"Last: {_value(meter)}")
    if limits(meter):
        lines.append(limits(meter).capitalize())
    lines.append(f"Send the reading now: {NUMBER_HINT}. /cancel to stop.")
    return "\n".join(lines)


def not_a_number(unit: str) -> str:
    return f"That is not a reading. Send {NUMBER_HINT} (in {esc(unit, 20)}), or /cancel."


def refused(message: str) -> str:
    """A reading the maintenance service refused (a counter going back, a time in the future,
    a value that is not possible): its reason, in the service's words."""
    return f"❌ Not recorded: {esc(message.rstrip('. '), 500)}."


GONE = "❌ Not recorded: that meter is not there any more (removed, or not in your organization)."


def recorded(result: ReadingResult, equipment: str) -> str:
    meter, reading = result.meter, result.reading
    lines = [
        f"📟 <b>Recorded</b>: {esc(meter.name, 100)} of <b>{esc(equipment)}</b> = "
        f"<b>{number(reading.value)} {esc(meter.unit, 20)}</b> ({when(reading.read_at)})"
    ]
    if result.excursion_started is not None and meter.excursion_side is not None:
        limit = meter.high_limit if meter.excursion_side is LimitSide.HIGH else meter.low_limit
        shown = f" {number(limit)} {esc(meter.unit, 20)}" if limit is not None else ""
        lines.append(
            f"⚠️ <b>Out of limits</b>: {SIDES[meter.excursion_side]}{shown} "
            f"(excursion {result.excursion_started})."
        )
    elif meter.excursion_side is not None:
        lines.append(f"⚠️ Still {SIDES[meter.excursion_side]} since {when(meter.excursion_since)}.")
    if result.occurrences:
        count = len(result.occurrences)
        orders = [o.work_order_number for o in result.occurrences if o.work_order_number]
        named = f": {esc(', '.join(orders), 200)}" if orders else " (opening now)"
        plural = "orders" if count > 1 else "order"
        lines.append(f"🗓 It made {count} planned maintenance {plural} due{named}.")
    return fit("\n".join(lines))
