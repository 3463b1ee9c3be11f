"""A nameplate photo's way through Rivet: Telegram -> upload store -> OCR -> assets.

The photo is downloaded from Telegram, put in the upload store (the OCR service reads it from
there; only the key travels in the request), submitted with the caption as the location, and
followed with ``rpc.ocr.get_scan`` while a progress message is edited in place, until the scan
is resolved, needs review or failed (or ``TELEGRAM_SCAN_WAIT`` runs out: the user gets a
"check again" button).
"""

import asyncio
import time
from uuid import UUID

from aiogram import Bot
from aiogram.types import Message

from rivet_contracts.ocr import ScanStatus, ScanView

from ..render import scans
from ..render.common import clip, esc
from ..rivet import RivetError, UserApi
from ..state import TelegramState
from .common import edit

FINISHED = {ScanStatus.NEEDS_REVIEW, ScanStatus.RESOLVED, ScanStatus.FAILED}
MAX_BYTES = 15 * 1024 * 1024
"""The OCR service's limit (Telegram lets bots download up to 20 MB)."""
POLL = 0.4


def image_of(message: Message) -> tuple[str, int | None] | None:
    """The file id and size of the photo, or of an image sent as a file."""
    if message.photo:
        best = message.photo[-1]
        return best.file_id, best.file_size
    document = message.document
    if document is not None and (document.mime_type or "").startswith("image/"):
        return document.file_id, document.file_size
    return None


def is_image(message: Message) -> bool:
    return image_of(message) is not None


async def scan_photo(
    message: Message, bot: Bot, api: UserApi, app: TelegramState
) -> tuple[ScanView | None, Message]:
    """Submit the message's image; (the finished scan or None if refused, the progress note)."""
    found = image_of(message)
    assert found is not None, "only called for messages with an image"
    file_id, size = found
    progress = await message.answer(scans.PROGRESS[ScanStatus.QUEUED])
    if size is not None and size > MAX_BYTES:
        await edit(progress, "❌ That file is too large (15 MB at most).")
        return None, progress
    download = await bot.download(file_id)
    data = download.read() if download is not None else b""
    key = await app.uploads.put(data, prefix="telegram")
    location = clip(message.caption, 200) if message.caption else None
    try:
        scan = await api.submit_scan(key, location or None)
    except RivetError as exc:
        await edit(progress, f"❌ {esc(exc.info.message, 300)}")
        return None, progress
    return await follow(api, scan, progress, app.settings.telegram_scan_wait), progress


async def follow(api: UserApi, scan: ScanView, progress: Message, wait: float) -> ScanView:
    """Poll the scan until it is finished or ``wait`` seconds pass, editing ``progress``."""
    deadline = time.monotonic() + wait
    shown = progress.text or ""
    while scan.status not in FINISHED and time.monotonic() < deadline:
        text = scans.outcome(scan)
        if text != shown:
            await edit(progress, text)
            shown = text
        await asyncio.sleep(POLL)
        scan = await api.get_scan(scan.id)
    return scan


def scan_id(value: str) -> UUID:
    return UUID(hex=value)
