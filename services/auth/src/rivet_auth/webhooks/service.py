"""A disabled webhook endpoint, told to its organization's admins by mail (queued in the
event's transaction: the mail outbox sends it after the commit). Never commits: the runtime
does."""

import logging
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

from rivet_contracts.integrations import WebhookEndpointDisabled
from rivet_runtime import EventContext, mail

from ..state import AuthState
from . import repository as repo
from . import rules

log = logging.getLogger(__name__)

TEMPLATES = mail.MailTemplates(Path(__file__).parent / "mail")


async def mail_admins(
    ctx: EventContext[AuthState], event_id: UUID, org_id: UUID, data: WebhookEndpointDisabled
) -> int:
    """One mail per admin (keyed by event and admin: queued again, it is sent once)."""
    admins = rules.recipients(await repo.active_admins(ctx.conn, org_id))
    api = ctx.state.settings.public_url.rstrip("/")
    for admin in admins:
        await mail.queue(
            ctx.conn,
            TEMPLATES.render(
                "endpoint_disabled",
                key=f"webhook-disabled:{event_id}:{admin['id']}",
                to=admin["email"],
                full_name=admin["full_name"],
                organization_name=admin["organization_name"],
                url=data.url,
                webhook_id=str(data.webhook_id),
                reason=data.reason,
                failing_since=_when(data.failing_since or data.disabled_at),
                disabled_at=_when(data.disabled_at),
                route=f"{api}/api/integrations/webhooks/{data.webhook_id}",
            ),
        )
    if not admins:
        log.warning("webhook %s of org %s disabled: no admin to mail", data.webhook_id, org_id)
    return len(admins)


def _when(moment: datetime) -> str:
    """``2026-12-07 21:04 UTC``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
