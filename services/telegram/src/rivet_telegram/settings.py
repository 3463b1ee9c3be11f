"""Telegram service settings (environment variables; see README and docs/telegram.md)."""

from enum import StrEnum

from pydantic import Field, model_validator

from rivet_runtime import ServiceSettings


class BotMode(StrEnum):
    POLLING = "polling"
    WEBHOOK = "webhook"


class TelegramSettings(ServiceSettings):
    service_name: str = "telegram"
    http_port: int = 8105

    telegram_bot_token: str = Field(
        default="",
        description="Bot token from @BotFather; without it `make run` does not start the bot.",
    )
    telegram_api_base: str = Field(
        default="https://api.telegram.org",
        description="Bot API server: Telegram's, or a local Bot API server (the tests use a fake).",
    )
    telegram_mode: BotMode = Field(
        default=BotMode.POLLING,
        description="`polling` (getUpdates; no public address needed) or `webhook`.",
    )
    telegram_webhook_url: str | None = Field(
        default=None,
        description="Public HTTPS URL Telegram posts updates to in webhook mode; it must reach "
        "TELEGRAM_WEBHOOK_PATH on this service's HTTP port (e.g. through a reverse proxy).",
    )
    telegram_webhook_path: str = Field(
        default="/telegram/webhook", description="Path of the webhook endpoint on HTTP_PORT."
    )
    telegram_webhook_secret: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_-]{16,256}$",
        description="Secret Telegram sends in `X-Telegram-Bot-Api-Secret-Token` (16-256 of "
        "A-Z a-z 0-9 _ -); webhook requests without it are refused. Required in webhook mode.",
    )
    telegram_polling_timeout: int = Field(
        default=25, ge=0, le=50, description="Long-polling wait of getUpdates (seconds)."
    )
    telegram_identity_ttl: float = Field(
        default=60.0,
        ge=0,
        description="Seconds a Telegram user's Rivet identity (organization, role) is cached; "
        "a `user.telegram_linked` event refreshes it at once.",
    )
    telegram_scan_wait: float = Field(
        default=45.0,
        gt=0,
        le=600,
        description="Seconds the bot follows a nameplate scan before it says it is still busy.",
    )
    telegram_order_context_ttl: float = Field(
        default=1800.0,
        ge=0,
        description="Seconds after a chat opened a work order's card during which a photo or a "
        "file sent there goes on that order (0: only replies to the order's messages do).",
    )
    telegram_retry_max_wait: float = Field(
        default=30.0,
        ge=0,
        description="A 429 answer asking to wait up to this many seconds is waited out and the "
        "call repeated; a longer wait is left to the caller (notifications are rescheduled).",
    )
    telegram_notify_rate: float = Field(
        default=20.0,
        gt=0,
        le=30,
        description="Notifications sent per second at most (Telegram allows about 30).",
    )
    telegram_notify_poll: float = Field(
        default=5.0,
        gt=0,
        description="Seconds between notification sender passes when no new one is signalled.",
    )
    telegram_notify_max_age: float = Field(
        default=86_400.0,
        gt=0,
        description="Seconds a notification that keeps failing (network, Telegram errors other "
        "than 429) is retried before it is marked failed.",
    )

    @model_validator(mode="after")
    def _webhook_needs_url_and_secret(self) -> "TelegramSettings":
        if self.telegram_mode is BotMode.WEBHOOK and not (
            self.telegram_webhook_url and self.telegram_webhook_secret
        ):
            raise ValueError(
                "TELEGRAM_MODE=webhook needs TELEGRAM_WEBHOOK_URL and TELEGRAM_WEBHOOK_SECRET"
            )
        return self

    @property
    def bot_id(self) -> int:
        """The bot's numeric id: the part of the token before the colon."""
        head = self.telegram_bot_token.partition(":")[0]
        return int(head) if head.isdigit() else 0
