"""Telegram service entry point: ``rivet-telegram [serve|migrate]``.

The process is a regular Rivet service (database, NATS, consumers, /health, /ready, /metrics on
HTTP_PORT) with the bot started once the runtime is up; in webhook mode the same HTTP server
also receives Telegram's updates on TELEGRAM_WEBHOOK_PATH.
"""

from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import Route

from rivet_runtime import ServiceRuntime
from rivet_runtime.cli import run_service

from .bot.who import Identities
from .notify.events import router as notifications
from .rivet import Rivet
from .service import BotService
from .settings import BotMode, TelegramSettings
from .state import TelegramState
from .tables import SCHEMA

MIGRATIONS = Path(__file__).parent / "migrations"


def build(settings: TelegramSettings | None = None) -> ServiceRuntime[TelegramState]:
    settings = settings or TelegramSettings()
    if not settings.telegram_bot_token:
        raise SystemExit("TELEGRAM_BOT_TOKEN is not set: the Telegram bot cannot start")
    state = TelegramState(settings)
    runtime = ServiceRuntime(
        settings, state, schema=SCHEMA, migrations=MIGRATIONS, uses_uploads=True
    )
    runtime.include_events(notifications)
    state.runtime = runtime
    state.rivet = Rivet(runtime.client, settings)
    state.identities = Identities(state.rivet, settings.telegram_identity_ttl)
    service = BotService(state, runtime)
    state.service = service
    runtime.on_started.append(service.start)
    runtime.on_stopping.append(service.stop)
    return runtime


def create_app(runtime: ServiceRuntime[TelegramState]) -> Starlette:
    """/health, /ready, /metrics and, in webhook mode, the webhook endpoint."""
    routes = runtime.ops_routes()
    settings, service = runtime.state.settings, runtime.state.service
    if settings.telegram_mode is BotMode.WEBHOOK and service is not None:
        routes.append(Route(settings.telegram_webhook_path, service.webhook, methods=["POST"]))
    return Starlette(routes=routes, lifespan=runtime.lifespan)


def cli() -> None:
    run_service(build, create_app)
