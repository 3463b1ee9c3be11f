"""What the bot's handlers, consumers and jobs share for the life of the process."""

from dataclasses import dataclass

from aiogram import Bot

from rivet_contracts import attachments
from rivet_contracts.auth import TelegramIdentity
from rivet_runtime.db import Database
from rivet_runtime.service import Connected
from rivet_runtime.uploads import UploadStore

from .bot.client import create_bot
from .bot.who import Identities
from .notify import users
from .rivet import Rivet
from .settings import TelegramSettings


@dataclass(frozen=True)
class TelegramState:
    settings: TelegramSettings
    db: Database
    uploads: UploadStore
    """Where photos go before the OCR or the attachments service reads them."""
    files: UploadStore
    """The attachments' files (the attachments service writes them; the bot reads a thumbnail
    to confirm an attachment and the files an order's card sends)."""
    rivet: Rivet
    """Requests to Rivet's services, on the runtime's client."""
    identities: Identities
    bot: Bot
    """The Bot API client (updates, replies and notifications all go through it)."""

    @classmethod
    def connected(cls, settings: TelegramSettings, resources: Connected) -> "TelegramState":
        if resources.db is None or resources.uploads is None:
            raise RuntimeError("the Telegram service runs with a database and the upload store")
        rivet = Rivet(resources.client, settings)
        return cls(
            settings=settings,
            db=resources.db,
            uploads=resources.uploads,
            files=UploadStore(resources.uploads.js, settings, bucket=attachments.BUCKET, ttl=None),
            rivet=rivet,
            identities=Identities(rivet, settings.telegram_identity_ttl),
            bot=create_bot(settings),
        )

    async def linked(self, telegram_user_id: int, me: TelegramIdentity) -> None:
        """Remember a link made through this bot at once (the event confirms it later), so the
        user's notifications do not wait for ``user.telegram_linked`` to arrive."""
        self.identities.remember(telegram_user_id, me)
        async with self.db.transaction() as conn:
            await users.link(
                conn,
                user_id=me.user.id,
                org_id=me.user.org_id,
                telegram_user_id=telegram_user_id,
                full_name=me.user.full_name,
            )
