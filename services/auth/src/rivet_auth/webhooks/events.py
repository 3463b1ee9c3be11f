"""``webhook.endpoint_disabled`` (the integrations service gave up on an endpoint): its
organization's admins are mailed. The runtime's inbox takes each event once, so a redelivered
event mails nobody twice."""

from typing import Any

from rivet_contracts import EventEnvelope, Events
from rivet_contracts.integrations import WebhookEndpointDisabled
from rivet_runtime import EventContext, EventRouter

from ..state import AuthState
from . import service

router: EventRouter[AuthState] = EventRouter()


@router.on(Events.WEBHOOK_ENDPOINT_DISABLED, consumer="auth-webhook-disabled")
async def endpoint_disabled(event: EventEnvelope[Any], ctx: EventContext[AuthState]) -> None:
    data: WebhookEndpointDisabled = event.data
    if event.org_id is not None:
        await service.mail_admins(ctx, event.event_id, event.org_id, data)
