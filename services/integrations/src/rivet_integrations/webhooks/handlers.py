"""Request handlers for webhook endpoints (admins): parse nothing, decide nothing - hand over."""

from rivet_contracts import Done, Rpc
from rivet_contracts import integrations as contract
from rivet_runtime import RpcRouter

from ..state import IntegrationsState
from . import service
from .service import Ctx

router: RpcRouter[IntegrationsState] = RpcRouter()


@router.handler(Rpc.INTEGRATIONS_CREATE_WEBHOOK, own_transaction=True)
async def create_webhook(req: contract.CreateWebhook, ctx: Ctx) -> contract.WebhookSecret:
    return await service.create(ctx, req)  # resolves the URL's host first


@router.handler(Rpc.INTEGRATIONS_UPDATE_WEBHOOK, own_transaction=True)
async def update_webhook(req: contract.UpdateWebhook, ctx: Ctx) -> contract.WebhookView:
    return await service.update(ctx, req)  # may resolve a new URL's host first


@router.handler(Rpc.INTEGRATIONS_GET_WEBHOOK)
async def get_webhook(req: contract.GetWebhook, ctx: Ctx) -> contract.WebhookView:
    return await service.get(ctx, req)


@router.handler(Rpc.INTEGRATIONS_LIST_WEBHOOKS)
async def list_webhooks(req: contract.ListWebhooks, ctx: Ctx) -> contract.WebhookPage:
    return await service.list_page(ctx, req)


@router.handler(Rpc.INTEGRATIONS_DELETE_WEBHOOK)
async def delete_webhook(req: contract.DeleteWebhook, ctx: Ctx) -> Done:
    return await service.delete(ctx, req)


@router.handler(Rpc.INTEGRATIONS_ROTATE_WEBHOOK_SECRET)
async def rotate_webhook_secret(
    req: contract.RotateWebhookSecret, ctx: Ctx
) -> contract.WebhookSecret:
    return await service.rotate(ctx, req)


@router.handler(Rpc.INTEGRATIONS_LIST_WEBHOOK_DELIVERIES)
async def list_webhook_deliveries(
    req: contract.ListWebhookDeliveries, ctx: Ctx
) -> contract.DeliveryLog:
    return await service.deliveries(ctx, req)


@router.handler(Rpc.INTEGRATIONS_REDELIVER_WEBHOOK)
async def redeliver_webhook(req: contract.RedeliverWebhook, ctx: Ctx) -> contract.Queued:
    return await service.redeliver(ctx, req)


@router.handler(Rpc.INTEGRATIONS_REPLAY_WEBHOOK)
async def replay_webhook(req: contract.ReplayWebhook, ctx: Ctx) -> contract.Queued:
    return await service.replay(ctx, req)
