"""``/help``, the command menu and the onboarding texts."""

from aiogram.types import BotCommand

from rivet_contracts.auth import TelegramIdentity

from .common import esc

COMMANDS = [
    BotCommand(command="wo", description="Work orders: list, view, create"),
    BotCommand(command="equip", description="Equipment: list, search, view"),
    BotCommand(command="scan", description="Scan a nameplate: the next photo registers an asset"),
    BotCommand(command="reading", description="Record a meter reading of an asset"),
    BotCommand(command="stats", description="Dashboard: assets, open, overdue and planned work"),
    BotCommand(command="invite", description="Invite someone (admins): a link to forward"),
    BotCommand(command="email", description="Set your e-mail address (a code is mailed)"),
    BotCommand(command="verify", description="Confirm your e-mail with the mailed code"),
    BotCommand(command="password", description="Get a link to set your web app password"),
    BotCommand(command="cancel", description="Stop what we are doing"),
    BotCommand(command="help", description="What I can do"),
    BotCommand(command="start", description="Link your Rivet account"),
]

HELP = """<b>Rivet in Telegram</b>
/wo list — your open work orders (buttons for open and all)
/wo view <i>WO-number</i> — one order, with buttons to start, hold, complete or cancel it \
and to tick its checklist
/wo create — report a problem, step by step
/equip list — the equipment registry
/equip search <i>text</i> — find equipment (typos are fine)
/equip view <i>EQ-number</i> — one asset, its meters
/reading <i>EQ-number value</i> [<i>unit or meter</i>] — record a meter reading
/stats — the dashboard, with planned maintenance
/invite [<i>technician|viewer|admin</i>] — a one-time link that lets someone join (admins)
/email <i>address</i> — set your e-mail address: I mail you a code
/verify <i>code</i> — confirm it with the six digits from the mail
/password — a link by mail to set your password for the web app
/cancel — stop what we are doing

/scan — the next photo is a nameplate: I register the equipment (a caption is its location)

📎 Reply to a work order message with a photo or a file to attach it (the caption goes with \
it); while an order's card is open, photos and files go on that order.
📷 A photo sent with no order open is read as a nameplate; its answer offers to attach it to \
an order instead.
💬 Reply to a work order message to add a comment."""

WELCOME_UNKNOWN = """👋 <b>Welcome to Rivet</b>, the maintenance assistant.
I don't know your Telegram account yet. Choose one:

🔗 <b>I have a Rivet account</b>: link it with a one-time code.
✨ <b>Create my workspace</b>: start fresh, with you as its admin."""

HOW_TO_LINK = """🔗 <b>Link your Rivet account</b>
1. In the Rivet web app, open your profile and choose <i>Link Telegram</i> \
(or call <code>POST /api/auth/link-telegram</code> with your access token).
2. Open the link you get, or send me <code>/start CODE</code>.
The code works once, for 10 minutes."""

BAD_CODE = """❌ That link code is unknown, used or expired.
Get a new one in the web app (<i>Link Telegram</i>) and send <code>/start CODE</code> again."""

PRIVATE_ONLY = "🔒 I only work in private chats. Open a chat with me to link your account."


def welcome_back(me: TelegramIdentity) -> str:
    user = me.user
    return (
        f"✅ Hello, <b>{esc(user.full_name, 100)}</b>: you are "
        f"{esc(user.role.value)} in <b>{esc(user.organization_name, 100)}</b>.\n\n{HELP}"
    )


def linked(me: TelegramIdentity) -> str:
    user = me.user
    return (
        f"✅ Linked to <b>{esc(user.full_name, 100)}</b> ({esc(user.email, 100)}), "
        f"{esc(user.role.value)} in <b>{esc(user.organization_name, 100)}</b>.\n\n{HELP}"
    )


def workspace_ready(me: TelegramIdentity) -> str:
    user = me.user
    return (
        f"✨ Your workspace <b>{esc(user.organization_name, 100)}</b> is ready; "
        f"you are its admin.\n\n{HELP}"
    )
