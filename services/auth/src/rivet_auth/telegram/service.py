"""Telegram identities: one-time link codes (created by a logged-in user, redeemed by the
Telegram service), workspaces made in the chat, and invitations joined in the chat."""

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from rivet_contracts import ErrorCode, Events, Identity, Role, ServiceError
from rivet_contracts import auth as contract
from rivet_runtime import RequestContext

from ..accounts import repository as accounts
from ..accounts.service import create_workspace, get_user
from ..audit.service import record
from ..security import secrets
from ..state import AuthState
from . import repository as repo

Ctx = RequestContext[AuthState]

NO_PASSWORD = "!"  # noqa: S105 - a marker, not a password
"""Not an argon2 hash: verification always fails, so the account cannot log in with a
password until one is set."""


ALREADY_LINKED = ServiceError(
    ErrorCode.CONFLICT, "this Telegram account already belongs to a Rivet account"
)


def placeholder_email(telegram_user_id: int) -> str:
    """The address of an account born in Telegram until its owner proves a real one."""
    return f"telegram-{telegram_user_id}@users.telegram.invalid"


async def create_link(ctx: Ctx) -> contract.TelegramLinkCode:
    settings = ctx.state.settings
    code = secrets.new_secret()
    expires_at = datetime.now(UTC) + timedelta(seconds=settings.telegram_link_ttl)
    await repo.insert_code(ctx.conn, secrets.digest(code), ctx.caller.user_id, expires_at)
    bot = settings.telegram_bot_username
    return contract.TelegramLinkCode(
        code=code,
        link=f"https://t.me/{bot}?start={code}" if bot else None,
        expires_at=expires_at,
    )


async def redeem_link(ctx: Ctx, req: contract.RedeemTelegramLink) -> contract.TelegramIdentity:
    user_id = await repo.take_code(ctx.conn, secrets.digest(req.code), datetime.now(UTC))
    if user_id is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "link code not found, used or expired")
    await repo.link(ctx.conn, user_id, req.telegram_user_id)
    identity = await _identity(ctx, user_id)
    await ctx.emit(
        Events.USER_TELEGRAM_LINKED,
        contract.UserTelegramLinked(
            user_id=user_id,
            org_id=identity.identity.org_id,
            telegram_user_id=req.telegram_user_id,
        ),
        org_id=identity.identity.org_id,
    )
    return identity


async def register_user(ctx: Ctx, req: contract.RegisterTelegramUser) -> contract.TelegramIdentity:
    """A new organization whose admin is this Telegram user (no password yet)."""
    existing = await repo.user_by_telegram(ctx.conn, req.telegram_user_id)
    if existing is not None:
        return await _identity(ctx, existing)  # tapped twice: the same workspace
    user_id = await create_workspace(
        ctx,
        f"{req.full_name}'s workspace",
        placeholder_email(req.telegram_user_id),
        req.full_name,
        password_hash=NO_PASSWORD,
        telegram_user_id=req.telegram_user_id,
    )
    identity = await _identity(ctx, user_id)
    org_id = identity.identity.org_id
    await ctx.emit(
        Events.USER_TELEGRAM_LINKED,
        contract.UserTelegramLinked(
            user_id=user_id, org_id=org_id, telegram_user_id=req.telegram_user_id
        ),
        org_id=org_id,
    )
    return identity


async def join(ctx: Ctx, req: contract.JoinWithTelegram) -> contract.TelegramIdentity:
    """A Telegram user joins the organization of an invitation (``/start join_<token>``): a
    member with the invitation's role, linked at once, without a password. The invitation is
    spent as by ``accept_invitation``; any refusal rolls the transaction back."""
    if await repo.user_by_telegram(ctx.conn, req.telegram_user_id) is not None:
        raise ALREADY_LINKED
    now = datetime.now(UTC)
    invitation = await accounts.take_invitation(ctx.conn, secrets.digest(req.token), now)
    if invitation is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "invitation not found, used or expired")
    org_id, role = invitation["org_id"], Role(invitation["role"])
    email = invitation["email"] or placeholder_email(req.telegram_user_id)
    user_id = uuid4()
    try:
        await accounts.insert_user(
            ctx.conn,
            id=user_id,
            org_id=org_id,
            email=email,
            password_hash=NO_PASSWORD,
            full_name=req.full_name,
            role=role.value,
            telegram_user_id=req.telegram_user_id,
        )
    except accounts.EmailTaken:
        raise ServiceError(
            ErrorCode.CONFLICT, "an account with this e-mail already exists"
        ) from None
    except accounts.TelegramTaken:  # linked meanwhile (a race with the check above)
        raise ALREADY_LINKED from None
    await record(
        ctx.conn, org_id, contract.AuditAction.JOINED, actor_id=user_id, user_id=user_id,
        channel=ctx.channel, details={"role": role.value, "via": "telegram"},
    )  # fmt: skip
    await ctx.emit(
        Events.USER_JOINED,
        contract.UserJoined(
            user_id=user_id, org_id=org_id, email=email, full_name=req.full_name, role=role
        ),
        org_id=org_id,
    )
    await ctx.emit(
        Events.USER_TELEGRAM_LINKED,
        contract.UserTelegramLinked(
            user_id=user_id, org_id=org_id, telegram_user_id=req.telegram_user_id
        ),
        org_id=org_id,
    )
    return await _identity(ctx, user_id)


async def identity_for(ctx: Ctx, req: contract.GetTelegramIdentity) -> contract.TelegramIdentity:
    user_id = await repo.user_by_telegram(ctx.conn, req.telegram_user_id)
    if user_id is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "this Telegram account is not linked")
    return await _identity(ctx, user_id)


async def _identity(ctx: Ctx, user_id: UUID) -> contract.TelegramIdentity:
    user = await get_user(ctx, user_id)
    return contract.TelegramIdentity(
        identity=Identity(user_id=user.id, org_id=user.org_id, role=user.role), user=user
    )
