"""Telegram service entry point: ``rivet-telegram [serve|migrate]``.

The process is a regular Rivet service (database, NATS, consumers, jobs, /health, /ready,
/metrics on HTTP_PORT) with the bot started once the runtime is up; in webhook mode the same HTTP
server also receives Telegram's updates on TELEGRAM_WEBHOOK_PATH.
"""

from pathlib import Path

from starlette.routing import Route

from rivet_contracts import Events
from rivet_runtime import ServiceRuntime
from rivet_runtime.cli import run_service

from .jobs import jobs as housekeeping
from .notify.events import router as notifications
from .notify.jobs import jobs as sender
from .service import BotService
from .settings import BotMode, TelegramSettings
from .state import TelegramState
from .tables import SCHEMA

MIGRATIONS = Path(__file__).parent / "migrations"


def build(settings: TelegramSettings | None = None) -> ServiceRuntime[TelegramState]:
    settings = settings or TelegramSettings()
    if not settings.telegram_bot_token:
        raise SystemExit("TELEGRAM_BOT_TOKEN is not set: the Telegram bot cannot start")
    runtime: ServiceRuntime[TelegramState] = ServiceRuntime(
        settings,
        lambda resources: TelegramState.connected(settings, resources),
        schema=SCHEMA,
        migrations=MIGRATIONS,
        uses_uploads=True,
    )
    runtime.include_events(notifications)
    for jobs in (sender, housekeeping):
        runtime.include_jobs(jobs)
    # Every replica drops a cached identity at once when it changes (a plain subscription:
    # the durable consumer that keeps the users replica runs in one replica only).
    runtime.listen(
        Events.USER_TELEGRAM_LINKED,
        lambda event: runtime.state.identities.forget(event.data.telegram_user_id),
    )
    for changed in (Events.USER_DEACTIVATED, Events.USER_ROLE_CHANGED):
        runtime.listen(
            changed, lambda event: runtime.state.identities.forget_user(event.data.user_id)
        )
    bot = BotService(settings)
    runtime.on_started.append(lambda: bot.start(runtime.state))
    runtime.on_stopping.append(bot.stop)
    runtime.on_stopped.append(lambda: runtime.state.bot.session.close())
    if settings.telegram_mode is BotMode.WEBHOOK:
        runtime.http_routes.append(
            Route(settings.telegram_webhook_path, bot.webhook, methods=["POST"])
        )
    return runtime


def cli() -> None:
    run_service(build)
