"""Texts of joining by invitation and of the account commands (/invite, /email, /verify,
/password)."""

from rivet_contracts.auth import EmailVerificationStarted, InvitationView, TelegramIdentity

from .common import esc, when
from .help import HELP

INVITE_USAGE = (
    "Usage: <code>/invite</code> [<code>technician</code>|<code>viewer</code>|"
    "<code>admin</code>] (technician if you leave it out)."
)
INVITE_ADMINS_ONLY = "🔒 Only admins of the organization can invite people."
NO_BOT_LINK = (
    "⚠️ The invitation was made, but Rivet does not know this bot's username "
    "(<code>TELEGRAM_BOT_USERNAME</code> of the auth service), so there is no link to pass on."
)
BAD_INVITATION = """❌ That invitation is unknown, used, withdrawn or expired.
Ask whoever invited you for a new link."""
ALREADY_MEMBER = (
    "🙂 Your Telegram account already belongs to a Rivet account, so it cannot join through an "
    "invitation. Ask the admin to use another Telegram account, or send /start to see yours."
)
EMAIL_USAGE = (
    "Usage: <code>/email you@example.com</code>: I send a six-digit code to that address; "
    "then send <code>/verify CODE</code>."
)
VERIFY_USAGE = "Usage: <code>/verify 123456</code>: the six digits from the mail."
NEEDS_EMAIL = (
    "✉️ Your account has no confirmed e-mail address yet, so there is nowhere to send a reset "
    "link. First set one: <code>/email you@example.com</code>, then <code>/verify CODE</code>."
)


def invitation(view: InvitationView, link: str) -> str:
    return (
        f"✉️ <b>Invitation for a {esc(view.role.value)}</b>\n"
        f"Forward this link to the person you invite:\n{esc(link, 200)}\n\n"
        f"It works once, until {esc(when(view.expires_at))}: whoever opens it first joins "
        "your organization."
    )


def joined(me: TelegramIdentity) -> str:
    user = me.user
    return (
        f"🎉 Welcome, <b>{esc(user.full_name, 100)}</b>: you joined "
        f"<b>{esc(user.organization_name, 100)}</b> as {esc(user.role.value)}.\n\n{HELP}"
    )


def code_sent(started: EmailVerificationStarted) -> str:
    return (
        f"📨 I sent a six-digit code to <b>{esc(started.email, 320)}</b>. Send it as "
        f"<code>/verify CODE</code> before {esc(when(started.expires_at))}."
    )


def verified(email: str) -> str:
    return (
        f"✅ <b>{esc(email, 320)}</b> is now your account's address. "
        "Send /password to choose a password for the web app."
    )


def reset_sent(email: str) -> str:
    return (
        f"📨 A link to choose your password is on its way to <b>{esc(email, 320)}</b>. "
        "It works once, for 30 minutes."
    )
