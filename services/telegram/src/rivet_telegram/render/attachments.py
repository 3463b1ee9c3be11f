"""Photos and files on work orders: confirmations, refusals, captions of files sent back."""

from rivet_contracts import ErrorCode
from rivet_contracts.attachments import AttachmentKind, AttachmentView

from .common import esc

KINDS = {
    AttachmentKind.IMAGE: "a photo",
    AttachmentKind.PDF: "a PDF",
    AttachmentKind.TEXT: "a text file",
    AttachmentKind.OFFICE: "an office document",
}
TELEGRAM_LIMIT = 20 * 1024 * 1024
"""Bots may download files up to 20 MB from Telegram."""

SCAN_NEXT = (
    "📷 Send the nameplate photo now (or the image as a file): I'll read it and register the "
    "equipment. A caption is taken as its location. /cancel to stop."
)
VIEWERS = "🔒 Viewers cannot add files to work orders; an admin can make you a technician."
TOO_BIG_FOR_TELEGRAM = (
    "❌ Not attached: Telegram lets me fetch files up to 20 MB. Add this one in the web app."
)
GONE = "That file is no longer kept here; send it again."
NO_OPEN_ORDERS = "There is no open work order to put it on. /wo create reports a problem."


def files(count: int) -> str:
    return f"{count} file" if count == 1 else f"{count} files"


def attached(number: str, item: AttachmentView, count: int) -> str:
    lines = [f"📎 Attached to <b>{esc(number)}</b>: {esc(item.filename, 120)}"]
    if item.caption:
        lines.append(f"“{esc(item.caption, 300)}”")
    lines.append(f"The order has {files(count)} now.")
    return "\n".join(lines)


def not_attached(number: str, code: ErrorCode, message: str) -> str:
    """A refusal of ``rpc.attachments.add``, said as what it is."""
    reason = esc(message.rstrip(". "), 500)
    if code is ErrorCode.UNSUPPORTED_MEDIA_TYPE:
        return (
            f"❌ Not attached to <b>{esc(number)}</b>: I can attach photos, PDFs, text and "
            f"office files. ({reason}.)"
        )
    if code is ErrorCode.PAYLOAD_TOO_LARGE:
        if "quota" in message:
            return (
                f"❌ Not attached to <b>{esc(number)}</b>: your organization's file storage is "
                f"full. Remove old files or ask for more room. ({reason}.)"
            )
        return f"❌ Not attached to <b>{esc(number)}</b>: the file is too large. ({reason}.)"
    if code is ErrorCode.FORBIDDEN:
        return f"🔒 Not attached to <b>{esc(number)}</b>: {reason}."
    if code is ErrorCode.NOT_FOUND:
        return (
            f"❌ <b>{esc(number)}</b> is not there any more (or not in your organization); "
            "nothing was attached."
        )
    return f"❌ Not attached to <b>{esc(number)}</b>: {reason}."


def which_order(filename: str) -> str:
    return f"📎 Which work order is <b>{esc(filename, 120)}</b> for?"


def going_to(filename: str, number: str) -> str:
    return f"📎 {esc(filename, 120)} → <b>{esc(number)}</b>"


def sent_caption(number: str, item: AttachmentView) -> str:
    """The caption of a file the card's button sends."""
    text = f"📎 <b>{esc(number)}</b> · {esc(item.filename, 120)}"
    if item.caption:
        text += f"\n{esc(item.caption, 700)}"
    return text


def more_files(number: str, count: int) -> str:
    return f"… and {files(count)} more on <b>{esc(number)}</b>: the web app shows them all."


def missing_file(item: AttachmentView) -> str:
    return f"⚠️ {esc(item.filename, 120)} is not available right now."
