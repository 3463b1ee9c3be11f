"""Request handlers for e-mail verification."""

from rivet_contracts import ErrorInfo, Rpc
from rivet_contracts import auth as contract
from rivet_runtime import RequestContext, RpcRouter

from ..state import AuthState
from . import service

router: RpcRouter[AuthState] = RpcRouter()
Ctx = RequestContext[AuthState]


@router.handler(Rpc.AUTH_START_EMAIL_VERIFICATION)
async def start(
    req: contract.StartEmailVerification, ctx: Ctx
) -> contract.EmailVerificationStarted:
    return await service.start(ctx, req)


@router.handler(Rpc.AUTH_CONFIRM_EMAIL)
async def confirm(req: contract.ConfirmEmail, ctx: Ctx) -> contract.UserView | ErrorInfo:
    return await service.confirm(ctx, req)
