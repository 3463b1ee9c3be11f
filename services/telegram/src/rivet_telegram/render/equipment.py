"""Equipment: the card of one asset and list lines."""

from rivet_contracts.assets import EquipmentPicture, EquipmentView, Ratings
from rivet_contracts.maintenance import MeterView

from .attachments import files
from .common import esc, fit, words
from .meters import card_lines

_RATINGS = (
    ("voltage", "{} V"),
    ("amps", "{} A"),
    ("rpm", "{} rpm"),
    ("phase", "{} ph"),
    ("hz", "{} Hz"),
    ("frame", "frame {}"),
    ("enclosure", "{}"),
    ("efficiency", "eff. {}"),
)


def title(item: EquipmentView) -> str:
    parts = [item.manufacturer, item.model or ""]
    return " ".join(p for p in parts if p)


def ratings(values: Ratings) -> str:
    shown = []
    if values.power:
        shown.append(f"{values.power} {values.power_unit or ''}".strip())
    for name, template in _RATINGS:
        value = getattr(values, name)
        if value:
            shown.append(template.format(value))
    return " · ".join(shown)


def card(item: EquipmentView, meters: list[MeterView] | None = None) -> str:
    """The asset; its meters with their latest readings when they are known."""
    lines = [
        f"🏭 <b>{esc(item.number)}</b>" + (f" · {esc(item.name, 120)}" if item.name else ""),
        f"<b>{esc(title(item), 200)}</b>"
        + (f" · S/N {esc(item.serial, 100)}" if item.serial else ""),
    ]
    details = [
        f"Type: {esc(item.equipment_type, 100)}" if item.equipment_type else "",
        f"📍 {esc(item.location, 200)}" if item.location else "",
        f"Criticality: {words(item.criticality.value)}",
        words(item.status.value),
    ]
    lines.append(" · ".join(d for d in details if d))
    rated = ratings(item.ratings)
    if rated:
        lines.append("Ratings: " + esc(rated, 300))
    if item.attachment_count:
        lines.append(f"📎 {files(item.attachment_count)} (the web app shows them)")
    lines += card_lines(meters or [])
    return fit("\n".join(lines))


def picture_caption(item: EquipmentView, picture: EquipmentPicture) -> str:
    """The caption of the asset's picture, sent before its card."""
    return (
        f"🏭 <b>{esc(item.number)}</b> · {esc(title(item), 200)} · 🖼 {esc(picture.filename, 120)}"
    )


def line(item: EquipmentView) -> str:
    name = f" — {esc(item.name, 40)}" if item.name else ""
    where = f" · {esc(item.location, 40)}" if item.location else ""
    return f"• <b>{esc(item.number)}</b> {esc(title(item), 60)}{name}{where}"
