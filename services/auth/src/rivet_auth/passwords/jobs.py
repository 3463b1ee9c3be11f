"""Turns "forgot password" requests into reset links by mail (a queue job).

Each request is looked at once (taken and deleted in the job's transaction, shared by the
replicas): an address without an active account gets nothing; an account that already had
``PASSWORD_RESET_LIMIT`` links in the last hour gets no more; otherwise a one-time token (256
random bits, stored as its SHA-256) is recorded and its link mailed, in the same transaction.
"""

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

from rivet_runtime import mail
from rivet_runtime.jobs import JobContext, JobRouter

from ..security import secrets
from ..state import AuthState
from . import repository as repo
from .service import CHANNEL

log = logging.getLogger(__name__)

BATCH = 50
TEMPLATES = mail.MailTemplates(Path(__file__).parent / "mail")

jobs: JobRouter[AuthState] = JobRouter()


@jobs.queue("password-resets", channel=CHANNEL)
async def mail_reset_links(ctx: JobContext[AuthState]) -> int:
    settings = ctx.state.settings
    now = datetime.now(UTC)
    async with ctx.transaction() as conn:
        requests = await repo.take_requests(conn, BATCH)
        for request in requests:
            user = await repo.account_by_email(conn, request["email"])
            if user is None or not user["is_active"]:
                continue
            recent = await repo.resets_since(conn, user["id"], now - timedelta(hours=1))
            if recent >= settings.password_reset_limit:
                log.info("reset link for %s not sent: %d in the last hour", user["id"], recent)
                continue
            reset_id, secret = uuid4(), secrets.new_secret()
            expires_at = now + timedelta(seconds=settings.password_reset_ttl)
            await repo.insert_reset(conn, reset_id, user["id"], secrets.digest(secret), expires_at)
            token = secrets.compose(reset_id, secret)
            link = f"{settings.public_url.rstrip('/')}/reset-password?token={token}"
            await mail.queue(
                conn,
                TEMPLATES.render(
                    "reset",
                    key=f"reset:{reset_id}",
                    to=user["email"],
                    full_name=user["full_name"],
                    organization_name=user["organization_name"],
                    link=link,
                    token=token,
                    minutes=settings.password_reset_ttl // 60,
                ),
            )
    return len(requests)
