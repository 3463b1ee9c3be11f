"""Auth service entry point: ``rivet-auth [serve|migrate]``."""

from pathlib import Path

from rivet_contracts.streams import USERS
from rivet_runtime import ServiceRuntime
from rivet_runtime.cli import run_service

from .accounts.handlers import router as accounts
from .passwords.handlers import router as passwords
from .passwords.jobs import jobs as password_jobs
from .sessions.handlers import router as sessions
from .settings import AuthSettings
from .state import AuthState
from .tables import SCHEMA
from .telegram.handlers import router as telegram

MIGRATIONS = Path(__file__).parent / "migrations"


def build(settings: AuthSettings | None = None) -> ServiceRuntime[AuthState]:
    settings = settings or AuthSettings()
    runtime = ServiceRuntime(
        settings,
        AuthState.from_settings(settings),
        schema=SCHEMA,
        migrations=MIGRATIONS,
        publishes=(USERS,),
        sends_mail=True,
    )
    for router in (accounts, sessions, passwords, telegram):
        runtime.include_rpc(router)
    runtime.include_jobs(password_jobs)
    return runtime


def cli() -> None:
    run_service(build)
