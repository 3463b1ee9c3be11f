"""Request handlers for sessions."""

from rivet_contracts import ErrorInfo, Rpc
from rivet_contracts import auth as contract
from rivet_contracts.base import Done
from rivet_runtime import RpcRouter

from ..state import AuthState
from . import service
from .service import Ctx

router: RpcRouter[AuthState] = RpcRouter()


@router.handler(Rpc.AUTH_LOGIN)
async def login(req: contract.LogIn, ctx: Ctx) -> contract.TokenPair | ErrorInfo:
    return await service.login(ctx, req)


@router.handler(Rpc.AUTH_REFRESH)
async def refresh(req: contract.RefreshTokens, ctx: Ctx) -> contract.TokenPair | ErrorInfo:
    return await service.refresh(ctx, req)


@router.handler(Rpc.AUTH_LOGOUT)
async def logout(req: contract.LogOut, ctx: Ctx) -> Done:
    return await service.logout(ctx, req)


@router.handler(Rpc.AUTH_REVOCATIONS)
async def revocations(req: contract.ListRevocations, ctx: Ctx) -> contract.Revocations:
    return await service.revocations(ctx, req)
