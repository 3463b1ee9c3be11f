"""``/api/auth``: registration, login, tokens, invitations, Telegram linking."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.security import OAuth2PasswordRequestForm

from rivet_contracts import Rpc
from rivet_contracts import auth as contract
from rivet_contracts.base import Done

from ..deps import Anonymous, Caller, Fwd, KeyedPerson, Person
from .docs import errors

router = APIRouter(prefix="/api/auth", tags=["auth"])
LoginForm = Annotated[OAuth2PasswordRequestForm, Depends()]
DeviceToken = Annotated[str | None, Header(alias="X-Device-Token", max_length=512)]


@router.post("/register", status_code=201, response_model=contract.UserView, responses=errors(422))
async def register(body: contract.RegisterUser, fwd: Fwd, meta: Anonymous) -> Response:
    """Create an account and a new organization with you as its admin. An address that
    already has an account gets the same answer, nothing is created, and its owner is told by
    mail (so the answer does not reveal which addresses have accounts)."""
    return await fwd.call(Rpc.AUTH_REGISTER, body, meta)


@router.post("/login", response_model=contract.TokenPair, responses=errors(401, 422, 429))
async def login(
    form: LoginForm, request: Request, fwd: Fwd, meta: Anonymous, device: DeviceToken = None
) -> Response:
    """OAuth2 password flow (form-encoded; `username` is the e-mail). Keep the returned
    `device_token` and send it as `X-Device-Token` next time: throttling caused by others'
    failed attempts then does not lock you out."""
    body = contract.LogIn(
        email=form.username,
        password=form.password,
        device_token=device,
        client_ip=request.client.host if request.client else None,
    )
    return await fwd.call(Rpc.AUTH_LOGIN, body, meta)


@router.post("/refresh", response_model=contract.TokenPair, responses=errors(401, 422))
async def refresh(body: contract.RefreshTokens, fwd: Fwd, meta: Anonymous) -> Response:
    """Exchange a refresh token for a new pair. Each refresh token works once; presenting a
    spent one revokes the whole session."""
    return await fwd.call(Rpc.AUTH_REFRESH, body, meta)


@router.post("/logout", response_model=Done, responses=errors(422))
async def logout(body: contract.LogOut, fwd: Fwd, meta: Anonymous) -> Response:
    """End the session the refresh token belongs to. Access tokens already issued expire on
    their own (15 minutes)."""
    return await fwd.call(Rpc.AUTH_LOGOUT, body, meta)


@router.post(
    "/password/forgot",
    status_code=202,
    response_model=contract.PasswordResetRequested,
    responses=errors(422),
)
async def forgot_password(body: contract.ForgotPassword, fwd: Fwd, meta: Anonymous) -> Response:
    """Mail a link to choose a new password (valid 30 minutes, once). The answer is the same
    whether or not the address has an account."""
    return await fwd.call(Rpc.AUTH_FORGOT_PASSWORD, body, meta)


@router.post("/password/reset", response_model=Done, responses=errors(422))
async def reset_password(body: contract.ResetPassword, fwd: Fwd, meta: Anonymous) -> Response:
    """Choose a new password with the token of a reset link. Every session of the account
    ends; log in again."""
    return await fwd.call(Rpc.AUTH_RESET_PASSWORD, body, meta)


@router.post("/password/change", response_model=contract.TokenPair, responses=errors(401, 422, 429))
async def change_password(body: contract.ChangePassword, fwd: Fwd, meta: Person) -> Response:
    """Change your password (the current one is needed). Your other sessions end; the answer
    is a new token pair for this one."""
    return await fwd.call(Rpc.AUTH_CHANGE_PASSWORD, body, meta)


@router.post(
    "/email",
    status_code=202,
    response_model=contract.EmailVerificationStarted,
    responses=errors(401, 422, 429),
)
async def start_email_verification(
    body: contract.StartEmailVerification, fwd: Fwd, meta: Person
) -> Response:
    """Prove you read an address: a six-digit code goes to `email` (a new address for your
    account) or, without it, to your account's address."""
    return await fwd.call(Rpc.AUTH_START_EMAIL_VERIFICATION, body, meta)


@router.post("/email/confirm", response_model=contract.UserView, responses=errors(401, 409, 422))
async def confirm_email(body: contract.ConfirmEmail, fwd: Fwd, meta: Person) -> Response:
    """The code from the mail (15 minutes, five tries): the address becomes your account's,
    verified."""
    return await fwd.call(Rpc.AUTH_CONFIRM_EMAIL, body, meta)


@router.get("/me", response_model=contract.UserView, responses=errors(401))
async def me(fwd: Fwd, meta: Person) -> Response:
    """Your profile."""
    return await fwd.call(Rpc.AUTH_ME, contract.GetMe(), meta)


@router.get("/users", response_model=contract.UserList, responses=errors(401))
async def users(fwd: Fwd, meta: Caller, include_inactive: bool = False) -> Response:
    """The users of your organization; admins may add the switched-off ones
    (`include_inactive=true`)."""
    request = contract.ListUsers(include_inactive=include_inactive)
    return await fwd.call(Rpc.AUTH_LIST_USERS, request, meta)


@router.put(
    "/users/{user_id}/role",
    response_model=contract.UserView,
    responses=errors(401, 403, 404, 409, 422),
)
async def change_role(user_id: UUID, body: contract.NewRole, fwd: Fwd, meta: Person) -> Response:
    """Give a member another role (admins). Their access tokens stop working at once; the
    next refresh carries the new role. The last active admin keeps the role (409)."""
    request = contract.ChangeRole(user_id=user_id, role=body.role)
    return await fwd.call(Rpc.AUTH_CHANGE_ROLE, request, meta)


@router.post(
    "/users/{user_id}/deactivate",
    response_model=contract.UserView,
    responses=errors(401, 403, 404, 409, 422),
)
async def deactivate(user_id: UUID, fwd: Fwd, meta: Person) -> Response:
    """Switch a member's account off (admins): their sessions end and their access tokens are
    refused within seconds; their work orders and history stay. Not the last active admin
    (409)."""
    return await fwd.call(Rpc.AUTH_DEACTIVATE_USER, contract.DeactivateUser(user_id=user_id), meta)


@router.post(
    "/users/{user_id}/reactivate",
    response_model=contract.UserView,
    responses=errors(401, 403, 404, 422),
)
async def reactivate(user_id: UUID, fwd: Fwd, meta: Person) -> Response:
    """Switch a member's account on again (admins); they log in anew."""
    return await fwd.call(Rpc.AUTH_REACTIVATE_USER, contract.ReactivateUser(user_id=user_id), meta)


@router.post(
    "/invitations",
    status_code=201,
    response_model=contract.InvitationView,
    responses=errors(401, 403, 422),
)
async def invite(body: contract.InviteUser, fwd: Fwd, meta: KeyedPerson) -> Response:
    """Invite someone to your organization (admins): they get a mail with a link to join. The
    one-time `token` of the link is also in the answer, once, to pass on by other means, with
    `telegram_link` for joining in Telegram. Without `email` no mail goes out and the invitation
    can only be joined in Telegram."""
    return await fwd.call(Rpc.AUTH_INVITE, body, meta)


@router.get("/organization", response_model=contract.OrganizationView, responses=errors(401))
async def organization(fwd: Fwd, meta: Caller) -> Response:
    """Your organization: name, time zone, working hours per week."""
    return await fwd.call(Rpc.AUTH_GET_ORGANIZATION, contract.GetOrganization(), meta)


@router.patch(
    "/organization", response_model=contract.OrganizationView, responses=errors(401, 403, 422)
)
async def update_organization(
    body: contract.UpdateOrganization, fwd: Fwd, meta: Caller
) -> Response:
    """Change the organization's name, IANA time zone (`Europe/Berlin`: days, due dates and
    planned maintenance follow it) or working hours per week (admins); fields left out stay."""
    return await fwd.call(Rpc.AUTH_UPDATE_ORGANIZATION, body, meta)


@router.get("/audit", response_model=contract.AuditLog, responses=errors(401, 403, 422))
async def audit_log(
    fwd: Fwd,
    meta: Caller,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> Response:
    """The organization's security audit log, newest first (admins): sign-ins and failed ones,
    password changes and resets, roles, accounts switched off and on, invitations, settings.
    `next_before` pages on."""
    request = contract.ListAuditLog(limit=limit, before=before)
    return await fwd.call(Rpc.AUTH_AUDIT_LOG, request, meta)


@router.get("/invitations", response_model=contract.InvitationList, responses=errors(401, 403))
async def invitations(fwd: Fwd, meta: Person) -> Response:
    """Invitations still waiting for an answer (admins); their tokens are not shown again."""
    return await fwd.call(Rpc.AUTH_LIST_INVITATIONS, contract.ListInvitations(), meta)


@router.delete(
    "/invitations/{invitation_id}", response_model=Done, responses=errors(401, 403, 404, 422)
)
async def revoke_invitation(invitation_id: UUID, fwd: Fwd, meta: Person) -> Response:
    """Withdraw a pending invitation (admins): its link stops working."""
    request = contract.RevokeInvitation(invitation_id=invitation_id)
    return await fwd.call(Rpc.AUTH_REVOKE_INVITATION, request, meta)


@router.post(
    "/invitations/accept",
    status_code=201,
    response_model=contract.UserView,
    responses=errors(404, 409, 422),
)
async def accept_invitation(body: contract.AcceptInvitation, fwd: Fwd, meta: Anonymous) -> Response:
    """Join the organization that invited you, choosing your password."""
    return await fwd.call(Rpc.AUTH_ACCEPT_INVITATION, body, meta)


@router.post("/link-telegram", response_model=contract.TelegramLinkCode, responses=errors(401))
async def link_telegram(fwd: Fwd, meta: Person) -> Response:
    """A one-time code (10 minutes) and a `t.me` link that connect your Telegram account."""
    return await fwd.call(Rpc.AUTH_CREATE_TELEGRAM_LINK, contract.CreateTelegramLink(), meta)


@router.post(
    "/api-keys",
    status_code=201,
    response_model=contract.ApiKeyView,
    responses=errors(401, 403, 422),
)
async def create_api_key(body: contract.CreateApiKey, fwd: Fwd, meta: KeyedPerson) -> Response:
    """Create an API key for a machine client (admins): a name, a role (at most yours),
    read-only (GET only, whatever the role) and an expiry, both optional. The whole key
    (`secret`, `rvt_<prefix>_...`) is in this answer only: store it now. Send it as
    `Authorization: Bearer rvt_...` or `X-API-Key: rvt_...`. Keys cannot manage keys, members
    or passwords."""
    return await fwd.call(Rpc.AUTH_CREATE_API_KEY, body, meta)


@router.get("/api-keys", response_model=contract.ApiKeyList, responses=errors(401, 403))
async def api_keys(fwd: Fwd, meta: Person) -> Response:
    """The organization's API keys, revoked ones included, newest first (admins): prefix,
    name, role, read-only, who created it, when it was last used (to within a minute), expiry
    and revocation. Secrets are never shown again."""
    return await fwd.call(Rpc.AUTH_LIST_API_KEYS, contract.ListApiKeys(), meta)


@router.delete(
    "/api-keys/{key_id}", response_model=contract.ApiKeyView, responses=errors(401, 403, 404, 422)
)
async def revoke_api_key(key_id: UUID, fwd: Fwd, meta: Person) -> Response:
    """Revoke an API key (admins): every gateway refuses it within seconds. Rotating a key:
    create the new one, switch the client over, then revoke the old one."""
    request = contract.RevokeApiKey(key_id=key_id)
    return await fwd.call(Rpc.AUTH_REVOKE_API_KEY, request, meta)
