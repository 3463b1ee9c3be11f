"""Reading and changing the organization's settings; a change is announced in full
(``user.organization_updated``) for the services that follow the time zone or the hours."""

from rivet_contracts import ErrorCode, Events, ServiceError
from rivet_contracts import auth as contract
from rivet_runtime import RequestContext

from ..audit.service import record
from ..state import AuthState
from . import repository as repo

Ctx = RequestContext[AuthState]


async def get(ctx: Ctx) -> contract.OrganizationView:
    row = await repo.organization(ctx.conn, ctx.caller.org_id)
    if row is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "organization not found")
    return contract.OrganizationView.model_validate(dict(row))


async def update(ctx: Ctx, req: contract.UpdateOrganization) -> contract.OrganizationView:
    changes = req.model_dump(exclude_none=True)
    before = await get(ctx)
    if not changes or all(getattr(before, k) == v for k, v in changes.items()):
        return before
    await repo.update_organization(ctx.conn, ctx.caller.org_id, changes)
    after = await get(ctx)
    await record(
        ctx.conn, after.id, contract.AuditAction.ORGANIZATION_UPDATED,
        actor_id=ctx.caller.user_id, channel=ctx.channel, details=changes,
    )  # fmt: skip
    await ctx.emit(
        Events.ORGANIZATION_UPDATED,
        contract.OrganizationUpdated(
            org_id=after.id,
            name=after.name,
            time_zone=after.time_zone,
            working_hours_per_week=after.working_hours_per_week,
            changed_by=ctx.caller.user_id,
        ),
        org_id=after.id,
    )
    return after
