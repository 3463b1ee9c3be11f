"""Nameplate scans: progress lines and the outcome (created, matched, duplicates, review)."""

from rivet_contracts.assets import MatchOutcome
from rivet_contracts.ocr import CORE_FIELDS, ScanStatus, ScanView

from .common import esc, fit

PROGRESS = {
    ScanStatus.QUEUED: "📷 Got the photo. Reading the nameplate…",
    ScanStatus.MATCHING: "🔎 Read it. Looking for this equipment in the registry…",
}
STILL_BUSY = "⏳ Still working on this photo. Tap “Check again” in a moment."

CORRECTABLE = ("manufacturer", "model", "serial", "name", "equipment_type", "location")
"""Fields a reviewer may set by sending ``field: value`` lines (``type`` means equipment_type)."""


def _read(scan: ScanView) -> list[str]:
    lines = []
    for name in CORE_FIELDS:
        found = getattr(scan.fields, name)
        flag = " ⚠️" if name in scan.needs_review else ""
        if found is None:
            lines.append(f"{name.title()}: —{flag}")
        else:
            lines.append(
                f"{name.title()}: <b>{esc(found.value, 100)}</b> "
                f"({round(found.confidence * 100)}%){flag}"
            )
    return lines


def outcome(scan: ScanView) -> str:
    """What the user sees once a scan has finished (or is still running)."""
    number = esc(scan.equipment_number or "")
    if scan.status is ScanStatus.FAILED:
        return (
            f"❌ I couldn't read that photo: {esc(scan.error or 'unknown reason', 300)}\n"
            "Try again closer, straight on and in good light."
        )
    if scan.status is ScanStatus.NEEDS_REVIEW:
        lines = ["📝 <b>Please check what I read</b>", *_read(scan)]
        if scan.error:
            lines.append(f"⚠️ {esc(scan.error, 300)}")
        lines += _quality(scan)
        lines.append("Confirm it, or correct it with lines like <code>serial: Z-99</code>.")
        return fit("\n".join(lines))
    if scan.status is not ScanStatus.RESOLVED:
        return PROGRESS.get(scan.status, STILL_BUSY)
    if scan.outcome is MatchOutcome.CREATED:
        head = f"✅ Created <b>{number}</b>"
    elif scan.outcome is MatchOutcome.MATCHED:
        head = f"🔁 Matched <b>{number}</b> (already in the registry)"
    else:
        head = "🤔 <b>Possible duplicates.</b> Is it one of these?"
    lines = [head, *_read(scan)]
    if scan.location:
        lines.append(f"📍 {esc(scan.location, 200)}")
    if scan.outcome is MatchOutcome.POSSIBLE_DUPLICATES:
        for candidate in scan.candidates:
            label = " ".join(p for p in (candidate.manufacturer, candidate.model) if p)
            serial = f" · S/N {esc(candidate.serial, 60)}" if candidate.serial else ""
            lines.append(
                f"• <b>{esc(candidate.number)}</b> {esc(label, 80)}{serial} "
                f"({round(candidate.score)}%)"
            )
    return fit("\n".join(lines))


def _quality(scan: ScanView) -> list[str]:
    return [f"💡 {esc(note.message, 200)}" for note in scan.quality[:3]]


def correction_help() -> str:
    return (
        "✏️ Send the right values, one per line, for example:\n"
        "<code>manufacturer: Baldor\nmodel: EM3615T\nserial: Z-99</code>\n"
        "You can also set <code>name</code>, <code>type</code> and <code>location</code>. "
        "/cancel to stop."
    )


def parse_corrections(text: str) -> dict[str, str]:
    """``field: value`` lines -> fields (unknown names and empty values are ignored)."""
    found: dict[str, str] = {}
    for raw in text.splitlines():
        name, sep, value = raw.partition(":")
        key = name.strip().lower().replace(" ", "_")
        key = "equipment_type" if key == "type" else key
        if sep and key in CORRECTABLE and value.strip():
            found[key] = value.strip()
    return found
