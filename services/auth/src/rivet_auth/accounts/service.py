"""Rules for organizations, users and invitations. Never commits: the runtime does."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

from rivet_contracts import ErrorCode, Events, Role, ServiceError
from rivet_contracts import auth as contract
from rivet_contracts.base import Done
from rivet_runtime import RequestContext, mail

from ..audit.service import record
from ..members.rules import require_person
from ..security import secrets
from ..security.password_policy import require_acceptable
from ..state import AuthState
from . import repository as repo

Ctx = RequestContext[AuthState]
TEMPLATES = mail.MailTemplates(Path(__file__).parent / "mail")


JOIN_PREFIX = "join_"
"""Telegram start parameter of an invitation: ``join_<token>`` (48 of the 64 allowed
characters, all in Telegram's [A-Za-z0-9_-])."""
NO_EMAIL = ServiceError(
    ErrorCode.VALIDATION,
    "this invitation has no e-mail address: open its link in Telegram to join",
    details=[{"loc": ["token"], "msg": "joined in Telegram only", "type": "telegram_only"}],
)


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def register(ctx: Ctx, req: contract.RegisterUser) -> contract.UserView:
    """A new organization with the caller as its admin. An address that already has an
    account gets the same kind of answer (nothing in it tells the two apart, and the same
    password hashing is done), nothing is created, and the owner is told by mail."""
    org_name = req.organization_name or f"{req.full_name}'s workspace"
    require_acceptable(
        req.password, email=req.email, full_name=req.full_name, organization_name=org_name
    )
    password_hash = await ctx.state.passwords.hash(req.password)
    email = normalize_email(req.email)
    if await repo.user_for_login(ctx.conn, email) is not None:
        return await _already_registered(ctx, email, req.full_name, org_name)
    user_id = await create_workspace(
        ctx, org_name, email, req.full_name, password_hash=password_hash
    )
    user = await get_user(ctx, user_id)
    await record(
        ctx.conn, user.org_id, contract.AuditAction.REGISTERED, actor_id=user_id, user_id=user_id,
        channel=ctx.channel,
    )  # fmt: skip
    return user


async def _already_registered(
    ctx: Ctx, email: str, full_name: str, org_name: str
) -> contract.UserView:
    owner = await repo.user_view_by_email(ctx.conn, email)
    attempt = uuid4()
    if owner is not None:
        settings = ctx.state.settings
        await mail.queue(
            ctx.conn,
            TEMPLATES.render(
                "register_attempt",
                key=f"register-attempt:{attempt}",
                to=email,
                full_name=owner["full_name"],
                organization_name=owner["organization_name"],
                reset_url=f"{settings.public_url.rstrip('/')}/forgot-password",
            ),
        )
    return contract.UserView(
        id=attempt,
        org_id=uuid4(),
        organization_name=org_name,
        email=email,
        full_name=full_name,
        role=Role.ADMIN,
        created_at=datetime.now(UTC),
    )


async def create_workspace(
    ctx: Ctx,
    org_name: str,
    email: str,
    full_name: str,
    *,
    password_hash: str,
    telegram_user_id: int | None = None,
) -> UUID:
    """A new organization with its first user as admin; announces ``user.registered``."""
    org_id, user_id = uuid4(), uuid4()
    await repo.insert_organization(ctx.conn, org_id, org_name)
    try:
        await repo.insert_user(
            ctx.conn,
            id=user_id,
            org_id=org_id,
            email=email,
            password_hash=password_hash,
            full_name=full_name,
            role=Role.ADMIN.value,
            telegram_user_id=telegram_user_id,
        )
    except repo.EmailTaken:
        raise ServiceError(
            ErrorCode.CONFLICT, "an account with this e-mail already exists"
        ) from None
    await ctx.emit(
        Events.USER_REGISTERED,
        contract.UserRegistered(
            user_id=user_id,
            org_id=org_id,
            organization_name=org_name,
            email=email,
            full_name=full_name,
            role=Role.ADMIN,
        ),
        org_id=org_id,
    )
    return user_id


async def get_user(ctx: Ctx, user_id: UUID) -> contract.UserView:
    row = await repo.user_view(ctx.conn, user_id)
    if row is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "user not found")
    return contract.UserView.model_validate(dict(row))


async def list_users(ctx: Ctx, req: contract.ListUsers) -> contract.UserList:
    """Active members; with ``include_inactive`` (admins) the deactivated ones too."""
    include = req.include_inactive and ctx.caller.role is Role.ADMIN
    rows = await repo.user_views_in_org(ctx.conn, ctx.caller.org_id, include_inactive=include)
    return contract.UserList(items=[contract.UserView.model_validate(dict(r)) for r in rows])


async def invite(ctx: Ctx, req: contract.InviteUser) -> contract.InvitationView:
    caller = ctx.caller
    require_person(caller, "API keys cannot invite members")
    token = secrets.new_secret()
    invitation_id = uuid4()
    expires_at = datetime.now(UTC) + timedelta(seconds=ctx.state.settings.invitation_ttl)
    email = normalize_email(req.email) if req.email else None
    await repo.insert_invitation(
        ctx.conn,
        id=invitation_id,
        org_id=caller.org_id,
        email=email,
        role=req.role.value,
        token_hash=secrets.digest(token),
        invited_by=caller.user_id,
        expires_at=expires_at,
    )
    await ctx.emit(
        Events.USER_INVITED,
        contract.UserInvited(
            invitation_id=invitation_id,
            org_id=caller.org_id,
            email=email,
            role=req.role,
            invited_by=caller.user_id,
        ),
        org_id=caller.org_id,
    )
    await record(
        ctx.conn, caller.org_id, contract.AuditAction.INVITED, actor_id=caller.user_id,
        channel=ctx.channel, details={"email": email, "role": req.role.value},
    )  # fmt: skip
    settings = ctx.state.settings
    if email is not None:
        inviter = await repo.user_view(ctx.conn, caller.user_id)
        await mail.queue(
            ctx.conn,
            TEMPLATES.render(
                "invite",
                key=f"invite:{invitation_id}",
                to=email,
                inviter=inviter["full_name"] if inviter else "A colleague",
                organization_name=(
                    inviter["organization_name"] if inviter else "their organization"
                ),
                role=req.role.value,
                link=f"{settings.public_url.rstrip('/')}/join?token={token}",
                token=token,
                days=max(1, settings.invitation_ttl // 86400),
            ),
        )
    bot = settings.telegram_bot_username
    return contract.InvitationView(
        id=invitation_id,
        email=email,
        role=req.role,
        expires_at=expires_at,
        created_at=datetime.now(UTC),
        token=token,
        telegram_link=f"https://t.me/{bot}?start={JOIN_PREFIX}{token}" if bot else None,
    )


async def list_invitations(ctx: Ctx) -> contract.InvitationList:
    require_person(ctx.caller, "API keys cannot manage members")
    rows = await repo.pending_invitations(ctx.conn, ctx.caller.org_id, datetime.now(UTC))
    return contract.InvitationList(
        items=[contract.InvitationView.model_validate(dict(r)) for r in rows]
    )


async def revoke_invitation(ctx: Ctx, req: contract.RevokeInvitation) -> Done:
    require_person(ctx.caller, "API keys cannot manage members")
    found = await repo.revoke_invitation(
        ctx.conn, ctx.caller.org_id, req.invitation_id, datetime.now(UTC)
    )
    if not found:
        raise ServiceError(ErrorCode.NOT_FOUND, "no pending invitation with this id")
    await record(
        ctx.conn, ctx.caller.org_id, contract.AuditAction.INVITATION_REVOKED,
        actor_id=ctx.caller.user_id, channel=ctx.channel,
        details={"invitation_id": str(req.invitation_id)},
    )  # fmt: skip
    return Done()


async def accept_invitation(ctx: Ctx, req: contract.AcceptInvitation) -> contract.UserView:
    invitation = await repo.take_invitation(ctx.conn, secrets.digest(req.token), datetime.now(UTC))
    if invitation is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "invitation not found, used or expired")
    if invitation["email"] is None:
        raise NO_EMAIL  # rolls the transaction back: the invitation stays usable
    # A refused password rolls the transaction back: the invitation stays usable.
    require_acceptable(
        req.password,
        email=invitation["email"],
        full_name=req.full_name,
        organization_name=await repo.organization_name(ctx.conn, invitation["org_id"]),
    )
    user_id = uuid4()
    try:
        await repo.insert_user(
            ctx.conn,
            id=user_id,
            org_id=invitation["org_id"],
            email=invitation["email"],
            password_hash=await ctx.state.passwords.hash(req.password),
            full_name=req.full_name,
            role=invitation["role"],
        )
    except repo.EmailTaken:
        raise ServiceError(
            ErrorCode.CONFLICT, "an account with this e-mail already exists"
        ) from None
    await record(
        ctx.conn, invitation["org_id"], contract.AuditAction.JOINED, actor_id=user_id,
        user_id=user_id, channel=ctx.channel, details={"role": invitation["role"]},
    )  # fmt: skip
    await ctx.emit(
        Events.USER_JOINED,
        contract.UserJoined(
            user_id=user_id,
            org_id=invitation["org_id"],
            email=invitation["email"],
            full_name=req.full_name,
            role=Role(invitation["role"]),
        ),
        org_id=invitation["org_id"],
    )
    return await get_user(ctx, user_id)
