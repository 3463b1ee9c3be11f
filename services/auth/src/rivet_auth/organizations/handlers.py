"""Request handlers for the organization's settings."""

from rivet_contracts import Rpc
from rivet_contracts import auth as contract
from rivet_runtime import RequestContext, RpcRouter

from ..state import AuthState
from . import service

router: RpcRouter[AuthState] = RpcRouter()
Ctx = RequestContext[AuthState]


@router.handler(Rpc.AUTH_GET_ORGANIZATION)
async def get(_req: contract.GetOrganization, ctx: Ctx) -> contract.OrganizationView:
    return await service.get(ctx)


@router.handler(Rpc.AUTH_UPDATE_ORGANIZATION)
async def update(req: contract.UpdateOrganization, ctx: Ctx) -> contract.OrganizationView:
    return await service.update(ctx, req)
