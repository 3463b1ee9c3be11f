"""Photos and files on work orders.

A photo or a file goes on an order when it is sent as a reply to a bot message naming the
order (its card, a notification, a confirmation), or while the chat looks at the order (its card
opened or used within ``TELEGRAM_ORDER_CONTEXT_TTL``). The bytes are downloaded from Telegram,
put in the upload store and attached with ``rpc.attachments.add`` (the caption as the
attachment's caption); the answer is the thumbnail with the order's file count. A photo with no
order is a nameplate scan (``photos``), whose answer offers "Attach to an order instead"; a
file that is not an image asks which open order it is for. The card's *Files* button sends an
order's files back, read from the attachments' object store.
"""

import hashlib
from dataclasses import dataclass
from typing import Any

from aiogram import Bot, F
from aiogram.filters import StateFilter
from aiogram.types import BufferedInputFile, CallbackQuery, Message

from rivet_contracts import Role
from rivet_contracts.attachments import AttachmentKind, AttachmentView, Rendition
from rivet_contracts.auth import TelegramIdentity
from rivet_contracts.workorders import OPEN_STATUSES, ListWorkOrders, WorkOrderSort

from .. import chat, objects
from ..bot import keyboards
from ..bot.callbacks import FileCb, WoCb
from ..bot.routing import Handlers
from ..render import attachments as render
from ..render.workorders import WO_NUMBER
from ..rivet import RivetError, UserApi
from ..state import TelegramState
from .common import edit

router = Handlers("attach")
FILES_SENT = 10
"""Files the card's button sends at most (the rest: the web app)."""
CHOICES = 8
"""Open orders offered for a file at most."""


@dataclass(frozen=True)
class Incoming:
    """A photo or a file as Telegram offers it."""

    file_id: str
    filename: str
    caption: str | None
    size: int | None
    image: bool

    @classmethod
    def of(cls, message: Message) -> "Incoming | None":
        caption = (message.caption or "").strip()[:1000] or None
        if message.photo:
            best = message.photo[-1]
            name = f"photo-{message.date:%Y%m%d-%H%M%S}.jpg"
            return cls(best.file_id, name, caption, best.file_size, True)
        document = message.document
        if document is None:
            return None
        name = (document.file_name or "").strip()[:255] or f"file-{message.date:%Y%m%d-%H%M%S}"
        image = (document.mime_type or "").startswith("image/")
        return cls(document.file_id, name, caption, document.file_size, image)


def replied_number(message: Message) -> str | None:
    """The order named in the bot message this one replies to (a card, a notification)."""
    replied = message.reply_to_message
    if replied is None or replied.from_user is None or not replied.from_user.is_bot:
        return None
    found = WO_NUMBER.search(replied.text or replied.caption or "")
    return found.group(0) if found else None


async def order_for(message: Message, me: TelegramIdentity, app: TelegramState) -> Any:
    """Filter: a photo or a file with an order to go on (``number``)."""
    if not (message.photo or message.document):
        return False
    number = replied_number(message)
    if number is None:
        ttl = app.settings.telegram_order_context_ttl
        number = await chat.order_in_view(app.db, message.chat.id, me.user.id, ttl)
    return {"number": number} if number else False


@router.message(StateFilter(None), F.photo | F.document, order_for)
async def attach_sent(
    message: Message,
    number: str,
    bot: Bot,
    me: TelegramIdentity,
    api: UserApi,
    app: TelegramState,
) -> None:
    incoming = Incoming.of(message)
    assert incoming is not None  # the filter saw a photo or a document
    key = f"telegram:{message.chat.id}:{message.message_id}:{number}"
    await attach(message, incoming, number, key, bot=bot, me=me, api=api, app=app)


def not_an_image(message: Message) -> bool:
    incoming = Incoming.of(message)
    return incoming is not None and not incoming.image


@router.message(StateFilter(None), F.document, F.func(not_an_image))
async def file_without_order(
    message: Message, me: TelegramIdentity, api: UserApi, app: TelegramState
) -> None:
    """A file that is not an image, and no order in view: which open order is it for?"""
    incoming = Incoming.of(message)
    assert incoming is not None
    kept = await keep(app, message, me, incoming)
    await offer_orders(message, api, me, kept, incoming.filename)


async def keep(app: TelegramState, message: Message, me: TelegramIdentity, file: Incoming) -> int:
    """Keep a file for "Attach to an order"; its id for the buttons."""
    return await chat.keep_file(
        app.db, message.chat.id, me.user.id, file.file_id, file.filename, file.caption, file.size
    )


async def attach(
    answer_to: Message,
    file: Incoming | chat.PendingFile,
    number: str,
    key: str,
    *,
    bot: Bot,
    me: TelegramIdentity,
    api: UserApi,
    app: TelegramState,
) -> bool:
    """Put ``file`` on the order and answer in ``answer_to``'s chat; whether it went on."""
    size = file.size if isinstance(file, Incoming) else file.size_bytes
    if not me.identity.role.at_least(Role.TECHNICIAN):
        await answer_to.answer(render.VIEWERS)
        return False
    if size is not None and size > render.TELEGRAM_LIMIT:
        await answer_to.answer(render.TOO_BIG_FOR_TELEGRAM)
        return False
    download = await bot.download(file.file_id)
    data = download.read() if download is not None else b""
    # the same key and bytes are the same upload: a repeat is the same request, answered once
    seed = f"{me.user.org_id}:{me.user.id}:{key}:{hashlib.sha256(data).hexdigest()}"
    upload_key = f"telegram/{hashlib.sha256(seed.encode()).hexdigest()}"
    await app.uploads.put(data, prefix="telegram", key=upload_key)
    try:
        added = await api.attach_to_order(number, upload_key, file.filename, file.caption, key)
    except RivetError as exc:
        await answer_to.answer(render.not_attached(number, exc.code, exc.info.message))
        return False
    await chat.show_order(app.db, answer_to.chat.id, me.user.id, number)
    count = await count_files(api, number)
    text = render.attached(number, added, count)
    markup = keyboards.open_order(number)
    thumbnail = await read_rendition(api, app, added, Rendition.THUMBNAIL)
    if thumbnail is not None:
        photo = BufferedInputFile(thumbnail, filename="thumbnail.jpg")
        await answer_to.answer_photo(photo, caption=text, reply_markup=markup)
    else:
        await answer_to.answer(text, reply_markup=markup)
    return True


async def all_files(api: UserApi, number: str) -> list[AttachmentView]:
    """The order's attachments, oldest first (every page)."""
    found: list[AttachmentView] = []
    page = await api.order_attachments(number)
    found += page.items
    while page.next_after is not None:
        page = await api.order_attachments(number, page.next_after)
        found += page.items
    return found


async def count_files(api: UserApi, number: str) -> int:
    """How many files the order has now, as the attachments service counts them (the order's
    own count follows its events a moment later)."""
    return len(await all_files(api, number))


async def read_rendition(
    api: UserApi, app: TelegramState, item: AttachmentView, rendition: Rendition
) -> bytes | None:
    """The bytes of one of the attachment's renditions; None when it has no such rendition or
    the file cannot be read now."""
    if rendition not in item.renditions:
        return None
    return await objects.read_file(api, app.files, item.id, rendition)


# --- a file kept for the chat -------------------------------------------------------------------


async def offer_orders(
    message: Message,
    api: UserApi,
    me: TelegramIdentity,
    file: int,
    filename: str,
) -> None:
    """Open orders (the user's own first, else the organization's) to put the kept file on."""
    open_ = sorted(OPEN_STATUSES)
    mine = ListWorkOrders(
        assignee_id=me.identity.user_id, status=open_, sort=WorkOrderSort.DUE, limit=CHOICES
    )
    orders = (await api.list_work_orders(mine)).items
    if not orders:
        everyone = ListWorkOrders(status=open_, sort=WorkOrderSort.DUE, limit=CHOICES)
        orders = (await api.list_work_orders(everyone)).items
    if not orders:
        text, markup = render.NO_OPEN_ORDERS, None
    else:
        text, markup = render.which_order(filename), keyboards.order_choices(orders, file)
    await message.answer(text, reply_markup=markup)


@router.callback_query(FileCb.filter(F.action == "pick"))
async def pick(
    query: CallbackQuery,
    callback_data: FileCb,
    me: TelegramIdentity,
    api: UserApi,
    app: TelegramState,
) -> None:
    if not isinstance(query.message, Message):
        await query.answer()
        return
    kept = await chat.pending_file(app.db, callback_data.file, query.message.chat.id, me.user.id)
    if kept is None:
        await query.answer(render.GONE, show_alert=True)
        return
    await query.answer()
    await offer_orders(query.message, api, me, kept.id, kept.filename)


@router.callback_query(FileCb.filter((F.action == "to") & F.number.regexp(WO_NUMBER.pattern)))
async def attach_kept(
    query: CallbackQuery,
    callback_data: FileCb,
    bot: Bot,
    me: TelegramIdentity,
    api: UserApi,
    app: TelegramState,
) -> None:
    if not isinstance(query.message, Message):
        await query.answer()
        return
    kept = await chat.pending_file(app.db, callback_data.file, query.message.chat.id, me.user.id)
    if kept is None:
        await query.answer(render.GONE, show_alert=True)
        return
    await query.answer()
    number = callback_data.number
    await edit(query.message, render.going_to(kept.filename, number))
    key = f"telegram:file:{kept.id}:{number}"
    if await attach(query.message, kept, number, key, bot=bot, me=me, api=api, app=app):
        await chat.forget_file(app.db, kept.id)


@router.callback_query(FileCb.filter(F.action == "drop"))
async def drop(
    query: CallbackQuery, callback_data: FileCb, me: TelegramIdentity, app: TelegramState
) -> None:
    if isinstance(query.message, Message):
        chat_id = query.message.chat.id
        kept = await chat.pending_file(app.db, callback_data.file, chat_id, me.user.id)
        if kept is not None:
            await chat.forget_file(app.db, kept.id)
        await edit(query.message, "✖️ Not attached.")
    await query.answer()


# --- an order's files, sent back ----------------------------------------------------------------


@router.callback_query(WoCb.filter(F.action == "files"))
async def send_files(
    query: CallbackQuery, callback_data: WoCb, bot: Bot, api: UserApi, app: TelegramState
) -> None:
    """Images as photos (their screen copy), other files as documents (the original)."""
    number = callback_data.number
    items = await all_files(api, number)
    if not items:
        await query.answer(f"{number} has no files.")
        return
    await query.answer(f"Sending {render.files(min(len(items), FILES_SENT))}…")
    chat_id = query.message.chat.id if query.message is not None else query.from_user.id
    for item in items[:FILES_SENT]:
        image = item.kind is AttachmentKind.IMAGE
        screen = image and Rendition.SCREEN in item.renditions
        rendition = Rendition.SCREEN if screen else Rendition.ORIGINAL
        data = await read_rendition(api, app, item, rendition)
        if data is None:
            await bot.send_message(chat_id, render.missing_file(item))
            continue
        caption = render.sent_caption(number, item)
        upload = BufferedInputFile(data, filename=item.filename)
        if image:
            await bot.send_photo(chat_id, upload, caption=caption)
        else:
            await bot.send_document(chat_id, upload, caption=caption)
    if len(items) > FILES_SENT:
        await bot.send_message(chat_id, render.more_files(number, len(items) - FILES_SENT))
