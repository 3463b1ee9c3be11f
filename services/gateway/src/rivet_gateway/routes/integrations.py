"""``/api/integrations/webhooks``: the organization's webhook endpoints (admins), their delivery
log, redelivery and replay. Events are signed per Standard Webhooks (docs/integrations.md)."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response

from rivet_contracts import Done, Rpc
from rivet_contracts import integrations as contract

from ..deps import Caller, Fwd, KeyedCaller
from .docs import errors

webhooks = APIRouter(tags=["webhooks"])

WebhookId = Annotated[UUID, Path(description="The endpoint's id.")]
DeliveryId = Annotated[UUID, Path(description="The delivery's id (`delivery_id` in the log).")]
WebhookQuery = Annotated[contract.ListWebhooks, Query()]
Before = Annotated[
    int | None, Query(ge=1, description="The previous page's `next_before` (none: the newest).")
]
Limit = Annotated[int, Query(ge=1, le=200, description="Attempts per page, newest first.")]
BASE = "/api/integrations/webhooks"


@webhooks.get(BASE, response_model=contract.WebhookPage, responses=errors(401, 403, 422))
async def list_webhooks(query: WebhookQuery, fwd: Fwd, meta: Caller) -> Response:
    """Your organization's webhook endpoints, oldest first, with their delivery figures
    (admins; `limit` at most 200, `after` = the previous page's `next_after`)."""
    return await fwd.call(Rpc.INTEGRATIONS_LIST_WEBHOOKS, query, meta)


@webhooks.post(
    BASE,
    status_code=201,
    response_model=contract.WebhookSecret,
    responses=errors(401, 403, 409, 422),
)
async def create_webhook(body: contract.CreateWebhook, fwd: Fwd, meta: KeyedCaller) -> Response:
    """Register an endpoint (admins): `url` (http or https; a host that is or resolves to a
    private, loopback, link-local or other internal address is refused with 422), the
    `event_types` it takes (exported types such as `wo.created`, patterns such as `wo.*`, or
    `*`), a `description`. The answer carries the signing `secret` (`whsec_...`): it is shown
    only here and after a rotation."""
    return await fwd.call(Rpc.INTEGRATIONS_CREATE_WEBHOOK, body, meta)


@webhooks.get(
    BASE + "/{webhook_id}",
    response_model=contract.WebhookView,
    responses=errors(401, 403, 404, 422),
)
async def get_webhook(webhook_id: WebhookId, fwd: Fwd, meta: Caller) -> Response:
    """One endpoint with its figures: pending, delivered and failed deliveries, last success,
    failing since, and why Rivet disabled it, if it did (admins)."""
    request = contract.GetWebhook(webhook_id=webhook_id)
    return await fwd.call(Rpc.INTEGRATIONS_GET_WEBHOOK, request, meta)


@webhooks.patch(
    BASE + "/{webhook_id}",
    response_model=contract.WebhookView,
    responses=errors(401, 403, 404, 422),
)
async def update_webhook(
    webhook_id: WebhookId, body: contract.WebhookChanges, fwd: Fwd, meta: Caller
) -> Response:
    """Change the fields present in the body (admins). `enabled: true` switches an endpoint
    Rivet disabled back on; its deliveries still pending go out again."""
    request = contract.UpdateWebhook(webhook_id=webhook_id, changes=body)
    return await fwd.call(Rpc.INTEGRATIONS_UPDATE_WEBHOOK, request, meta)


@webhooks.delete(BASE + "/{webhook_id}", response_model=Done, responses=errors(401, 403, 404, 422))
async def delete_webhook(webhook_id: WebhookId, fwd: Fwd, meta: Caller) -> Response:
    """Delete an endpoint with its deliveries and their log (admins)."""
    request = contract.DeleteWebhook(webhook_id=webhook_id)
    return await fwd.call(Rpc.INTEGRATIONS_DELETE_WEBHOOK, request, meta)


@webhooks.post(
    BASE + "/{webhook_id}/rotate-secret",
    response_model=contract.WebhookSecret,
    responses=errors(401, 403, 404, 422),
)
async def rotate_webhook_secret(webhook_id: WebhookId, fwd: Fwd, meta: Caller) -> Response:
    """A new signing secret, shown only in this answer (admins). For 24 hours the previous
    secret signs too: each request carries both signatures, so receivers switch over when
    they like."""
    request = contract.RotateWebhookSecret(webhook_id=webhook_id)
    return await fwd.call(Rpc.INTEGRATIONS_ROTATE_WEBHOOK_SECRET, request, meta)


@webhooks.get(
    BASE + "/{webhook_id}/deliveries",
    response_model=contract.DeliveryLog,
    responses=errors(401, 403, 404, 422),
)
async def list_webhook_deliveries(
    webhook_id: WebhookId, fwd: Fwd, meta: Caller, before: Before = None, limit: Limit = 50
) -> Response:
    """The endpoint's delivery log, newest attempt first (admins): the event, the attempt's
    number, time, HTTP status, duration and error, and the delivery's status now."""
    request = contract.ListWebhookDeliveries(webhook_id=webhook_id, before=before, limit=limit)
    return await fwd.call(Rpc.INTEGRATIONS_LIST_WEBHOOK_DELIVERIES, request, meta)


@webhooks.post(
    BASE + "/{webhook_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    response_model=contract.Queued,
    responses=errors(401, 403, 404, 422),
)
async def redeliver_webhook(
    webhook_id: WebhookId, delivery_id: DeliveryId, fwd: Fwd, meta: Caller
) -> Response:
    """Send one delivery again, now, with the whole retry schedule ahead (admins)."""
    request = contract.RedeliverWebhook(webhook_id=webhook_id, delivery_id=delivery_id)
    return await fwd.call(Rpc.INTEGRATIONS_REDELIVER_WEBHOOK, request, meta)


@webhooks.post(
    BASE + "/{webhook_id}/replay",
    status_code=202,
    response_model=contract.Queued,
    responses=errors(401, 403, 404, 422),
)
async def replay_webhook(
    webhook_id: WebhookId, body: contract.WebhookReplay, fwd: Fwd, meta: Caller
) -> Response:
    """Send again the organization's events that occurred between `since` and `until` (at
    most 31 days) and that this endpoint takes, from the events kept for webhooks (30 days)
    (admins)."""
    request = contract.ReplayWebhook(webhook_id=webhook_id, since=body.since, until=body.until)
    return await fwd.call(Rpc.INTEGRATIONS_REPLAY_WEBHOOK, request, meta)
