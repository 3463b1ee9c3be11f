"""Auth service entry point: ``rivet-auth [serve|migrate]``."""

from pathlib import Path

from rivet_contracts.streams import USERS
from rivet_runtime import ServiceRuntime
from rivet_runtime.cli import run_service

from .accounts.handlers import router as accounts
from .api_keys.handlers import router as api_keys
from .audit.handlers import router as audit
from .emails.handlers import router as emails
from .members.handlers import router as members
from .organizations.handlers import router as organizations
from .passwords.handlers import router as passwords
from .passwords.jobs import jobs as password_jobs
from .sessions.handlers import router as sessions
from .sessions.jobs import jobs as session_jobs
from .settings import AuthSettings
from .state import AuthState
from .tables import SCHEMA
from .telegram.handlers import router as telegram
from .webhooks.events import router as webhook_events

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
    routers = (
        accounts,
        api_keys,
        audit,
        emails,
        members,
        organizations,
        sessions,
        passwords,
        telegram,
    )
    for router in routers:
        runtime.include_rpc(router)
    for jobs in (password_jobs, session_jobs):
        runtime.include_jobs(jobs)
    runtime.include_events(webhook_events)  # mail the admins about a disabled endpoint
    return runtime


def cli() -> None:
    run_service(build)
