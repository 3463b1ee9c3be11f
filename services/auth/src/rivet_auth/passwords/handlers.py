"""Request handlers for passwords."""

from rivet_contracts import ErrorInfo, Rpc
from rivet_contracts import auth as contract
from rivet_contracts.base import Done
from rivet_runtime import RequestContext, RpcRouter

from ..state import AuthState
from . import service

router: RpcRouter[AuthState] = RpcRouter()
Ctx = RequestContext[AuthState]


@router.handler(Rpc.AUTH_FORGOT_PASSWORD)
async def forgot(req: contract.ForgotPassword, ctx: Ctx) -> contract.PasswordResetRequested:
    return await service.forgot(ctx, req)


@router.handler(Rpc.AUTH_RESET_PASSWORD)
async def reset(req: contract.ResetPassword, ctx: Ctx) -> Done:
    return await service.reset(ctx, req)


@router.handler(Rpc.AUTH_CHANGE_PASSWORD)
async def change(req: contract.ChangePassword, ctx: Ctx) -> contract.TokenPair | ErrorInfo:
    return await service.change(ctx, req)
