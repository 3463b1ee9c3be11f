"""Request handlers for members (admins only: the catalogue says so)."""

from rivet_contracts import Rpc
from rivet_contracts import auth as contract
from rivet_runtime import RequestContext, RpcRouter

from ..state import AuthState
from . import service

router: RpcRouter[AuthState] = RpcRouter()
Ctx = RequestContext[AuthState]


@router.handler(Rpc.AUTH_CHANGE_ROLE)
async def change_role(req: contract.ChangeRole, ctx: Ctx) -> contract.UserView:
    return await service.change_role(ctx, req)


@router.handler(Rpc.AUTH_DEACTIVATE_USER)
async def deactivate(req: contract.DeactivateUser, ctx: Ctx) -> contract.UserView:
    return await service.deactivate(ctx, req)


@router.handler(Rpc.AUTH_REACTIVATE_USER)
async def reactivate(req: contract.ReactivateUser, ctx: Ctx) -> contract.UserView:
    return await service.reactivate(ctx, req)
