"""Request handlers for Telegram linking."""

from rivet_contracts import Rpc
from rivet_contracts import auth as contract
from rivet_runtime import RpcRouter

from ..state import AuthState
from . import service
from .service import Ctx

router: RpcRouter[AuthState] = RpcRouter()


@router.handler(Rpc.AUTH_CREATE_TELEGRAM_LINK)
async def create_link(_req: contract.CreateTelegramLink, ctx: Ctx) -> contract.TelegramLinkCode:
    return await service.create_link(ctx)


@router.handler(Rpc.AUTH_REDEEM_TELEGRAM_LINK)
async def redeem_link(req: contract.RedeemTelegramLink, ctx: Ctx) -> contract.TelegramIdentity:
    return await service.redeem_link(ctx, req)


@router.handler(Rpc.AUTH_TELEGRAM_IDENTITY)
async def identity(req: contract.GetTelegramIdentity, ctx: Ctx) -> contract.TelegramIdentity:
    return await service.identity_for(ctx, req)


@router.handler(Rpc.AUTH_REGISTER_TELEGRAM)
async def register(req: contract.RegisterTelegramUser, ctx: Ctx) -> contract.TelegramIdentity:
    return await service.register_user(ctx, req)


@router.handler(Rpc.AUTH_JOIN_WITH_TELEGRAM)
async def join(req: contract.JoinWithTelegram, ctx: Ctx) -> contract.TelegramIdentity:
    return await service.join(ctx, req)
