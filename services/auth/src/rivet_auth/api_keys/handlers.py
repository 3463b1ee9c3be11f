"""Request handlers for API keys."""

from rivet_contracts import Rpc
from rivet_contracts import auth as contract
from rivet_contracts.base import Done
from rivet_runtime import RpcRouter

from ..state import AuthState
from . import service
from .service import Ctx

router: RpcRouter[AuthState] = RpcRouter()


@router.handler(Rpc.AUTH_CREATE_API_KEY)
async def create(req: contract.CreateApiKey, ctx: Ctx) -> contract.ApiKeyView:
    return await service.create(ctx, req)


@router.handler(Rpc.AUTH_LIST_API_KEYS)
async def list_keys(req: contract.ListApiKeys, ctx: Ctx) -> contract.ApiKeyList:
    return await service.list_keys(ctx, req)


@router.handler(Rpc.AUTH_REVOKE_API_KEY)
async def revoke(req: contract.RevokeApiKey, ctx: Ctx) -> contract.ApiKeyView:
    return await service.revoke(ctx, req)


@router.handler(Rpc.AUTH_ACTIVE_API_KEYS)
async def active(req: contract.ListActiveApiKeys, ctx: Ctx) -> contract.ActiveApiKeys:
    return await service.active(ctx, req)


@router.handler(Rpc.AUTH_API_KEYS_USED)
async def used(req: contract.ApiKeysUsed, ctx: Ctx) -> Done:
    return await service.used(ctx, req)
