"""Request handlers for accounts: parse nothing, decide nothing - hand over to the service."""

from rivet_contracts import Rpc
from rivet_contracts import auth as contract
from rivet_contracts.base import Done
from rivet_runtime import RpcRouter

from ..state import AuthState
from . import service
from .service import Ctx

router: RpcRouter[AuthState] = RpcRouter()


@router.handler(Rpc.AUTH_REGISTER)
async def register(req: contract.RegisterUser, ctx: Ctx) -> contract.UserView:
    return await service.register(ctx, req)


@router.handler(Rpc.AUTH_ME)
async def me(_req: contract.GetMe, ctx: Ctx) -> contract.UserView:
    return await service.get_user(ctx, ctx.caller.user_id)


@router.handler(Rpc.AUTH_LIST_USERS)
async def list_users(req: contract.ListUsers, ctx: Ctx) -> contract.UserList:
    return await service.list_users(ctx, req)


@router.handler(Rpc.AUTH_INVITE)
async def invite(req: contract.InviteUser, ctx: Ctx) -> contract.InvitationView:
    return await service.invite(ctx, req)


@router.handler(Rpc.AUTH_ACCEPT_INVITATION)
async def accept_invitation(req: contract.AcceptInvitation, ctx: Ctx) -> contract.UserView:
    return await service.accept_invitation(ctx, req)


@router.handler(Rpc.AUTH_LIST_INVITATIONS)
async def list_invitations(_req: contract.ListInvitations, ctx: Ctx) -> contract.InvitationList:
    return await service.list_invitations(ctx)


@router.handler(Rpc.AUTH_REVOKE_INVITATION)
async def revoke_invitation(req: contract.RevokeInvitation, ctx: Ctx) -> Done:
    return await service.revoke_invitation(ctx, req)
