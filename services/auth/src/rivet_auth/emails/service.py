"""Proving an address: a six-digit code (15 minutes, five tries, five codes an hour) mailed to
it; the right code makes it the account's address, verified. How a chat-born account (whose
address is a placeholder) gets a real one, before it sets a password by the reset mail.
Never commits: the runtime does."""

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

from rivet_contracts import ErrorCode, ErrorInfo, Events, ServiceError
from rivet_contracts import auth as contract
from rivet_runtime import RequestContext, mail

from ..accounts.service import get_user, normalize_email
from ..audit.service import record
from ..passwords import repository as passwords
from ..state import AuthState
from . import repository as repo

Ctx = RequestContext[AuthState]

TTL = timedelta(minutes=15)
MAX_ATTEMPTS = 5
MAX_PER_HOUR = 5
PLACEHOLDER_DOMAIN = ".invalid"
"""Accounts born in Telegram have an address under ``.invalid`` until they prove a real one."""
TEMPLATES = mail.MailTemplates(Path(__file__).parent / "mail")


def _digest(verification_id: UUID, code: str) -> bytes:
    return hashlib.sha256(f"{verification_id}:{code}".encode()).digest()


async def start(
    ctx: Ctx, req: contract.StartEmailVerification
) -> contract.EmailVerificationStarted:
    now = datetime.now(UTC)
    user = await passwords.account(ctx.conn, ctx.caller.user_id)
    if user is None or not user["is_active"]:
        raise ServiceError(ErrorCode.UNAUTHORIZED, "this account is not active")
    email = normalize_email(str(req.email)) if req.email else user["email"]
    if email.endswith(PLACEHOLDER_DOMAIN):
        raise ServiceError(
            ErrorCode.VALIDATION,
            "this account has no e-mail address yet: give one",
            details=[{"loc": ["email"], "msg": "required", "type": "missing"}],
        )
    if await repo.started_since(ctx.conn, user["id"], now - timedelta(hours=1)) >= MAX_PER_HOUR:
        raise ServiceError(
            ErrorCode.RATE_LIMITED, "too many codes this hour; try again later", retry_after=3600
        )
    verification_id, code = uuid4(), f"{secrets.randbelow(1_000_000):06d}"
    await repo.insert_verification(
        ctx.conn,
        id=verification_id,
        user_id=user["id"],
        email=email,
        code_hash=_digest(verification_id, code),
        expires_at=now + TTL,
    )
    await mail.queue(
        ctx.conn,
        TEMPLATES.render(
            "verify",
            key=f"verify:{verification_id}",
            to=email,
            full_name=user["full_name"],
            code=code,
            minutes=int(TTL.total_seconds() // 60),
        ),
    )
    return contract.EmailVerificationStarted(email=email, expires_at=now + TTL)


async def confirm(ctx: Ctx, req: contract.ConfirmEmail) -> contract.UserView | ErrorInfo:
    """A wrong code is answered (not raised) so that the attempt counts (it commits)."""
    now = datetime.now(UTC)
    caller = ctx.caller
    pending = await repo.lock_pending(ctx.conn, caller.user_id, now)
    if pending is None or pending["attempts"] >= MAX_ATTEMPTS:
        raise ServiceError(
            ErrorCode.VALIDATION,
            "no code is waiting (expired, used or tried too often): ask for a new one",
            details=[{"loc": ["code"], "msg": "no code waiting", "type": "code"}],
        )
    if not hmac.compare_digest(_digest(pending["id"], req.code), pending["code_hash"]):
        await repo.count_attempt(ctx.conn, pending["id"])
        return ErrorInfo(
            code=ErrorCode.VALIDATION,
            message="this code is not right",
            details=[{"loc": ["code"], "msg": "wrong code", "type": "code"}],
        )
    owner = await repo.owner_of(ctx.conn, pending["email"])
    if owner is not None and owner != caller.user_id:
        raise ServiceError(ErrorCode.CONFLICT, "this address belongs to another account")
    await repo.use(ctx.conn, pending["id"], now)
    await repo.set_verified_email(ctx.conn, caller.user_id, pending["email"])
    await record(
        ctx.conn, caller.org_id, contract.AuditAction.EMAIL_VERIFIED, actor_id=caller.user_id,
        user_id=caller.user_id, channel=ctx.channel, details={"email": pending["email"]},
    )  # fmt: skip
    await ctx.emit(
        Events.USER_EMAIL_VERIFIED,
        contract.UserEmailVerified(
            user_id=caller.user_id, org_id=caller.org_id, email=pending["email"]
        ),
        org_id=caller.org_id,
    )
    return await get_user(ctx, caller.user_id)
