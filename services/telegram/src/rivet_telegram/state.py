"""What the bot's handlers, consumers and background loops share for the life of the process."""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rivet_contracts.auth import TelegramIdentity
from rivet_runtime import ServiceRuntime
from rivet_runtime.db import Database
from rivet_runtime.uploads import UploadStore

from .bot.who import Identities
from .notify import users
from .rivet import Rivet, RivetUnavailable
from .settings import TelegramSettings

if TYPE_CHECKING:
    from .service import BotService


@dataclass
class TelegramState:
    settings: TelegramSettings
    rivet: Rivet = field(init=False)
    """Requests to Rivet's services, on the runtime's client (``main.build`` sets it)."""
    identities: Identities = field(init=False)
    runtime: ServiceRuntime[Any] | None = None
    service: "BotService | None" = None

    @property
    def db(self) -> Database:
        if self.runtime is None or self.runtime.db is None:
            raise RuntimeError("the Telegram service runs with a database")
        return self.runtime.db

    def uploads(self) -> UploadStore:
        """The upload store photos go into before the OCR service reads them."""
        store = self.runtime.uploads if self.runtime is not None else None
        if store is None:
            raise RivetUnavailable("the upload store is not ready yet")
        return store

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
