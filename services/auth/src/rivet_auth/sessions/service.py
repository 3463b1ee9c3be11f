"""Login, refresh and logout. Never commits: the runtime does (also for a failed login, whose
throttle update must stick - hence failures are returned as ``ErrorInfo``, not raised)."""

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from rivet_contracts import ErrorCode, ErrorInfo, Events, Role, ServiceError
from rivet_contracts import auth as contract
from rivet_contracts.base import Done
from rivet_runtime import RequestContext

from ..accounts import repository as accounts
from ..accounts.service import normalize_email
from ..audit.service import record
from ..security import secrets
from ..settings import AuthSettings
from ..state import AuthState
from . import repository as repo
from .throttle import ThrottlePolicy

Ctx = RequestContext[AuthState]

BAD_CREDENTIALS = ErrorInfo(code=ErrorCode.UNAUTHORIZED, message="invalid e-mail or password")
BAD_REFRESH = ServiceError(ErrorCode.UNAUTHORIZED, "refresh token is invalid, expired or revoked")


def throttle_policy(settings: AuthSettings) -> ThrottlePolicy:
    """Failed logins (and wrong current passwords) per account before waits start."""
    return ThrottlePolicy(free=settings.login_free_failures, max_delay=settings.login_max_delay)


async def login(ctx: Ctx, req: contract.LogIn) -> contract.TokenPair | ErrorInfo:
    now = datetime.now(UTC)
    email = normalize_email(req.email)
    user = await accounts.user_for_login(ctx.conn, email)
    device_id = await _trusted_device(ctx, req.device_token, user["id"] if user else None)
    key = f"device:{device_id}" if device_id else f"account:{email}"

    policy = throttle_policy(ctx.state.settings)
    throttle = await repo.lock_throttle(ctx.conn, key)
    wait = policy.retry_after(throttle["failures"], throttle["last_failure_at"], now)
    if wait > 0:
        return ErrorInfo(
            code=ErrorCode.RATE_LIMITED,
            message="too many failed logins for this account; try again later",
            retry_after=wait,
        )

    check = await ctx.state.passwords.verify(user["password_hash"] if user else None, req.password)
    if user is None or not check.ok or not user["is_active"]:
        failures = policy.effective_failures(throttle["failures"], throttle["last_failure_at"], now)
        await repo.record_failure(ctx.conn, key, failures + 1, now)
        if user is not None:
            await record(
                ctx.conn, user["org_id"], contract.AuditAction.LOGIN_FAILED, actor_id=None,
                user_id=user["id"], channel=ctx.channel, details={"ip": req.client_ip},
            )  # fmt: skip
        return BAD_CREDENTIALS

    await repo.reset_throttle(ctx.conn, key)
    await repo.record_login(ctx.conn, user["id"], now)
    await record(
        ctx.conn, user["org_id"], contract.AuditAction.LOGIN, actor_id=user["id"],
        user_id=user["id"], channel=ctx.channel, details={"ip": req.client_ip},
    )  # fmt: skip
    if check.new_hash:
        await accounts.set_password_hash(ctx.conn, user["id"], check.new_hash)
    device_token = None
    if device_id is None:
        device_id, device_secret = uuid4(), secrets.new_secret()
        await repo.insert_device(ctx.conn, device_id, user["id"], secrets.digest(device_secret))
        device_token = secrets.compose(device_id, device_secret)
    pair = await issue_tokens(ctx, user["id"], user["org_id"], Role(user["role"]), uuid4(), now)
    return pair.model_copy(update={"device_token": device_token or req.device_token})


async def refresh(ctx: Ctx, req: contract.RefreshTokens) -> contract.TokenPair | ErrorInfo:
    now = datetime.now(UTC)
    parts = secrets.split(req.refresh_token)
    if parts is None:
        raise BAD_REFRESH
    token_id, secret = parts
    spent = await repo.spend_refresh_token(ctx.conn, token_id, secrets.digest(secret), now)
    if spent is None:
        known = await repo.find_refresh_token(ctx.conn, token_id, secrets.digest(secret))
        if known is not None and known["used_at"] is not None and known["revoked_at"] is None:
            # A spent token came back: someone holds a copy. End the whole session.
            await repo.revoke_family(ctx.conn, known["family_id"], now)
            owner = await accounts.active_user(ctx.conn, known["user_id"])
            if owner is not None:
                await revoke(ctx, owner["id"], owner["org_id"], known["family_id"], "reuse", now)
            return ErrorInfo(
                code=ErrorCode.UNAUTHORIZED,
                message="refresh token reuse detected; the session has been revoked",
            )
        raise BAD_REFRESH
    user = await accounts.active_user(ctx.conn, spent["user_id"])
    if user is None:
        raise BAD_REFRESH
    return await issue_tokens(
        ctx, user["id"], user["org_id"], Role(user["role"]), spent["family_id"], now
    )


async def logout(ctx: Ctx, req: contract.LogOut) -> Done:
    """Revoke the token's session. Answers ``done`` for unknown tokens too (RFC 7009)."""
    parts = secrets.split(req.refresh_token)
    if parts is not None:
        known = await repo.find_refresh_token(ctx.conn, parts[0], secrets.digest(parts[1]))
        if known is not None and known["revoked_at"] is None:
            now = datetime.now(UTC)
            await repo.revoke_family(ctx.conn, known["family_id"], now)
            owner = await accounts.active_user(ctx.conn, known["user_id"])
            if owner is not None:
                await revoke(ctx, owner["id"], owner["org_id"], known["family_id"], "logout", now)
    return Done()


async def revoke(
    ctx: Ctx, user_id: UUID, org_id: UUID, session_id: UUID | None, reason: str, now: datetime
) -> None:
    """From ``now`` on, the access tokens of one session (or all of the user's: ``session_id``
    None) are refused: recorded for the gateway's start and announced to its replicas."""
    await repo.insert_revocation(ctx.conn, user_id, org_id, session_id, now)
    await ctx.emit(
        Events.USER_SESSIONS_REVOKED,
        contract.UserSessionsRevoked(
            user_id=user_id, org_id=org_id, session_id=session_id, revoked_at=now, reason=reason
        ),
        org_id=org_id,
    )


async def revocations(ctx: Ctx, req: contract.ListRevocations) -> contract.Revocations:
    rows = await repo.revocations_since(ctx.conn, req.since)
    return contract.Revocations(items=[contract.Revocation.model_validate(dict(r)) for r in rows])


async def _trusted_device(ctx: Ctx, device_token: str | None, user_id: UUID | None) -> UUID | None:
    """The device id when ``device_token`` is a valid token of this very account."""
    if not device_token or user_id is None:
        return None
    parts = secrets.split(device_token)
    if parts is None:
        return None
    owner = await repo.device_owner(ctx.conn, parts[0], secrets.digest(parts[1]))
    return parts[0] if owner == user_id else None


async def issue_tokens(
    ctx: Ctx, user_id: UUID, org_id: UUID, role: Role, family_id: UUID, now: datetime
) -> contract.TokenPair:
    settings = ctx.state.settings
    token_id, secret = uuid4(), secrets.new_secret()
    await repo.insert_refresh_token(
        ctx.conn,
        token_id=token_id,
        family_id=family_id,
        user_id=user_id,
        secret_hash=secrets.digest(secret),
        expires_at=now + timedelta(seconds=settings.refresh_token_ttl),
    )
    return contract.TokenPair(
        access_token=ctx.state.signer.access_token(
            user_id=user_id, org_id=org_id, role=role, session_id=family_id
        ),
        refresh_token=secrets.compose(token_id, secret),
        expires_in=settings.access_token_ttl,
        refresh_expires_in=settings.refresh_token_ttl,
    )
