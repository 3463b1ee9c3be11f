"""Password rules: a reset asked for by e-mail (the same work and answer for every address),
a reset with a mailed one-time token, a change that needs the current password. A new password
ends every other session of the account. Never commits: the runtime does."""

from datetime import UTC, datetime
from uuid import uuid4

from sqlalchemy.engine import RowMapping

from rivet_contracts import ErrorCode, ErrorInfo, Events, Role, ServiceError
from rivet_contracts import auth as contract
from rivet_contracts.base import Done
from rivet_runtime import RequestContext
from rivet_runtime.jobs import notify

from ..accounts.service import normalize_email
from ..audit.service import record
from ..members.rules import require_person
from ..security import secrets
from ..security.password_policy import require_acceptable
from ..sessions import repository as sessions
from ..sessions.service import issue_tokens, revoke, throttle_policy
from ..state import AuthState
from . import repository as repo

Ctx = RequestContext[AuthState]

CHANNEL = "auth_password_resets"
"""Wakes the ``password-resets`` job when a request commits."""
REQUESTED = contract.PasswordResetRequested(
    message="If this address has an account, a link to choose a new password is on its way. "
    "It works once, for 30 minutes."
)
BAD_LINK = ServiceError(
    ErrorCode.VALIDATION,
    "this reset link is invalid, used or expired; ask for a new one",
    details=[{"loc": ["token"], "msg": "invalid, used or expired", "type": "reset_token"}],
)


async def forgot(ctx: Ctx, req: contract.ForgotPassword) -> contract.PasswordResetRequested:
    """Record the request, whatever the address: the ``password-resets`` job looks it up and
    mails a link if it belongs to an active account, so this answer and its timing say nothing
    about which addresses have accounts."""
    await repo.record_request(ctx.conn, normalize_email(req.email))
    await notify(ctx.conn, CHANNEL)
    return REQUESTED


async def reset(ctx: Ctx, req: contract.ResetPassword) -> Done:
    now = datetime.now(UTC)
    parts = secrets.split(req.token)
    if parts is None:
        raise BAD_LINK
    user_id = await repo.spend_reset(ctx.conn, parts[0], secrets.digest(parts[1]), now)
    user = await repo.account(ctx.conn, user_id) if user_id is not None else None
    if user is None or not user["is_active"]:
        raise BAD_LINK
    await _set_password(ctx, user, req.new_password, "reset", now)
    return Done()


async def change(ctx: Ctx, req: contract.ChangePassword) -> contract.TokenPair | ErrorInfo:
    """Failures count against the account's login throttle (returned, not raised, so that
    the count commits): a stolen access token does not give unlimited guesses."""
    now = datetime.now(UTC)
    caller = ctx.caller
    require_person(caller, "API keys have no password")
    user = await repo.account(ctx.conn, caller.user_id)
    if user is None or not user["is_active"]:
        raise ServiceError(ErrorCode.UNAUTHORIZED, "this account is not active")
    key = f"account:{user['email']}"
    policy = throttle_policy(ctx.state.settings)
    throttle = await sessions.lock_throttle(ctx.conn, key)
    wait = policy.retry_after(throttle["failures"], throttle["last_failure_at"], now)
    if wait > 0:
        return ErrorInfo(
            code=ErrorCode.RATE_LIMITED,
            message="too many wrong passwords for this account; try again later",
            retry_after=wait,
        )
    check = await ctx.state.passwords.verify(user["password_hash"], req.current_password)
    if not check.ok:
        failures = policy.effective_failures(throttle["failures"], throttle["last_failure_at"], now)
        await sessions.record_failure(ctx.conn, key, failures + 1, now)
        return ErrorInfo(
            code=ErrorCode.VALIDATION,
            message="the current password is wrong",
            details=[{"loc": ["current_password"], "msg": "wrong password", "type": "password"}],
        )
    await sessions.reset_throttle(ctx.conn, key)
    await _set_password(ctx, user, req.new_password, "changed", now)
    return await issue_tokens(ctx, user["id"], user["org_id"], Role(user["role"]), uuid4(), now)


async def _set_password(ctx: Ctx, user: RowMapping, password: str, how: str, now: datetime) -> None:
    require_acceptable(
        password,
        email=user["email"],
        full_name=user["full_name"],
        organization_name=user["organization_name"],
    )
    password_hash = await ctx.state.passwords.hash(password)
    await repo.set_password(ctx.conn, user["id"], password_hash)
    await repo.end_other_resets(ctx.conn, user["id"], now)
    await sessions.revoke_user_tokens(ctx.conn, user["id"], now)
    await revoke(ctx, user["id"], user["org_id"], None, f"password {how}", now)
    action = (
        contract.AuditAction.PASSWORD_RESET
        if how == "reset"
        else contract.AuditAction.PASSWORD_CHANGED
    )
    await record(
        ctx.conn, user["org_id"], action, actor_id=user["id"], user_id=user["id"],
        channel=ctx.channel,
    )  # fmt: skip
    await ctx.emit(
        Events.USER_PASSWORD_CHANGED,
        contract.UserPasswordChanged(user_id=user["id"], org_id=user["org_id"], how=how),
        org_id=user["org_id"],
    )
