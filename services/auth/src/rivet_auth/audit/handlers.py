"""Request handler for the audit log (admins only: the catalogue says so)."""

from rivet_contracts import Rpc
from rivet_contracts import auth as contract
from rivet_runtime import RequestContext, RpcRouter

from ..state import AuthState
from . import service

router: RpcRouter[AuthState] = RpcRouter()


@router.handler(Rpc.AUTH_AUDIT_LOG)
async def audit_log(
    req: contract.ListAuditLog, ctx: RequestContext[AuthState]
) -> contract.AuditLog:
    return await service.page(ctx, req)
